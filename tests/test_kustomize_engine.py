"""Which kustomize runs: $KUSTOMIZE, then kustomize on PATH, then the wheel's kubectl beside Python."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlops.errors import OutsideError, UsageError
from mlops.kustomize import find_engine, render
from mlops.kustomize.engine import PACED_INPUT_BYTES, render_timeout
from repo_builder import slow_kustomize


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


def test_a_render_past_the_time_limit_fails_and_says_which_limit(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "kustomization.yaml").write_text("resources: []\n")
    monkeypatch.setenv("KUSTOMIZE", str(slow_kustomize(tmp_path, 0.6)))
    monkeypatch.setenv("MLOPS_RENDER_TIMEOUT", "0.1")
    result = render(find_engine(), tmp_path / "root")
    assert result.timed_out and result.error is not None and "MLOPS_RENDER_TIMEOUT" in result.error
    monkeypatch.setenv("MLOPS_RENDER_TIMEOUT", "0")  # no limit
    result = render(find_engine(), tmp_path / "root")
    assert not result.timed_out and result.error is None


@pytest.mark.parametrize(("value", "limit"), [(None, 300), ("", 300), ("0", None), ("2.5", 2.5)])
def test_render_time_limit(monkeypatch: pytest.MonkeyPatch, value: str | None, limit: float | None) -> None:
    if value is None:
        monkeypatch.delenv("MLOPS_RENDER_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("MLOPS_RENDER_TIMEOUT", value)
    assert render_timeout() == limit


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_a_time_limit_that_is_not_seconds_is_bad_usage(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MLOPS_RENDER_TIMEOUT", value)
    with pytest.raises(UsageError, match="MLOPS_RENDER_TIMEOUT"):
        render_timeout()


def test_the_engine_carries_its_time_limit_and_refuses_a_bad_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_RENDER_TIMEOUT", "2.5")
    assert find_engine().timeout == 2.5
    monkeypatch.setenv("MLOPS_RENDER_TIMEOUT", "-1")
    with pytest.raises(UsageError, match="MLOPS_RENDER_TIMEOUT"):
        find_engine()


def _echo_gc_settings(folder: Path) -> Path:
    """A kustomize stand-in that prints the Go collector settings it was started with."""
    path = folder / "gc-kustomize"
    path.write_text('#!/bin/sh\necho "GOGC=${GOGC-unset} GOMEMLIMIT=${GOMEMLIMIT-unset}"\n')
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(("settings", "input_bytes", "seen"), [
    ({}, 1_000, "GOGC=400 GOMEMLIMIT=unset"),
    ({}, PACED_INPUT_BYTES, "GOGC=400 GOMEMLIMIT=unset"),
    ({}, PACED_INPUT_BYTES + 1, "GOGC=unset GOMEMLIMIT=unset"),  # a large root: Go's own pace
    ({}, None, "GOGC=unset GOMEMLIMIT=unset"),  # a caller that did not walk the root
    ({"GOGC": "50"}, 1_000, "GOGC=50 GOMEMLIMIT=unset"),
    ({"GOMEMLIMIT": "512MiB"}, 1_000, "GOGC=unset GOMEMLIMIT=512MiB"),
])
def test_small_renders_pace_go_s_collector_unless_the_user_did(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], input_bytes: int | None,
        seen: str) -> None:
    (tmp_path / "root").mkdir()
    monkeypatch.setenv("KUSTOMIZE", str(_echo_gc_settings(tmp_path)))
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    result = render(find_engine(), tmp_path / "root", input_bytes=input_bytes)
    assert result.error is None and result.output.strip() == seen
