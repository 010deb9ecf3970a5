"""Read a whole file with the fewest system calls: the run reads thousands of small ones.

`Path.read_bytes` builds a buffered file object around the descriptor and asks it for
everything; on the 3,700 files of the 100-model benchmark repository (most under 10 kB) that
took 0.144 s against 0.043 s for `os.open`, one `fstat`, and reads of the descriptor itself. A
first run reads every file of the repository for its content hashes, and every run reads the
YAML files the credential scan and the source checks look at.
"""

from __future__ import annotations

import os

#: not inherited by a kustomize started meanwhile; on Windows, bytes as they are (no newline
#: translation, no end at Ctrl-Z), as `open(path, "rb")` reads them
_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_CHUNK = 1 << 20


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """Every byte of a file, as `Path(path).read_bytes()` gives them (OSError as it raises them).

    The first read asks for one byte more than `fstat` reported, and reading goes on until the
    end of the file: a file that grows or shrinks meanwhile is read as it is, not as it was.
    """
    descriptor = os.open(path, _FLAGS)
    try:
        first = os.read(descriptor, os.fstat(descriptor).st_size + 1)
        more = os.read(descriptor, _CHUNK) if first else b""
        if not more:
            return first
        chunks = [first, more]
        while more:
            more = os.read(descriptor, _CHUNK)
            chunks.append(more)
        return b"".join(chunks)
    finally:
        os.close(descriptor)
