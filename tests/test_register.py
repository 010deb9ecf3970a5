"""`mlops model add-version --pull-request`: a version proposed by pull request, as a pipeline run does.

Real git with a bare remote, GitHub played by the stand-in; every failure asserts that the
checkout and the remote are exactly as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from github_standin import github  # noqa: F401 - the fixture
from mlops.git import Git
from test_promote import git, mlops, remote_refs, workspace  # noqa: F401 - the fixture

ARGS = ("model", "add-version", "fraud-detection", "--version", "1.3.0",
        "--uri", "s3://mlops-models/fraud-detection/1.3.0/", "--metric", "auc=0.975", "--metric", "precision=0.86",
        "--metric", "recall=0.81", "--metric", "latency_p95_ms=13", "--commit", "3f2a9c1",
        "--pipeline-run", "fraud-detection-training-7c1e", "--dataset", "s3://mlops-data/fraud/2026-11.csv",
        "--pull-request")


def test_opens_a_pull_request_and_leaves_the_checkout_alone(workspace: tuple[Path, Path],  # noqa: F811
                                                            github: Any) -> None:  # noqa: F811
    clone, remote = workspace
    (clone / "notes.txt").write_text("my own uncommitted work\n")
    state = Git(clone).state()
    result = mlops(clone, *ARGS)
    assert result.exit_code == 0, result.output
    assert "pull request #1 opened" in result.stdout
    branch = "mlops/register/fraud-detection-1.3.0"
    catalog = git(remote, "show", f"{branch}:models/fraud-detection/model.yaml")
    assert "version: 1.3.0" in catalog and "pipelineRun: fraud-detection-training-7c1e" in catalog
    assert git(remote, "log", "-1", "--format=%s", branch).strip() == "register fraud-detection 1.3.0"
    (pull,) = github.pulls.values()
    assert pull["title"] == "Register fraud-detection 1.3.0" and pull["base"]["ref"] == "main"
    assert [label["name"] for label in pull["labels"]] == ["model-version"]
    body = pull["body"]
    assert "| test | pass | auc 0.975 >= 0.95 ✓" in body
    assert "| prod | pass |" in body and "promotion to **dev**" in body
    assert Git(clone).state() == state  # nothing of the user's moved, main included
    assert "1.3.0" not in (clone / "models/fraud-detection/model.yaml").read_text()


def test_a_gate_the_version_misses_is_shown_not_refused(workspace: tuple[Path, Path],  # noqa: F811
                                                        github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    args = [("auc=0.955" if a == "auc=0.975" else a) for a in ARGS]
    result = mlops(clone, *args)
    assert result.exit_code == 0, result.output
    (pull,) = github.pulls.values()
    assert "| prod | FAIL | auc 0.955 is not >= 0.96" in pull["body"]


def test_an_existing_version_changes_nothing(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, remote = workspace
    state, refs = Git(clone).state(), remote_refs(remote)
    args = [("1.2.0" if a == "1.3.0" else a) for a in ARGS]
    result = mlops(clone, *args)
    assert result.exit_code == 2
    assert "already listed" in result.stderr and result.stderr.count("\n") == 1
    assert Git(clone).state() == state and remote_refs(remote) == refs
    assert github.pulls == {}


@pytest.mark.parametrize("status", [401, 422, 500])
def test_github_failure_undoes_the_push(workspace: tuple[Path, Path], github: Any, status: int) -> None:  # noqa: F811
    clone, remote = workspace
    state, refs = Git(clone).state(), remote_refs(remote)
    github.fail_next("POST", r"/pulls$", status)
    result = mlops(clone, *ARGS)
    assert result.exit_code == 3, result.output
    assert "the push of mlops/register/fraud-detection-1.3.0 was undone" in result.stderr
    assert Git(clone).state() == state and remote_refs(remote) == refs


def test_second_run_updates_the_same_pull_request(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    assert mlops(clone, *ARGS).exit_code == 0
    again = mlops(clone, *[("auc=0.976" if a == "auc=0.975" else a) for a in ARGS])
    assert again.exit_code == 0, again.output
    assert "pull request #1 updated" in again.stdout
    assert len(github.pulls) == 1 and "auc | 0.976" in github.pulls[1]["body"]


def test_failure_on_an_update_restores_the_branch_it_replaced(workspace: tuple[Path, Path],  # noqa: F811
                                                              github: Any) -> None:  # noqa: F811
    """The branch exists from a first run; the second run's pull request update fails: back to the first."""
    clone, remote = workspace
    assert mlops(clone, *ARGS).exit_code == 0
    state, refs = Git(clone).state(), remote_refs(remote)
    github.fail_next("PATCH", r"/pulls/\d+$", 500)
    result = mlops(clone, *[("auc=0.976" if a == "auc=0.975" else a) for a in ARGS])
    assert result.exit_code == 3, result.output
    assert "was undone" in result.stderr
    assert remote_refs(remote) == refs and Git(clone).state() == state


def test_an_undo_the_remote_refuses_is_reported(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    """If the pushed branch cannot be deleted again, the message says so and how to clean up."""
    clone, remote = workspace
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nwhile read old new ref; do\n"
                    "  [ \"$new\" = 0000000000000000000000000000000000000000 ] && echo 'no deletions' >&2 && exit 1\n"
                    "done\nexit 0\n")
    hook.chmod(0o755)
    github.fail_next("POST", r"/pulls$", 500)
    result = mlops(clone, *ARGS)
    assert result.exit_code == 3
    assert "could NOT be undone" in result.stderr
    assert "git push origin --delete mlops/register/fraud-detection-1.3.0" in result.stderr
    assert result.stderr.count("\n") == 1
