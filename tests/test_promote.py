"""Promotion by pull request: real git with a local bare remote, GitHub played by the stand-in.

Every failure case asserts, not assumes, that the user's checkout, branches and the remote are
exactly as they were.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from github_standin import github  # noqa: F401 - the fixture
from mlops.cli import main
from mlops.git import Git
from repo_builder import copy_template

pytestmark = pytest.mark.slow  # end to end: see the marker in pyproject.toml

PIN = "overlays/{env}/models/fraud-detection.yaml"
IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env={**os.environ, **IDENTITY, **(env or {})}).stdout


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@pytest.fixture
def workspace(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch,
              github: Any) -> Iterator[tuple[Path, Path]]:  # noqa: F811 - fixture injection
    """A clone of the template whose main was pushed to a bare remote 10 days ago."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    clone = copy_template(repo_root, tmp_path / "clone")
    git(clone, "init", "-q", "-b", "main")
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "template", env={"GIT_COMMITTER_DATE": days_ago(10), "GIT_AUTHOR_DATE": days_ago(10)})
    git(clone, "remote", "add", "origin", str(remote))
    git(clone, "push", "-q", "origin", "main")
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)  # the built-in catalog answers
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", github.repository)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_SERVER_URL", raising=False)
    github.git_remote = remote  # GitHub "hosts" the bare repository: its merge button merges there
    yield clone, remote


def mlops(clone: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--repo", str(clone)])


def remote_refs(remote: Path) -> str:
    return git(remote, "for-each-ref", "--format=%(refname) %(objectname)")


def merge(remote: Path, branch: str, committed_days_ago: float | None = None) -> None:
    """Merge a promotion branch on the remote (fast-forward), as clicking Merge would."""
    scratch = remote.parent / f"merge-{branch.replace('/', '-')}"
    subprocess.run(["git", "clone", "-q", str(remote), str(scratch)], check=True)
    env = {"GIT_COMMITTER_DATE": days_ago(committed_days_ago)} if committed_days_ago is not None else {}
    git(scratch, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", f"origin/{branch}", env=env)
    git(scratch, "push", "-q", "origin", "main")
    shutil.rmtree(scratch)


def read_remote_pin(remote: Path, ref: str, env: str) -> str:
    return git(remote, "show", f"{ref}:{PIN.format(env=env)}")


def test_dry_run_changes_nothing(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, remote = workspace
    state, refs = Git(clone).state(), remote_refs(remote)
    result = mlops(clone, "promote", "fraud-detection", "--to", "test", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "gate order" in result.stdout and "gate metrics" in result.stdout
    assert "changed  InferenceService/mlops-test/fraud-detection" in result.stdout
    assert "+      storageUri: s3://mlops-models/fraud-detection/1.2.0/" in result.stdout
    assert Git(clone).state() == state and remote_refs(remote) == refs
    assert github.requests == []


def test_dev_to_test_to_prod(workspace: tuple[Path, Path], github: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    clone, remote = workspace
    (clone / "notes.txt").write_text("my own uncommitted work\n")
    (clone / "models/fraud-detection/model.yaml").write_text(
        (clone / "models/fraud-detection/model.yaml").read_text() + "# local edit\n")
    state = Git(clone).state()

    # dev -> test: 1.2.0 runs in dev, test runs 1.1.0
    result = mlops(clone, "promote", "fraud-detection", "--to", "test", "--output", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["version"] == "1.2.0" and report["pullRequest"]["created"] is True
    assert {g["name"]: g["status"] for g in report["gates"]} == {
        "order": "pass", "metrics": "pass", "signature": "pass", "soak": "pass"}
    branch = "mlops/promote/fraud-detection-test-1.2.0"
    assert 'app.kubernetes.io/version: "1.2.0"' in read_remote_pin(remote, branch, "test")
    (pull,) = github.pulls.values()
    assert pull["head"]["ref"] == branch and pull["base"]["ref"] == "main"
    assert {label["name"] for label in pull["labels"]} == {"promotion", "env/test"}
    message = git(remote, "log", "-1", "--format=%B", branch)
    assert message.startswith("promote fraud-detection 1.2.0 to test")
    assert "Model: fraud-detection\nVersion: 1.2.0\nFrom: dev\nTo: test" in message
    assert Git(clone).state() == state  # the user's work and branches never moved
    github.merge(pull["number"], merged_at=datetime.now(UTC) - timedelta(days=4))

    # test -> prod: soak 72h in test is met (GitHub merged the pin four days ago)
    result = mlops(clone, "promote", "fraud-detection", "--to", "prod")
    assert result.exit_code == 0, result.output
    assert "gate soak      pass    1.2.0 pinned in test for 4d" in result.stdout
    assert "merge of pull request #1" in result.stdout
    prod_branch = "mlops/promote/fraud-detection-prod-1.2.0"
    assert 'app.kubernetes.io/version: "1.2.0"' in read_remote_pin(remote, prod_branch, "prod")
    assert len(github.pulls) == 2
    assert Git(clone).state() == state


def test_second_run_updates_the_same_pull_request(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    first = mlops(clone, "promote", "fraud-detection", "--to", "test", "--output", "json")
    assert first.exit_code == 0, first.output
    second = mlops(clone, "promote", "fraud-detection", "--to", "test", "--output", "json")
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["pullRequest"]["created"] is False
    assert len(github.pulls) == 1
    assert any(method == "PATCH" for method, *_ in github.requests)


def assert_untouched(clone: Path, remote: Path, state: str, refs: str) -> None:
    assert Git(clone).state() == state
    assert remote_refs(remote) == refs
    assert "mlops-tmp/" not in git(clone, "branch", "--list")


def test_failing_metric_gate(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, remote = workspace
    catalog = clone / "models/fraud-detection/model.yaml"
    catalog.write_text(catalog.read_text().replace("auc: 0.971", "auc: 0.931"))
    git(clone, "commit", "-qam", "worse model")
    git(clone, "push", "-q", "origin", "main")
    state, refs = Git(clone).state(), remote_refs(remote)
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert result.exit_code == 1
    assert "gate metrics   FAIL" in result.stdout and "auc 0.931" in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1
    assert_untouched(clone, remote, state, refs)
    assert github.requests == []


def test_soak_not_yet_met(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, remote = workspace
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert result.exit_code == 0, result.output
    github.merge(1)  # merged just now
    state, refs = Git(clone).state(), remote_refs(remote)
    result = mlops(clone, "promote", "fraud-detection", "--to", "prod")
    assert result.exit_code == 1
    assert "gate soak      FAIL" in result.stdout and "needs 3d" in result.stdout
    assert "merge of pull request #1" in result.stdout
    assert_untouched(clone, remote, state, refs)


def test_breaking_signature_needs_allow_breaking(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, remote = workspace
    catalog = clone / "models/fraud-detection/model.yaml"
    text = catalog.read_text()
    assert "  - version: 1.2.0\n" in text
    text = text.replace("  - version: 1.2.0\n", "  - version: 1.2.0\n    signature:\n      inputs:\n"
                        "        - {name: transaction_features, datatype: FP32, shape: [-1, 7]}\n      outputs:\n"
                        "        - {name: fraud_probability, datatype: FP32, shape: [-1, 1]}\n")
    catalog.write_text(text)
    git(clone, "commit", "-qam", "1.2.0 takes seven features")
    git(clone, "push", "-q", "origin", "main")
    state, refs = Git(clone).state(), remote_refs(remote)
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert result.exit_code == 1
    assert "gate signature FAIL" in result.stdout
    assert_untouched(clone, remote, state, refs)
    result = mlops(clone, "promote", "fraud-detection", "--to", "test", "--allow-breaking", "--output", "json")
    assert result.exit_code == 0, result.output
    (pull,) = github.pulls.values()
    assert "breaking" in {label["name"] for label in pull["labels"]}


def test_push_rejected(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, remote = workspace
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected: pushes are refused' >&2\nexit 1\n")
    hook.chmod(0o755)
    state, refs = Git(clone).state(), remote_refs(remote)
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert result.exit_code == 3
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "push" in line
    assert_untouched(clone, remote, state, refs)
    assert github.pulls == {}


def test_push_rejected_because_the_remote_moved(workspace: tuple[Path, Path], github: Any,  # noqa: F811
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A colleague pushed to the promotion branch after we looked: the lease refuses to overwrite it."""
    clone, remote = workspace
    branch = "mlops/promote/fraud-detection-test-1.2.0"
    other = remote.parent / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(other)], check=True)
    git(other, "checkout", "-q", "-b", branch)
    (other / "extra.txt").write_text("a colleague's commit\n")
    git(other, "add", "-A")
    git(other, "commit", "-qm", "colleague")
    git(other, "push", "-q", "origin", branch)
    # what this run saw before the colleague's push: no branch yet
    monkeypatch.setattr("mlops.promotion.publish.remote_branch_sha", lambda *args: None)
    state, refs = Git(clone).state(), remote_refs(remote)
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert result.exit_code == 3, result.output
    assert "push" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert_untouched(clone, remote, state, refs)  # the colleague's commit is still there
    assert github.pulls == {}


@pytest.mark.parametrize(("status", "words"), [(401, "GITHUB_TOKEN"), (422, "422"), (500, "500")])
def test_api_failure_leaves_everything_as_it_was(workspace: tuple[Path, Path], github: Any, status: int,  # noqa: F811
                                                  words: str) -> None:
    clone, remote = workspace
    state, refs = Git(clone).state(), remote_refs(remote)
    github.fail_next("POST", r"/repos/[^/]+/[^/]+/pulls$", status)
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert result.exit_code == 3, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and words in line
    assert_untouched(clone, remote, state, refs)  # the pushed branch was deleted again


def test_rollback(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, remote = workspace
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert result.exit_code == 0, result.output
    merge(remote, "mlops/promote/fraud-detection-test-1.2.0")
    git(clone, "pull", "-q", "origin", "main")
    state = Git(clone).state()
    result = mlops(clone, "rollback", "fraud-detection", "--env", "test", "--output", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["version"] == "1.1.0" and report["kind"] == "rollback"
    assert {g["name"]: g["status"] for g in report["gates"]}["soak"] == "skipped"
    rollback_pull = max(github.pulls.values(), key=lambda pull: pull["number"])
    assert {label["name"] for label in rollback_pull["labels"]} == {"rollback", "env/test"}
    assert 'app.kubernetes.io/version: "1.1.0"' in read_remote_pin(remote, "mlops/promote/fraud-detection-test-1.1.0",
                                                                   "test")
    assert Git(clone).state() == state


def test_pull_request_body_structure(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert result.exit_code == 0, result.output
    (pull,) = github.pulls.values()
    body = pull["body"]
    assert pull["title"] == "Promote fraud-detection to 1.2.0 in test"
    assert "| Gate | Result | Details |" in body and "| metrics | ✅ pass |" in body
    assert "<details><summary>changed: <code>InferenceService/mlops-test/fraud-detection</code></summary>" in body
    assert "```diff" in body and "mlops rollback fraud-detection --env test" in body
    assert "|\n\n<details>" in body  # GitHub renders HTML after a table only after a blank line
    web = f"{github.url}/{github.repository}"  # no GITHUB_SERVER_URL: the web root is the API's host
    assert f"]({web}/blob/mlops/promote/fraud-detection-test-1.2.0/overlays/test/models/fraud-detection.yaml)" in body
    assert f"]({web}/commit/" in body and f"]({web}/blob/" in body
    assert len(body) <= 65_536


def test_body_is_trimmed_to_githubs_limit() -> None:
    from mlops.config import Target
    from mlops.diff import ObjectChange
    from mlops.promotion.gates import GateResult
    from mlops.promotion.plan import Plan
    from mlops.promotion.pr_body import MAX_BODY, pull_request_body

    changes = [ObjectChange("changed", "ConfigMap", "ns", f"cm-{i}", "-a\n+b\n" * 400) for i in range(40)]
    plan = Plan(kind="promote", model="m", version="1.0.0", target=Target("prod", "overlays/prod", is_environment=True),
                previous=None, current_version=None, branch="mlops/promote/m-prod-1.0.0",
                pin_path="overlays/prod/models/m.yaml", pin_text="", gate_results=[GateResult("order", True, "ok")],
                breaking=False, lineage={}, reviewers=[], base="main", base_sha="0" * 40, changes=changes)
    body = pull_request_body(plan)
    assert len(body) <= MAX_BODY
    assert "left out to fit the size limit" in body and "mlops rollback m --env prod" in body


def test_status_matrix(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    result = mlops(clone, "status", "--output", "json")
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)
    cell = table["models"]["fraud-detection"]["test"]
    assert cell["version"] == "1.1.0" and cell["since"] is not None
    assert table["models"]["fraud-detection"]["dev"]["version"] == "1.2.0"


def test_the_body_names_who_asked_for_the_promotion_in_a_workflow() -> None:
    """The author is the bot that opened it: the body says whose request it was, so that person's
    approval is not taken for a second opinion."""
    from mlops.promotion.pr_body import requested_by

    env = {"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "bot", "GITHUB_TRIGGERING_ACTOR": "alice",
           "GITHUB_RUN_ID": "42", "GITHUB_REPOSITORY": "example-org/repo", "GITHUB_SERVER_URL": "https://github.com"}
    assert requested_by(env) == "@alice in [run 42](https://github.com/example-org/repo/actions/runs/42)"
    assert requested_by({"GITHUB_ACTOR": "alice"}) is None  # outside GitHub Actions: the author is a person


def test_a_promotion_from_a_workflow_says_whose_request_it_was(workspace: tuple[Path, Path], github: Any,  # noqa: F811
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    clone, _ = workspace
    for key, value in {"GITHUB_ACTIONS": "true", "GITHUB_TRIGGERING_ACTOR": "alice", "GITHUB_RUN_ID": "42"}.items():
        monkeypatch.setenv(key, value)
    assert mlops(clone, "promote", "fraud-detection", "--to", "test").exit_code == 0
    (pull,) = github.pulls.values()
    assert f" for @alice in [run 42]({github.url}/" not in pull["body"]  # the server is GitHub's, not the API's
    assert "for @alice in [run 42](https://github.com/example-org/rhoai-mlops-gitops/actions/runs/42)" in pull["body"]
