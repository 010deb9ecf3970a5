"""The soak gate measures from the time GitHub merged the pin, never from a date git can forge.

prod's gate in the template is `soak: {duration: 72h, source: pull-request}`: 1.2.0 must have been
pinned in test for 72 hours, counted from the `merged_at` of the pull request whose merge put
the pin on main. A commit backdated with GIT_COMMITTER_DATE, pushed straight to main or merged
today, does not pass; a subject that names someone else's pull request does not either. With
`source: any` the committer date is a fallback, and the gate table says so.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from github_standin import github  # noqa: F401 - the fixture
from mlops.forge.github import GitHub
from mlops.git import Git
from test_promote import PIN, days_ago, git, mlops, remote_refs, workspace  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow  # end to end: git remotes and the GitHub stand-in

CATALOG = "models/fraud-detection/model.yaml"


def push_pin(clone: Path, env: str, version: str, message: str, committed_days_ago: float) -> None:
    """Pin `version` in `env` with a commit pushed straight to main, dated as its author likes."""
    pin = clone / PIN.format(env=env)
    text = pin.read_text()
    current = text.split('app.kubernetes.io/version: "')[1].split('"')[0]
    pin.write_text(text.replace(current, version))
    when = days_ago(committed_days_ago)
    git(clone, "commit", "-qam", message, env={"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when})
    git(clone, "push", "-q", "origin", "main")


def gates(result: Any) -> dict[str, dict[str, str]]:
    assert result.exit_code in (0, 1), result.output
    return {gate["name"]: gate for gate in json.loads(result.stdout)["gates"]}


def test_a_backdated_commit_pushed_to_main_does_not_pass(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, remote = workspace
    # dated ten days back, and its subject claims a pull request that merged something else
    push_pin(clone, "test", "1.2.0", "Merge pull request #1 from example-org/mlops/promote/fraud-detection-test-1.2.0",
             committed_days_ago=10)
    state, refs = Git(clone).state(), remote_refs(remote)
    client = GitHub(github.repository, "t", api_url=github.url)
    client.open_or_update_pull_request(head="other", base="main", title="something else", body="", labels=[],
                                       reviewers=[])
    github.pulls[1].update(state="closed", merged=True, merged_at=days_ago(20).replace("+00:00", "Z"),
                           merge_commit_sha="1" * 40)
    result = mlops(clone, "promote", "fraud-detection", "--to", "prod", "--output", "json")
    soak = gates(result)["soak"]
    assert result.exit_code == 1 and soak["status"] == "FAIL"
    assert "pinned in test for 10d" in soak["detail"]  # the committer date, shown for what it is
    assert "committer date of" in soak["detail"] and "no merged pull request put" in soak["detail"]
    assert "soak.source is pull-request" in soak["detail"]
    asked = {(method, path, tuple(query.get("head", []))) for method, path, query, _ in github.requests}
    assert ("GET", f"/repos/{github.repository}/pulls/1", ()) in asked  # the subject's claim was checked...
    assert ("GET", f"/repos/{github.repository}/pulls",
            ("example-org:mlops/promote/fraud-detection-test-1.2.0",)) in asked  # ...and the promotion branch
    assert Git(clone).state() == state and remote_refs(remote) == refs


def test_a_backdated_pull_request_merged_today_does_not_pass(workspace: tuple[Path, Path],  # noqa: F811
                                                             github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert result.exit_code == 0, result.output
    branch = "mlops/promote/fraud-detection-test-1.2.0"
    # the branch's commit is re-made ten days in the past, then merged now
    scratch = clone.parent / "rewrite"
    git(clone.parent, "clone", "-q", "-b", branch, str(clone.parent / "remote.git"), str(scratch))
    git(scratch, "commit", "-q", "--amend", "--no-edit", env={"GIT_COMMITTER_DATE": days_ago(10)})
    git(scratch, "push", "-q", "--force", "origin", branch)
    github.merge(1, method="squash")
    soak = gates(mlops(clone, "promote", "fraud-detection", "--to", "prod", "--output", "json"))["soak"]
    assert soak["status"] == "FAIL" and re.search(r"pinned in test for \d+[sm] ", soak["detail"]), soak
    assert "merge of pull request #1" in soak["detail"]


def test_merged_four_days_ago_passes_and_says_so(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    assert mlops(clone, "promote", "fraud-detection", "--to", "test").exit_code == 0
    github.merge(1, merged_at=datetime.now(UTC) - timedelta(days=4, minutes=5), method="squash")
    result = mlops(clone, "promote", "fraud-detection", "--to", "prod")
    assert result.exit_code == 0, result.output
    assert "gate soak      pass    1.2.0 pinned in test for 4d" in result.stdout
    assert "merge of pull request #1); needs 3d" in result.stdout
    prod_pull = github.pulls[2]
    assert "| soak | ✅ pass |" in prod_pull["body"] and "merge of pull request #1" in prod_pull["body"]


def test_a_later_direct_push_is_not_covered_by_an_older_merge(workspace: tuple[Path, Path],  # noqa: F811
                                                              github: Any) -> None:  # noqa: F811
    """Merged long ago, pinned away and back again by hand: the pin's start is the hand-made commit."""
    clone, _ = workspace
    assert mlops(clone, "promote", "fraud-detection", "--to", "test").exit_code == 0
    github.merge(1, merged_at=datetime.now(UTC) - timedelta(days=30))
    git(clone, "pull", "-q", "origin", "main")
    push_pin(clone, "test", "1.1.0", "back to 1.1.0", committed_days_ago=9)
    push_pin(clone, "test", "1.2.0", "1.2.0 again", committed_days_ago=8)
    soak = gates(mlops(clone, "promote", "fraud-detection", "--to", "prod", "--output", "json"))["soak"]
    assert soak["status"] == "FAIL" and "committer date of" in soak["detail"]


def test_source_any_falls_back_to_the_committer_date_and_labels_it(workspace: tuple[Path, Path],  # noqa: F811
                                                                   github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    catalog = clone / CATALOG
    text = catalog.read_text()
    catalog.write_text(text.replace("      source: pull-request  #", "      source: any  #"))
    push_pin(clone, "test", "1.2.0", "pin 1.2.0 in test by hand", committed_days_ago=5)
    soak = gates(mlops(clone, "promote", "fraud-detection", "--to", "prod", "--output", "json"))["soak"]
    assert soak["status"] == "pass"
    assert "pinned in test for 5d" in soak["detail"] and "committer date of" in soak["detail"]


def test_a_dry_run_asks_nobody_and_says_the_gate_is_unverified(workspace: tuple[Path, Path],  # noqa: F811
                                                               github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    assert mlops(clone, "promote", "fraud-detection", "--to", "test").exit_code == 0
    github.merge(1, merged_at=datetime.now(UTC) - timedelta(days=4))
    git(clone, "fetch", "-q", "origin")  # a dry run reads the remote-tracking branch
    asked = len(github.requests)
    result = mlops(clone, "promote", "fraud-detection", "--to", "prod", "--dry-run", "--output", "json")
    assert result.exit_code == 0, result.output
    soak = gates(result)["soak"]
    assert soak["status"] == "unverified" and "a dry run asks GitHub nothing" in soak["detail"]
    assert len(github.requests) == asked
