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


@pytest.mark.slow  # an outside linter as a subprocess: see the marker in pyproject.toml
def test_actionlint_with_shellcheck_reports_nothing() -> None:
    shellcheck = tool("shellcheck")
    result = subprocess.run([tool("actionlint"), "-no-color", f"-shellcheck={shellcheck}", *map(str, WORKFLOWS)],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # the run scripts were really checked: shellcheck runs and finds a planted mistake
    planted = subprocess.run([shellcheck, "-s", "bash", "-"], input='echo $UNQUOTED\n', capture_output=True,
                             text=True, check=False)
    assert "SC2086" in planted.stdout


@pytest.mark.slow  # an outside linter as a subprocess: see the marker in pyproject.toml
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
    assert checked >= 1


@pytest.mark.slow  # an outside linter as a subprocess: see the marker in pyproject.toml
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


@pytest.mark.slow  # an outside linter as a subprocess: see the marker in pyproject.toml
@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_reports_nothing(persona: str) -> None:
    result = subprocess.run([tool("zizmor"), "--offline", "--no-progress", f"--persona={persona}", ".github"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report. Good job!" in result.stdout and "suppressed" not in result.stdout
    assert "completed .github/dependabot.yml" in result.stderr  # Dependabot's file is audited too


@pytest.mark.slow  # an outside linter as a subprocess: see the marker in pyproject.toml
def test_zizmor_catches_template_injection(tmp_path: Path) -> None:
    workflow = tmp_path / "bad.yaml"
    workflow.write_text("on: pull_request_target\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
                        "    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n",
                        encoding="utf-8")
    result = subprocess.run([tool("zizmor"), "--offline", "--no-progress", str(workflow)], capture_output=True,
                            text=True, check=False)
    assert result.returncode != 0
    assert "template-injection" in result.stdout


@pytest.mark.slow  # an outside linter as a subprocess: see the marker in pyproject.toml
def test_workflows_match_githubs_schema() -> None:
    for schema, files in (("vendor.github-workflows", WORKFLOWS), ("vendor.github-actions", ACTIONS),
                          ("vendor.dependabot", [ROOT / ".github" / "dependabot.yml"])):
        result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # an outside linter as a subprocess: see the marker in pyproject.toml
def test_pre_commit_files_are_valid() -> None:
    pre_commit = tool("pre-commit")
    for command, name in (("validate-config", ".pre-commit-config.yaml"),
                          ("validate-manifest", ".pre-commit-hooks.yaml")):
        result = subprocess.run([pre_commit, command, name], cwd=ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    parse_mlops(shlex.split(hook["entry"])[1:], "the mlops-validate hook")


@pytest.mark.slow  # an outside linter as a subprocess: see the marker in pyproject.toml
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
    assert seen >= {"validate", "diff", "comment", "promote", "model new-versions"}
    assert "schemas sync" not in seen  # the schemas ship with the package: nothing to fetch in CI


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
        allowed = {"security-events", "pull-requests", "contents"}
        if (path.name, name) == ("promote-new-versions.yaml", "start"):
            allowed = {"actions"}  # starting the promote workflow, nothing else
        assert writes <= allowed, (name, writes)
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
    # the new-version workflow starts the same workflow (so the same job and group), on the default branch
    (step,) = load(ROOT / ".github/workflows/promote-new-versions.yaml")["jobs"]["start"]["steps"]
    assert 'gh workflow run promote.yaml --repo "$REPOSITORY" --ref "$DEFAULT_BRANCH"' in step["run"]
    assert step["env"]["DEFAULT_BRANCH"] == "${{ github.event.repository.default_branch }}"


def test_environment_choices_are_the_environments_of_mlops_yaml() -> None:
    promote = load(ROOT / ".github/workflows/promote.yaml")
    triggers = promote.get("on") or promote.get(True)
    options = triggers["workflow_dispatch"]["inputs"]["environment"]["options"]
    environments = [env["name"] for env in load(ROOT / "mlops.yaml")["environments"]]
    assert options == environments


def test_the_test_job_installs_with_readmes_command_and_the_action_with_the_light_form() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = re.search(r"^(python3 -m venv .*?)\s+# 1\.", readme, re.M)
    assert setup, "README's quick start names its set-up command with '# 1.'"
    steps = load(ROOT / ".github/workflows/validate.yaml")["jobs"]["tests"]["steps"]
    assert setup.group(1).strip() in [step.get("run", "").strip() for step in steps]
    action = (ROOT / ".github/actions/setup-mlops/action.yml").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && .venv/bin/pip install .\n" in action
    assert "shared" not in action.lower()  # no shared repository, no schema sync: the catalog is built in
    for path in [*WORKFLOWS, *ACTIONS]:
        assert "MLOPS_SHARED" not in path.read_text(encoding="utf-8"), path.name


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


# -- release controls, each one present and doing what it says ----------------------------------

PROMOTE = ROOT / ".github/workflows/promote.yaml"
VALIDATE = ROOT / ".github/workflows/validate.yaml"


def step_named(path: Path, job: str, name: str) -> dict[str, Any]:
    step = next((s for s in load(path)["jobs"][job]["steps"] if s.get("name") == name), None)
    assert step is not None, f"{path.name}: job {job} has no step {name!r}"
    return step


def run_step(step: dict[str, Any], tmp_path: Path, env: dict[str, str], mlops: str) -> subprocess.CompletedProcess[str]:
    """Run a step's script as the runner does (bash -e -o pipefail), `.venv/bin/mlops` being `mlops`
    (a shell script standing in for it)."""
    work = tmp_path / "checkout"
    (work / ".venv" / "bin").mkdir(parents=True, exist_ok=True)
    fake = work / ".venv" / "bin" / "mlops"
    fake.write_text("#!/usr/bin/env bash\n" + mlops, encoding="utf-8")
    fake.chmod(0o755)
    (tmp_path / "runner-temp").mkdir(exist_ok=True)
    summary = tmp_path / "summary.md"
    summary.touch()
    script = tmp_path / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    full_env = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path / "runner-temp"),
                "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(tmp_path / "output"), **env}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=work, env=full_env,
                          capture_output=True, text=True, check=False)


def test_each_promotion_runs_in_the_github_environment_of_its_target() -> None:
    job = load(PROMOTE)["jobs"]["promote"]
    assert job["environment"] == {"name": "${{ inputs.environment }}"}
    triggers = load(PROMOTE).get("on") or load(PROMOTE)[True]
    assert set(triggers) == {"workflow_dispatch"}  # no workflow_call: every run binds to its environment itself


def test_the_promotion_token_is_only_reachable_from_the_default_branch() -> None:
    job = load(PROMOTE)["jobs"]["promote"]
    assert job["if"] == "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    # no other job of any workflow can see the promotion secrets
    for path in WORKFLOWS:
        for name, other in load(path)["jobs"].items():
            if (path, name) != (PROMOTE, "promote"):
                text = yaml.safe_dump(other)
                assert "MLOPS_PROMOTION_TOKEN" not in text and "MLOPS_APP_PRIVATE_KEY" not in text, (path.name, name)


def test_a_github_app_token_is_minted_per_run() -> None:
    step = step_named(PROMOTE, "promote", "Mint a GitHub App token for this run")
    assert step["uses"].startswith("actions/create-github-app-token@") and re.search(r"# v3\.", PROMOTE.read_text())
    assert step["if"] == "vars.MLOPS_APP_CLIENT_ID != ''"
    assert step["with"] == {"client-id": "${{ vars.MLOPS_APP_CLIENT_ID }}",
                            "private-key": "${{ secrets.MLOPS_APP_PRIVATE_KEY }}",
                            "permission-contents": "write", "permission-pull-requests": "write"}
    promote = step_named(PROMOTE, "promote", "mlops promote")
    assert promote["env"]["GITHUB_TOKEN"].startswith("${{ steps.app-token.outputs.token || ")


@pytest.mark.parametrize(("token_kind", "warned"), [("workflow", True), ("app", False)])
def test_refused_reviewers_become_an_annotation_and_a_summary_line(tmp_path: Path, token_kind: str,
                                                                  warned: bool) -> None:
    step = step_named(PROMOTE, "promote", "mlops promote")
    env = {key: "x" for key in step["env"]} | {"MODEL": "fraud-detection", "ENVIRONMENT": "prod", "VERSION": "",
                                                "TOKEN_KIND": token_kind, "GITHUB_TOKEN": "t0ken",
                                                "SERVER_URL": "https://github.com"}
    mlops = ('echo "Promote fraud-detection to 1.2.0 in prod"\necho "pull request #7 opened: https://x/7"\n'
             'echo "mlops: warning: reviewers not requested: GitHub POST /repos/o/r/pulls/7/requested_reviewers '
             'answered 422: Reviews may only be requested from collaborators (100% sure)" >&2\n'
             'echo "args: $*" >&2\n')
    result = run_step(step, tmp_path, env, mlops)
    assert result.returncode == 0, result.stdout + result.stderr
    annotation = ("::warning title=promotion warning::reviewers not requested: GitHub POST /repos/o/r/pulls/7/"
                  "requested_reviewers answered 422: Reviews may only be requested from collaborators (100%25 sure)")
    assert annotation in result.stdout.splitlines()
    summary = (tmp_path / "summary.md").read_text()
    assert "pull request #7 opened" in summary
    assert "- :warning: reviewers not requested: GitHub POST" in summary and "(100% sure)" in summary
    assert ("::warning title=no promotion token::" in result.stdout) is warned
    assert "args: promote fraud-detection --to prod\n" in result.stderr  # no --version when none was given
    assert "t0ken" not in result.stdout + result.stderr + summary


def test_a_failed_promotion_fails_the_step_with_its_output_in_the_summary(tmp_path: Path) -> None:
    step = step_named(PROMOTE, "promote", "mlops promote")
    env = {key: "x" for key in step["env"]} | {"VERSION": "1.2.0", "TOKEN_KIND": "app"}
    result = run_step(step, tmp_path, env, 'echo "  gate soak      FAIL    ..."\necho "mlops: gate(s) failed" >&2\n'
                                            "exit 1\n")
    assert result.returncode == 1
    assert "gate soak      FAIL" in (tmp_path / "summary.md").read_text()


def test_codeowners_cover_every_environment_and_every_model() -> None:
    lines = [line.split() for line in (ROOT / ".github/CODEOWNERS").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    owners = {pattern: rest for pattern, *rest in lines}
    assert all(rest and all(owner.startswith("@") for owner in rest) for rest in owners.values())
    for env in load(ROOT / "mlops.yaml")["environments"]:
        assert owners.get(f"/{env['path']}/"), f"CODEOWNERS has no line for {env['path']}/"
    for catalog in sorted((ROOT / "models").glob("*/model.yaml")):
        assert owners.get(f"/models/{catalog.parent.name}/"), f"CODEOWNERS has no line for {catalog.parent}/"
    assert owners["/overlays/prod/"] == ["@example-org/ml-platform"]  # prod: the release approvers only
    assert owners["/.github/"] and owners["/tools/"]  # and whoever may change the machinery


def test_the_preview_replaces_its_comment_when_the_render_fails(tmp_path: Path) -> None:
    render = step_named(VALIDATE, "preview", "Render every environment before and after")
    post = step_named(VALIDATE, "preview", "Post or update the comment")
    fail = step_named(VALIDATE, "preview", "A failed render fails the check")
    assert post["if"].startswith("${{ !cancelled()") and fail["if"].startswith("${{ !cancelled()")
    posted = tmp_path / "posted.md"
    mlops = (f'if [ "$1" = diff ]; then printf "### Rendered changes: render failed at \\`abc123\\`\\n"; exit 1; fi\n'
             f'cp "$4" "{posted}"; echo "comment updated"\n')
    checkout = tmp_path / "checkout"
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    for message in ("base", "test merge"):
        subprocess.run(["git", *identity, "commit", "-q", "--allow-empty", "-m", message], cwd=checkout, check=True)
    result = run_step(render, tmp_path, {}, mlops)
    assert result.returncode == 0, result.stderr  # the failure is recorded, the comment still goes out
    assert "status=1" in (tmp_path / "output").read_text()
    assert "render failed at `abc123`" in (tmp_path / "summary.md").read_text()
    result = run_step(post, tmp_path, {"GITHUB_TOKEN": "t", "PR_NUMBER": "5"}, mlops)
    assert result.returncode == 0, result.stderr
    assert posted.read_text().startswith("### Rendered changes: render failed at `abc123`")
    assert run_step(fail, tmp_path, {"STATUS": "1"}, mlops).returncode == 1


# node24: the first majors whose action.yml says `using: node24` (GitHub-hosted runners no longer run node20)
NODE24_MAJORS = {"actions/checkout": 5, "actions/setup-python": 6, "github/codeql-action/upload-sarif": 4,
                 "actions/create-github-app-token": 3}


def test_every_action_is_a_node24_major() -> None:
    seen = set()
    for path in [*WORKFLOWS, *ACTIONS]:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.search(r"uses:\s*([\w./-]+)@[0-9a-f]{40} # v(\d+)", line)
            if match:
                action, major = match.group(1), int(match.group(2))
                assert action in NODE24_MAJORS, f"{path.name}: {action} is not known to run on node24"
                assert major >= NODE24_MAJORS[action], f"{path.name}: {action} v{major} runs on node20"
                seen.add(action)
    assert seen == set(NODE24_MAJORS)


def test_a_failed_code_scanning_upload_is_not_hidden() -> None:
    upload = step_named(VALIDATE, "validate", "Upload to code scanning")
    assert "continue-on-error" not in upload
    assert "vars.MLOPS_CODE_SCANNING != 'off'" in upload["if"]


def test_dependabot_keeps_actions_and_pip_current() -> None:
    updates = {u["package-ecosystem"]: u for u in load(ROOT / ".github/dependabot.yml")["updates"]}
    assert set(updates) == {"github-actions", "pip"}
    assert set(updates["github-actions"]["directories"]) == {"/", "/.github/actions/*"}
    assert set(updates["pip"]["directories"]) == {"/", "/models/fraud-detection/pipeline"}
    assert all(u["cooldown"]["default-days"] >= 7 for u in updates.values())


def test_the_merge_queue_is_validated_and_main_is_never_cancelled() -> None:
    data = load(VALIDATE)
    triggers = data.get("on") or data[True]
    assert "merge_group" in triggers and "pull_request" in triggers and triggers["push"] == {"branches": ["main"]}
    concurrency = data["concurrency"]
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    # any other event (push to main, merge queue) is in a group of its own run: never replaced while waiting
    assert concurrency["group"] == ("validate-${{ github.event_name == 'pull_request' && "
                                    "format('pr-{0}', github.event.pull_request.number) || github.run_id }}")


def test_the_pre_commit_hooks_are_as_strict_as_ci() -> None:
    assert "mlops validate --strict" in step_named(VALIDATE, "validate", "mlops validate")["run"]
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (local,) = [hook for repo in config["repos"] if repo["repo"] == "local" for hook in repo["hooks"]]
    assert shlex.split(local["entry"])[1:] == ["validate", "--strict"]
    (offered,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert offered["args"] == ["--strict"]
    parse_mlops([*shlex.split(offered["entry"])[1:], *offered["args"]], "the offered hook")
