"""Committed symlinks of every kind: what validate reports and what promote and rollback do.

Argo CD's repo-server refuses a repository holding a symlink that is absolute or leaves the
repository (even one no kustomization reads), and accepts links that stay inside, dangling or
not. `mlops validate` reports exactly the first kind; promote, rollback and their dry runs refuse
them in one line without a traceback, and work as usual with the second kind.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from github_standin import github  # noqa: F401 - the fixture
from mlops.cli import main
from mlops.errors import UsageError
from mlops.git import Git
from mlops.symlinks import findings as symlink_findings
from mlops.symlinks import out_of_bounds
from repo_builder import DEPLOYMENT, simple_repo
from test_promote import git, mlops, read_remote_pin, remote_refs, workspace  # noqa: F401 - the fixture

KINDS = {
    # kind: (link, target, refused by Argo CD)
    "absolute": ("docs/passwd", "/etc/passwd", True),
    "outside": ("docs/outside.yaml", "../../elsewhere.yaml", True),
    "out-and-back": ("docs/back.yaml", "../../{repo}/base/deploy.yaml", True),
    "relative": ("docs/deploy.yaml", "../base/deploy.yaml", False),
    "dangling": ("docs/missing.yaml", "not-written-yet.yaml", False),
}


@pytest.mark.parametrize(("link", "target", "refused"), [
    ("a", "/etc/passwd", True), ("a", "b", False), ("a", "../b", True), ("x/a", "../b", False),
    ("x/a", "../../b", True), ("x/a", "./.././b", False), ("x/y/a", "../../x/../b", False),
    ("x/a", "../../repo/x/b", True), ("a", "", False), ("x/a", "b/../../c", False),
])
def test_argo_cds_test(link: str, target: str, refused: bool) -> None:
    assert out_of_bounds(link, target) is refused


def validate(repo: Path) -> tuple[int, list[dict[str, Any]]]:
    import json

    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--no-policies", "--output", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)["findings"]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)  # the built-in catalog answers
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    root = simple_repo(tmp_path / "repo", {"deploy.yaml": DEPLOYMENT})
    (root / "docs").mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


@pytest.mark.parametrize("kind", KINDS)
def test_validate_reports_what_argo_cd_refuses(repo: Path, kind: str) -> None:
    link, target, refused = KINDS[kind]
    os.symlink(target.format(repo=repo.name), repo / link)
    code, found = validate(repo)
    reported = [f for f in found if f["rule"] == "symlink-out-of-bounds"]
    if refused:
        assert code == 1 and [f["file"] for f in reported] == [link]
        assert "Argo CD" in reported[0]["message"] and reported[0]["severity"] == "error"
    else:
        assert code == 0 and reported == [], found


def test_an_ignored_virtual_environment_is_not_reported(repo: Path) -> None:
    (repo / ".gitignore").write_text(".venv/\n")
    (repo / ".venv" / "bin").mkdir(parents=True)
    os.symlink("/usr/bin/python3", repo / ".venv" / "bin" / "python")
    assert validate(repo) == (0, [])


def test_outside_git_every_file_counts_but_virtual_environments(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)  # the built-in catalog answers
    repo = simple_repo(tmp_path / "plain", {"deploy.yaml": DEPLOYMENT})
    (repo / "venv" / "bin").mkdir(parents=True)
    (repo / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    os.symlink("/usr/bin/python3", repo / "venv" / "bin" / "python")
    os.symlink("/etc/hosts", repo / "hosts")
    code, found = validate(repo)
    assert code == 1 and [f["file"] for f in found] == ["hosts"]


def test_only_a_work_tree_has_a_top_folder(repo: Path, tmp_path: Path) -> None:
    """One git start tells a work tree's top folder; `.git` itself and a plain folder have none."""
    assert Git(repo / "docs").work_tree_top() == repo.resolve()
    assert Git(repo / ".git").work_tree_top() is None
    plain = tmp_path / "plain"
    plain.mkdir()
    assert Git(plain).work_tree_top() is None
    with pytest.raises(UsageError, match="not inside a git repository"):
        Git(repo / ".git").toplevel()


def test_the_check_judges_the_files_of_the_git_listing_it_is_handed(repo: Path) -> None:
    """The run cache hands over the `git ls-files` output it has read: only links in it count."""
    os.symlink("/etc/passwd", repo / "docs" / "passwd")
    assert [f.file for f in symlink_findings(repo)] == ["docs/passwd"]  # git lists the untracked link
    assert [f.file for f in symlink_findings(repo, "docs/passwd\0base/deploy.yaml\0")] == ["docs/passwd"]
    assert symlink_findings(repo, "base/deploy.yaml\0") == []


def commit_link(clone: Path, link: str, target: str) -> None:
    (clone / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, clone / link)
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", f"link {link}")
    git(clone, "push", "-q", "origin", "main")


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.slow
def test_promote(workspace: tuple[Path, Path], github: Any, kind: str) -> None:  # noqa: F811
    clone, remote = workspace
    link, target, refused = KINDS[kind]
    commit_link(clone, link, target.format(repo=clone.name))
    state, refs = Git(clone).state(), remote_refs(remote)
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert Git(clone).state() == state
    if refused:
        assert result.exit_code == 1, result.output
        assert f"symlink {link} points to" in one_line(result.stderr)
        assert remote_refs(remote) == refs and github.pulls == {}
        return
    assert result.exit_code == 0, result.output
    (pull,) = github.pulls.values()
    assert {label["name"] for label in pull["labels"]} == {"promotion", "env/test"}
    branch = "mlops/promote/fraud-detection-test-1.2.0"
    assert git(remote, "ls-tree", branch, link).split()[0] == "120000"  # the link travels as a link
    assert 'version: "1.2.0"' in read_remote_pin(remote, branch, "test")


@pytest.mark.parametrize("kind", ["absolute", "outside"])
@pytest.mark.parametrize("command", [
    ("promote", "fraud-detection", "--to", "test", "--dry-run"),
    ("rollback", "fraud-detection", "--env", "dev", "--to", "1.1.0"),
    ("rollback", "fraud-detection", "--env", "dev", "--to", "1.1.0", "--dry-run"),
], ids=["promote-dry-run", "rollback", "rollback-dry-run"])
def test_rollback_and_dry_runs_refuse_in_one_line(workspace: tuple[Path, Path], github: Any,  # noqa: F811
                                                  kind: str, command: tuple[str, ...]) -> None:
    clone, remote = workspace
    link, target, _ = KINDS[kind]
    commit_link(clone, link, target)
    state, refs = Git(clone).state(), remote_refs(remote)
    result = mlops(clone, *command)
    assert result.exit_code == 1, result.output
    assert f"symlink {link} points to" in one_line(result.stderr)
    assert Git(clone).state() == state and remote_refs(remote) == refs and github.pulls == {}


def test_a_pin_that_is_a_link_is_refused(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    """Writing test's pin through a link to dev's would promote dev as well."""
    clone, remote = workspace
    pin = clone / "overlays/test/models/fraud-detection.yaml"
    pin.unlink()
    commit_link(clone, "overlays/test/models/fraud-detection.yaml", "../../dev/models/fraud-detection.yaml")
    state, refs = Git(clone).state(), remote_refs(remote)
    for args in (("promote", "fraud-detection", "--to", "test"), ("promote", "fraud-detection", "--to", "test",
                                                                   "--dry-run")):
        result = mlops(clone, *args)
        assert result.exit_code == 2, result.output
        line = one_line(result.stderr)
        assert "overlays/test/models/fraud-detection.yaml is a symlink" in line and "copy" in line
    assert Git(clone).state() == state and remote_refs(remote) == refs and github.pulls == {}


def test_add_version_refuses_a_catalog_that_is_a_link(tmp_path: Path, repo_root: Path) -> None:
    from repo_builder import copy_template

    clone = copy_template(repo_root, tmp_path / "t")
    catalog = clone / "models/fraud-detection/model.yaml"
    moved = tmp_path / "catalog.yaml"
    catalog.rename(moved)
    os.symlink(moved, catalog)
    result = CliRunner().invoke(main, ["model", "add-version", "fraud-detection", "--version", "1.9.0", "--uri",
                                       "s3://b/fraud-detection/1.9.0/", "--repo", str(clone)])
    assert result.exit_code == 2, result.output
    assert "is a symlink" in one_line(result.stderr)
    assert "1.9.0" not in moved.read_text() and catalog.is_symlink()
