"""Which kustomize runs: $KUSTOMIZE, then kustomize on PATH, then the wheel's kubectl beside Python."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlops.errors import OutsideError
from mlops.kustomize import find_engine


def fake(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\necho fake\n")
    path.chmod(0o755)
    return path


def test_kustomize_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = fake(tmp_path, "my-kustomize")
    monkeypatch.setenv("KUSTOMIZE", str(engine))
    assert find_engine().command == (str(engine), "build")


def test_kustomize_on_path_before_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUSTOMIZE", raising=False)
    fake(tmp_path, "kustomize")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_engine().command == (str(tmp_path / "kustomize"), "build")


def test_wheel_kubectl_beside_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUSTOMIZE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_engine().command == (str(Path(sys.executable).parent / "kubectl"), "kustomize")


def test_bad_kustomize_env_is_an_outside_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUSTOMIZE", "/no/such/kustomize")
    with pytest.raises(OutsideError, match="KUSTOMIZE"):
        find_engine()
