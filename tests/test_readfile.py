"""`readfile.read_bytes` gives what `Path.read_bytes` gives, whatever the file's size or changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlops.readfile import read_bytes


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 70_000, 3 * (1 << 20) + 17])
def test_every_byte_of_files_of_any_size(tmp_path: Path, size: int) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(bytes(index % 251 for index in range(size)))
    assert read_bytes(path) == path.read_bytes()
    assert read_bytes(str(path)) == path.read_bytes()


def test_a_file_longer_than_its_status_said_is_read_to_its_end(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """It grew between `fstat` and the read: the bytes written meanwhile are not cut off."""
    path = tmp_path / "growing.yaml"
    content = b"a: 1\n" * 500_000  # 2.5 MB: more than the first read and the next chunk
    path.write_bytes(content)
    real_fstat = os.fstat

    class Shorter:
        def __init__(self, status: os.stat_result) -> None:
            self.st_size = status.st_size // 10

    monkeypatch.setattr(os, "fstat", lambda descriptor: Shorter(real_fstat(descriptor)))
    assert read_bytes(path) == content


def test_unreadable_paths_raise_what_pathlib_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "missing.yaml")
    with pytest.raises(IsADirectoryError):
        read_bytes(tmp_path)


def test_no_descriptor_is_left_open(tmp_path: Path) -> None:
    path = tmp_path / "file.yaml"
    path.write_text("a: 1\n")
    before = len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else None
    for _ in range(50):
        read_bytes(path)
        with pytest.raises(IsADirectoryError):
            read_bytes(tmp_path)
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before
