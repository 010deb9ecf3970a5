"""`mlops diff`: object-level differences between environments and against a git revision."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlops.cli import main
from mlops.diff import ObjectChange, TargetChanges, diff_objects, parse_objects, render_markdown, render_markdown_all
from repo_builder import DEPLOYMENT, INFERENCE_SERVICE, simple_repo, write


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def test_between_two_environments(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT}, environments=("dev", "prod"))
    write(repo, {"overlays/prod/kustomization.yaml": "namespace: ml-dev\nresources: [../../base, isvc.yaml]\n"
                 "patches:\n  - target: {kind: Deployment}\n    patch: |-\n      - op: replace\n"
                 "        path: /spec/replicas\n        value: 3\n",
                 "overlays/prod/isvc.yaml": INFERENCE_SERVICE})
    result = CliRunner().invoke(main, ["diff", "--repo", str(repo), "dev", "prod", "--output", "json"])
    assert result.exit_code == 0, result.output
    changes = {(c["status"], c["kind"]) for c in json.loads(result.stdout)}
    assert changes == {("changed", "Deployment"), ("added", "InferenceService")}
    text = CliRunner().invoke(main, ["diff", "--repo", str(repo), "dev", "prod"]).stdout
    assert "-  replicas: 1" in text and "+  replicas: 3" in text


def test_against_a_git_revision(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    path = repo / "base/deploy.yaml"
    path.write_text(path.read_text().replace("replicas: 1", "replicas: 2"))
    before = git(repo, "status", "--porcelain")
    result = CliRunner().invoke(main, ["diff", "--repo", str(repo), "dev", "--base", "main"])
    assert result.exit_code == 0, result.output
    assert "changed  Deployment/ml-dev/web" in result.stdout
    assert "+  replicas: 2" in result.stdout
    assert git(repo, "status", "--porcelain") == before  # the snapshot worktree left no trace
    assert git(repo, "worktree", "list").count("\n") == 1


def test_unknown_revision_is_bad_input(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT})
    git(repo, "init", "-q")
    result = CliRunner().invoke(main, ["diff", "--repo", str(repo), "dev", "--base", "nope"])
    assert result.exit_code == 2
    assert "nope" in result.stderr


def test_markdown_collapses_and_trims() -> None:
    before = parse_objects(DEPLOYMENT)
    after = parse_objects(DEPLOYMENT.replace("replicas: 1", "replicas: 5") + "---\n" + INFERENCE_SERVICE)
    changes = diff_objects(before, after)
    full = render_markdown(changes, "dev")
    assert full.count("<details>") == 2 and "```diff" in full
    trimmed = render_markdown(changes, "dev", limit=len(full) - 10)
    assert trimmed.count("<details>") == 1 and "left out" in trimmed


def test_every_target_against_a_revision(tmp_path: Path) -> None:
    """`mlops diff --base REF`: a table of every environment, diffs only for those that change."""
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT}, environments=("dev", "prod"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    write(repo, {"overlays/prod/kustomization.yaml": "namespace: ml-prod\nresources: [../../base, isvc.yaml]\n",
                 "overlays/prod/isvc.yaml": INFERENCE_SERVICE})
    result = CliRunner().invoke(main, ["diff", "--repo", str(repo), "--base", "main", "--output", "markdown"])
    assert result.exit_code == 0, result.output
    assert "| dev | none |" in result.stdout
    assert "| prod | 1 added, 0 changed, 0 removed |" in result.stdout
    assert "#### prod" in result.stdout and "#### dev" not in result.stdout
    data = json.loads(CliRunner().invoke(main, ["diff", "--repo", str(repo), "--base", "main", "-o", "json"]).stdout)
    assert [(t["target"], [c["kind"] for c in t["changes"]]) for t in data] == [("dev", []),
                                                                                ("prod", ["InferenceService"])]


def test_a_target_new_in_the_working_tree_is_all_added(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT}, environments=("dev", "prod"))
    prod = (repo / "overlays/prod/kustomization.yaml").read_text()
    (repo / "overlays/prod/kustomization.yaml").unlink()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "prod not there yet")
    write(repo, {"overlays/prod/kustomization.yaml": prod})
    result = CliRunner().invoke(main, ["diff", "--repo", str(repo), "--base", "main", "-o", "json"])
    assert result.exit_code == 0, result.output
    changes = next(t for t in json.loads(result.stdout) if t["target"] == "prod")["changes"]
    assert [(c["status"], c["kind"]) for c in changes] == [("added", "Deployment")]


def test_nothing_changed_says_so(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    result = CliRunner().invoke(main, ["diff", "--repo", str(repo), "--base", "main", "-o", "markdown"])
    assert "No environment renders differently" in result.stdout


def test_two_environments_and_a_base_is_bad_usage(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT}, environments=("dev", "prod"))
    git(repo, "init", "-q", "-b", "main")
    result = CliRunner().invoke(main, ["diff", "--repo", str(repo), "dev", "prod", "--base", "main"])
    assert result.exit_code == 2
    assert "or none for every environment" in result.stderr


def _many_changes(count: int, prefix: str = "web") -> list[ObjectChange]:
    before = {("Deployment", "ml", f"{prefix}-{i}"): {"kind": "Deployment", "spec": {"replicas": 1, "note": "x" * 300}}
              for i in range(count)}
    after = {key: {"kind": "Deployment", "spec": {"replicas": 2, "note": "y" * 300}} for key in before}
    return diff_objects(before, after)


@functools.cache
def _four_targets() -> tuple[TargetChanges, ...]:
    """Four targets with 150 changed objects each, diffed once for every limit (the diffs are the cost)."""
    return tuple(TargetChanges(name, True, _many_changes(150, name)) for name in ("dev", "test", "prod", "platform"))


@pytest.mark.parametrize("limit", [900, 5_000, 60_000])
def test_every_target_markdown_never_exceeds_the_limit(limit: int) -> None:
    """Four targets with 150 changed objects each: tables, diffs and notes all fit, or are left out with a note."""
    text = render_markdown_all(list(_four_targets()), "origin/main", limit=limit)
    assert len(text) <= limit
    assert "| prod | 0 added, 150 changed, 0 removed |" in text
    assert "left out" in text


def test_a_diff_with_backticks_stays_inside_its_block() -> None:
    before = {("ConfigMap", "ml", "readme"): {"kind": "ConfigMap", "data": {"a": "plain"}}}
    after = {("ConfigMap", "ml", "readme"): {"kind": "ConfigMap", "data": {"a": "```\n# Heading injected\n````"}}}
    text = render_markdown(diff_objects(before, after), "dev")
    fence = text.split("<summary>", 1)[1].split("\n\n", 1)[1].split("diff\n", 1)[0]
    assert fence == "`````"  # one longer than the longest run of backticks in the diff
    assert text.rstrip().endswith(f"{fence}\n\n</details>")


# -- the preview comment: secrets, the commits it describes, failures, what a cut leaves out --------

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  kept: {kept}
  rotated: {rotated}
  {extra}
stringData:
  token: {token}
"""
VALUES = {"kept": "a2VwdC12YWx1ZQ==", "rotated": "b2xkLXZhbHVl", "extra": "dropped: ZHJvcHBlZA==",
          "token": "plain-old-token"}
NEW_VALUES = {"kept": "a2VwdC12YWx1ZQ==", "rotated": "bmV3LXZhbHVl", "extra": "added: YWRkZWQ=",
              "token": "plain-new-token"}


def test_secret_values_never_appear_only_whether_they_changed() -> None:
    before = parse_objects(SECRET.format(**VALUES))
    after = parse_objects(SECRET.format(**NEW_VALUES))
    (change,) = diff_objects(before, after)
    shown = render_markdown([change], "dev") + change.diff
    for value in ["a2VwdC12YWx1ZQ==", "b2xkLXZhbHVl", "ZHJvcHBlZA==", "plain-old-token", "bmV3LXZhbHVl", "YWRkZWQ=",
                  "plain-new-token"]:
        assert value not in shown
    lines = change.diff.splitlines()
    assert "+  rotated: (redacted); changed" in lines and "-  rotated: (redacted)" in lines
    assert "+  added: (redacted); added" in lines and "-  dropped: (redacted)" in lines
    assert "+  token: (redacted); changed" in lines
    assert not any("kept" in line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---")))


def test_a_secret_that_did_not_change_is_not_listed() -> None:
    same = parse_objects(SECRET.format(**VALUES))
    assert diff_objects(same, parse_objects(SECRET.format(**VALUES))) == []


def committed_repo(tmp_path: Path) -> tuple[Path, str]:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    return repo, git(repo, "rev-parse", "HEAD").strip()


def test_the_comment_names_the_head_and_base_commits(tmp_path: Path) -> None:
    repo, main_sha = committed_repo(tmp_path)
    git(repo, "checkout", "-q", "-b", "feature")
    path = repo / "base/deploy.yaml"
    path.write_text(path.read_text().replace("replicas: 1", "replicas: 2"))
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "two replicas")
    head = git(repo, "rev-parse", "HEAD").strip()
    result = CliRunner().invoke(main, ["diff", "--repo", str(repo), "--base", "main", "--output", "markdown"])
    assert result.exit_code == 0, result.output
    assert f"Comparing head `{head[:12]}` with base `{main_sha[:12]}`." in result.stdout
    # GitHub's test merge of the pull request (what actions/checkout gives a pull request) is named by its head
    git(repo, "checkout", "-q", "--detach", "main")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "merge", "-q", "--no-ff", "-m", "test merge",
        "feature")
    merge = git(repo, "rev-parse", "HEAD").strip()
    result = CliRunner().invoke(main, ["diff", "--repo", str(repo), "--base", main_sha, "--output", "markdown"])
    assert result.stdout.startswith(f"### Rendered changes against `{main_sha[:12]}`\n")
    assert (f"Comparing head `{head[:12]}` (rendered as GitHub's test merge `{merge[:12]}` into the base) with base "
            f"`{main_sha[:12]}`.") in result.stdout


@pytest.mark.parametrize("side", ["head", "base"])
def test_a_failed_render_is_a_comment_naming_the_commit(tmp_path: Path, side: str) -> None:
    repo, main_sha = committed_repo(tmp_path)
    broken = "resources:\n  - deploy.yaml\n  - missing.yaml\n"
    if side == "base":
        (repo / "base/kustomization.yaml").write_text(broken)
        git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "broken")
        main_sha = git(repo, "rev-parse", "HEAD").strip()
        git(repo, "checkout", "-q", "-b", "fix")
        (repo / "base/kustomization.yaml").write_text("resources:\n  - deploy.yaml\n")
        git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "fixed")
    else:
        (repo / "base/kustomization.yaml").write_text(broken)
        git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "broken")
    head = git(repo, "rev-parse", "HEAD").strip()
    base = "HEAD~1" if side == "head" else "main"
    result = CliRunner().invoke(main, ["diff", "--repo", str(repo), "--base", base, "--output", "markdown"])
    assert result.exit_code == 1, result.output
    at = head if side == "head" else main_sha
    assert result.stdout.startswith(f"### Rendered changes: render failed at `{at[:12]}`\n")
    assert "missing.yaml" in result.stdout and "the earlier preview was replaced" in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1 and "kustomize failed for overlays/dev" in result.stderr


def test_a_cut_comment_names_every_object_it_left_out() -> None:
    changes = _many_changes(60)
    full = render_markdown(changes, "dev")
    text = render_markdown(changes, "dev", limit=len(full) // 3)
    assert len(text) <= len(full) // 3
    shown = {change.title for change in changes if f"<code>{change.title}</code></summary>" in text}
    note = text.split("_Diffs left out to fit the size limit", 1)[1]
    assert shown and len(shown) < len(changes)
    assert all(f"`{change.title}`" in note for change in changes if change.title not in shown)


def test_a_comment_cut_to_a_few_rows_still_counts_the_rest() -> None:
    changes = _many_changes(200)
    text = render_markdown(changes, "dev", limit=2_000)
    assert len(text) <= 2_000
    assert "more object(s), named below" in text and " more._" in text
