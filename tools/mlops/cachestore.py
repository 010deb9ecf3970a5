"""The user's cache folder: entries that are checked before they are trusted, written atomically, bounded.

Renders, whole runs and file hashes are kept in `$MLOPS_CACHE_DIR`, else `$XDG_CACHE_HOME/mlops`,
else `~/.cache/mlops`. The folder is shared by every run of every repository, possibly at the
same time, and anything may have happened to it since the last run (a full disk, a crash
mid-write, an older or newer mlops, a user's editor). So:

- an entry is one file: a header line (format version, kind, key, size and SHA-256 of the
  payload) and the payload. It is used only when all of them match what the reader expects;
  anything else is a miss, never an error and never trusted;
- it is written to a temporary file in the same folder and renamed into place, so a reader
  sees either the whole old entry or the whole new one, and two runs writing the same key
  both leave a valid entry;
- the folder is bounded (`MLOPS_CACHE_MAX_MB`, default 512): after a write, the entries used
  least recently are deleted until it is 80 % full (a hit refreshes an entry's time).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path

FORMAT = "mlops-cache/1"
SUFFIX = ".entry"
DEFAULT_MAX_MB = 512
_KEY = re.compile(r"^[0-9a-f]{64}$")
_STALE_TEMPORARY_SECONDS = 3600


def cache_root() -> Path:
    """The cache folder of this user (not created here)."""
    configured = os.environ.get("MLOPS_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlops"


def max_bytes() -> int:
    """The size bound of the cache folder's entries (`MLOPS_CACHE_MAX_MB`)."""
    try:
        megabytes = float(os.environ.get("MLOPS_CACHE_MAX_MB", DEFAULT_MAX_MB))
    except ValueError:
        megabytes = DEFAULT_MAX_MB
    return max(0, int(megabytes * 1024 * 1024))


def digest(*parts: object) -> str:
    """A key: the SHA-256 of the parts as canonical JSON (so a key says exactly what it was made of)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class EntryStore:
    """Entries of one kind (`renders`, `runs`, `memo`, ...) under the cache root."""

    def __init__(self, root: Path, kind: str) -> None:
        self.root = root
        self.kind = kind
        self.folder = root / kind

    def path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.folder / key[:2] / f"{key}{SUFFIX}"

    def read(self, key: str) -> bytes | None:
        """The payload stored under `key`, or None when there is none or it cannot be trusted."""
        path = self.path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        header_line, newline, payload = raw.partition(b"\n")
        if not newline:
            return None
        try:
            header = json.loads(header_line)
        except (ValueError, UnicodeDecodeError):
            return None
        expected = {"format": FORMAT, "kind": self.kind, "key": key, "size": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest()}
        if not isinstance(header, dict) or header != expected:
            return None
        with contextlib.suppress(OSError):  # least recently used goes first when the folder is full
            os.utime(path)
        return payload

    def write(self, key: str, payload: bytes) -> None:
        """Store `payload` under `key`, atomically; a failure to write only costs the next run time."""
        path = self.path(key)
        header = {"format": FORMAT, "kind": self.kind, "key": key, "size": len(payload),
                  "sha256": hashlib.sha256(payload).hexdigest()}
        data = json.dumps(header, sort_keys=True).encode("ascii") + b"\n" + payload
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=SUFFIX)
        except OSError:
            return
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def prune(root: Path, limit: int | None = None) -> int:
    """Delete the least recently used entries until the folder is at most 80 % of `limit`; bytes freed.

    Entries another run is reading may go: that run reads a miss. Temporary files older than an
    hour are leftovers of a run that was killed mid-write.
    """
    limit = max_bytes() if limit is None else limit
    entries: list[tuple[float, int, Path]] = []
    now = time.time()
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            try:
                status = path.stat()
            except OSError:
                continue
            if name.startswith(".tmp-") and now - status.st_mtime > _STALE_TEMPORARY_SECONDS:
                with contextlib.suppress(OSError):
                    path.unlink()
            elif name.endswith(SUFFIX) and not name.startswith(".tmp-"):
                entries.append((status.st_mtime, status.st_size, path))
    total = sum(size for _, size, _ in entries)
    if total <= limit:
        return 0
    freed = 0
    for _, size, path in sorted(entries, key=lambda entry: (entry[0], str(entry[2]))):
        if total - freed <= limit * 0.8:
            break
        with contextlib.suppress(OSError):
            path.unlink()
            freed += size
    return freed
