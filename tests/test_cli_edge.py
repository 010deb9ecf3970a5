"""The edge of the command: bad usage is exit 2 with one line, an unexpected error exit 3 with one line."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlops import check
from mlops.cli import COMMAND_MODULES, main
from repo_builder import DEPLOYMENT, simple_repo


@pytest.mark.parametrize(("args", "message"), [
    (["diff", "dev", "dev"], "name two different environments"),
    (["validate", "--kubernetes-version", "abc"], "Kubernetes version 'abc' is not like 1.33"),
    (["render", "--out", "/dev/null/x"], "cannot create the output folder"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    repo = simple_repo(tmp_path / "repo", {"deployment.yaml": DEPLOYMENT})
    result = CliRunner().invoke(main, [*args, "--repo", str(repo)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_an_unexpected_error_is_one_line_and_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(check, "run_validation", broken)
    repo = simple_repo(tmp_path / "repo", {"deployment.yaml": DEPLOYMENT})
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo)])
    assert result.exit_code == 3
    [line] = result.stderr.splitlines()
    assert line.startswith("mlops: unexpected error: KeyError: 'surprise' (a bug in mlops")
    assert "--debug" in line

    debug = CliRunner().invoke(main, ["--debug", "validate", "--repo", str(repo)])
    assert debug.exit_code == 3
    assert "Traceback (most recent call last)" in debug.stderr and "KeyError: 'surprise'" in debug.stderr


def test_each_command_is_declared_by_the_module_the_group_names_for_it() -> None:
    for module in sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"mlops.cli.{module}")
    assert set(main.commands) == set(COMMAND_MODULES)
    for name, command in main.commands.items():
        assert command.callback is not None
        assert command.callback.__module__ == f"mlops.cli.{COMMAND_MODULES[name]}", name


def test_validate_starts_without_the_promotion_and_forge_code() -> None:
    script = ("import sys; from mlops.cli import main; main.get_command(None, 'validate'); "
              "print(sorted(m for m in sys.modules if m.startswith(('mlops.promotion', 'mlops.forge', 'mlops.cli.'))))")
    listed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert listed.strip() == "['mlops.cli.group', 'mlops.cli.validate']"


@pytest.mark.parametrize(("args", "code", "stream", "text"), [
    (["--version"], 0, "stdout", "mlops, version"),
    (["rules", "--output", "json"], 0, "stdout", '"id": "waiver-reason"'),
    (["no-such-command"], 2, "stderr", "No such command"),
    (["validate", "--repo", "/nonexistent/folder"], 2, "stderr", "mlops: "),
])
def test_the_program_exits_with_the_command_s_code_and_all_its_output(
        args: list[str], code: int, stream: str, text: str) -> None:
    # `python -m mlops` ends the process without tearing its objects down (`group.console`)
    done = subprocess.run([sys.executable, "-m", "mlops", *args], capture_output=True, text=True, check=False)
    assert done.returncode == code, done.stderr
    assert text in getattr(done, stream)
    if args[0] == "rules":
        assert done.stdout.rstrip().endswith("]")  # the whole report, flushed before the end
