"""The GitHub workflows, the composite action and the pre-commit hooks are part of the product.

They are checked the way their own ecosystem checks them (actionlint with shellcheck, zizmor,
GitHub's workflow schema, pre-commit's own validators), and against this repository: every
`mlops` invocation they contain must parse with the real command line, and the safety rules of
the template (least privilege, pinned actions, no expression inside a script, timeouts,
promotion concurrency) are asserted one by one.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from cli_parsing import parse_mlops
from repo_builder import copy_template

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yaml"))
ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))
BIN = Path(sys.executable).parent
SHA_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# `mlops` as a command (.venv/bin/mlops, mlops) followed by its words, up to a shell operator
MLOPS_CALL = re.compile(r"(?:^|[\s/(])mlops((?:[ \t]+[^\s|;&)<>]+)+)")


def tool(name: str) -> str:
    """A checker installed by README's set-up command (dev extras), next to this Python."""
    path = BIN / name
    assert path.exists(), f"{name} is missing from {BIN}: run README's set-up command"
    return str(path)


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_there_is_something_to_check() -> None:
    assert {p.name for p in WORKFLOWS} == {"validate.yaml", "promote.yaml", "promote-new-versions.yaml"}
    assert [p.parent.name for p in ACTIONS] == ["setup-mlops"]


def test_actionlint_with_shellcheck_reports_nothing() -> None:
    shellcheck = tool("shellcheck")
    result = subprocess.run([tool("actionlint"), "-no-color", f"-shellcheck={shellcheck}", *map(str, WORKFLOWS)],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # the run scripts were really checked: shellcheck runs and finds a planted mistake
    planted = subprocess.run([shellcheck, "-s", "bash", "-"], input='echo $UNQUOTED\n', capture_output=True,
                             text=True, check=False)
    assert "SC2086" in planted.stdout


def test_shellcheck_reports_nothing_on_the_composite_actions_scripts(tmp_path: Path) -> None:
    """actionlint checks workflow scripts only; the composite action's steps get shellcheck here."""
    checked = 0
    for action in ACTIONS:
        for index, step in enumerate(load(action)["runs"]["steps"]):
            if "run" not in step:
                continue
            assert step.get("shell") == "bash", f"{action}: step {index} must say shell: bash"
            script = tmp_path / f"{action.parent.name}-{index}.sh"
            script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + step["run"], encoding="utf-8")
            result = subprocess.run([tool("shellcheck"), "-s", "bash", str(script)], capture_output=True, text=True,
                                    check=False)
            assert result.returncode == 0, f"{action} step {index}:\n{result.stdout}"
            checked += 1
    assert checked >= 2


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """Guards the test above: actionlint must fail on an unknown context and on a script bug."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yaml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ githb.sha }}\n      - run: cd $DIR\n", encoding="utf-8")
    result = subprocess.run([tool("actionlint"), "-no-color", f"-shellcheck={tool('shellcheck')}",
                             str(tmp_path / ".github" / "workflows" / "bad.yaml")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "githb" in result.stdout and "SC2086" in result.stdout


def test_zizmor_reports_nothing() -> None:
    result = subprocess.run([tool("zizmor"), "--offline", "--no-progress", ".github"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_catches_template_injection(tmp_path: Path) -> None:
    workflow = tmp_path / "bad.yaml"
    workflow.write_text("on: pull_request_target\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
                        "    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n",
                        encoding="utf-8")
    result = subprocess.run([tool("zizmor"), "--offline", "--no-progress", str(workflow)], capture_output=True,
                            text=True, check=False)
    assert result.returncode != 0
    assert "template-injection" in result.stdout


def test_workflows_match_githubs_schema() -> None:
    for schema, files in (("vendor.github-workflows", WORKFLOWS), ("vendor.github-actions", ACTIONS)):
        result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_files_are_valid() -> None:
    pre_commit = tool("pre-commit")
    for command, name in (("validate-config", ".pre-commit-config.yaml"),
                          ("validate-manifest", ".pre-commit-hooks.yaml")):
        result = subprocess.run([pre_commit, command, name], cwd=ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    parse_mlops(shlex.split(hook["entry"])[1:], "the mlops-validate hook")


def test_yamllint_passes_on_the_repository() -> None:
    result = subprocess.run([tool("yamllint"), "--strict", "."], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# -- every `mlops ...` in a script is a command line the CLI accepts ------------------------


def _scripts() -> Iterator[tuple[str, str]]:
    for path in [*WORKFLOWS, *ACTIONS]:
        data = load(path)
        jobs = data.get("jobs") or {}
        steps = [step for job in jobs.values() for step in job.get("steps") or []]
        steps += (data.get("runs") or {}).get("steps") or []
        for step in steps:
            if "run" in step:
                yield f"{path.name}: {step.get('name', step['run'][:40])}", step["run"]


def mlops_invocations(script: str) -> list[list[str]]:
    """The argument lists of every `mlops` call in a shell script; variables become placeholders."""
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        if line.strip().startswith("#"):
            continue
        for match in MLOPS_CALL.finditer(line):
            words = shlex.split(match.group(1))
            calls.append(["1" if word.startswith("$") else word for word in words])
    return calls


def test_every_mlops_call_parses_with_the_real_cli() -> None:
    seen = set()
    for where, script in _scripts():
        for args in mlops_invocations(script):
            try:
                seen.add(" ".join(parse_mlops(args, where)))
            except click.UsageError as error:
                pytest.fail(f"{where}: `mlops {' '.join(args)}`: {error.format_message()}")
    assert seen >= {"validate", "diff", "comment", "promote", "schemas sync", "model new-versions"}


def test_the_parser_catches_a_wrong_option() -> None:
    (args,) = mlops_invocations('.venv/bin/mlops validate --strictly --output github > x')
    with pytest.raises(click.UsageError, match="--strictly"):
        parse_mlops(args, "test")
    (args,) = mlops_invocations('x="$(.venv/bin/mlops model new-version --since "$BEFORE" | jq .)"')
    assert args == ["model", "new-version", "--since", "1"]
    with pytest.raises(click.UsageError):
        parse_mlops(args, "test")


# -- safety rules of the template ------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_timeouts(path: Path) -> None:
    data = load(path)
    assert data.get("permissions") == {}, "top-level permissions must be {}: jobs ask for what they need"
    assert (data.get("defaults") or {}).get("run", {}).get("shell") == "bash", \
        "defaults.run.shell: bash, so that scripts run with -e and pipefail"
    for name, job in data["jobs"].items():
        assert "permissions" in job, f"job {name} must declare its permissions"
        writes = {scope for scope, level in job["permissions"].items() if level == "write"}
        assert writes <= {"security-events", "pull-requests", "contents"}, (name, writes)
        if "uses" not in job:  # a reusable workflow call: the called jobs carry the timeouts
            assert isinstance(job.get("timeout-minutes"), int), f"job {name} has no timeout-minutes"


def test_actions_are_pinned_by_commit() -> None:
    for path in [*WORKFLOWS, *ACTIONS]:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.search(r"uses:\s*(\S+)", line)
            if match and not match.group(1).startswith("$/"):
                assert SHA_PINNED.match(match.group(1)), f"{path.name}: {line.strip()} is not pinned by a commit SHA"
                assert re.search(r"# v\d", line), f"{path.name}: say which release the SHA is: {line.strip()}"


def test_no_expression_inside_a_script() -> None:
    """Inputs, PR titles and refs reach scripts through environment variables only."""
    for where, script in _scripts():
        assert "${{" not in script, f"{where}: pass the value through env:, not ${{{{ }}}} in the script"


def test_promotions_of_one_model_and_environment_never_overlap() -> None:
    job = load(ROOT / ".github/workflows/promote.yaml")["jobs"]["promote"]
    group = job["concurrency"]["group"]
    assert "inputs.model" in group and "inputs.environment" in group
    assert job["concurrency"]["cancel-in-progress"] is False  # a queued promotion must not be dropped
    caller = load(ROOT / ".github/workflows/promote-new-versions.yaml")["jobs"]["promote"]
    assert caller["uses"] == "$/.github/workflows/promote.yaml"  # same job, same concurrency group


def test_environment_choices_are_the_environments_of_mlops_yaml() -> None:
    promote = load(ROOT / ".github/workflows/promote.yaml")
    triggers = promote.get("on") or promote.get(True)
    options = triggers["workflow_dispatch"]["inputs"]["environment"]["options"]
    environments = [env["name"] for env in load(ROOT / "mlops.yaml")["environments"]]
    assert options == environments


def test_the_validate_workflow_installs_with_readmes_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = re.search(r"^(python3 -m venv .*?)\s+# 1\.", readme, re.M)
    assert setup, "README's quick start names its set-up command with '# 1.'"
    action = (ROOT / ".github/actions/setup-mlops/action.yml").read_text(encoding="utf-8")
    assert setup.group(1).strip() in action


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is required")
def test_pre_commit_hook_runs_mlops_validate_in_another_repository(tmp_path: Path) -> None:
    """`pre-commit try-repo` installs this repository as a hook and runs it on a copy of the template."""
    target = copy_template(ROOT, tmp_path / "gitops")
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    for name in ("MLOPS_SCHEMA_LOCATION", "MLOPS_OFFLINE", "PIP_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE"):
        if name in os.environ:
            env[name] = os.environ[name]
    # the hook repository as pre-commit would clone it: what `pip install .` needs, committed
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for item in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "tools"):
        source = ROOT / item
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, hooks / item)
    for folder in (hooks, target):
        subprocess.run(["git", "init", "-q"], cwd=folder, check=True, env=env)
        subprocess.run(["git", "add", "-A"], cwd=folder, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "hooks"], cwd=hooks, check=True, env=env)
    result = subprocess.run([tool("pre-commit"), "try-repo", str(hooks), "mlops-validate", "--all-files"],
                            cwd=target, capture_output=True, text=True, env=env, check=False, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mlops validate" in result.stdout and "Passed" in result.stdout
