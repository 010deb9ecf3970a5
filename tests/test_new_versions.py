"""`mlops model new-versions`: what the new-version workflow promotes after a push to main."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mlops.cli import main
from repo_builder import copy_template

IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env={**os.environ, **IDENTITY}).stdout.strip()


@pytest.fixture
def clone(tmp_path: Path, repo_root: Path) -> Path:
    folder = copy_template(repo_root, tmp_path / "clone")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "template")
    return folder


def mlops(clone: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--repo", str(clone)])


def add_version(clone: Path, model: str, version: str) -> None:
    result = mlops(clone, "model", "add-version", model, "--version", version,
                   "--uri", f"s3://mlops-models/{model}/{version}/", "--metric", "auc=0.97")
    assert result.exit_code == 0, result.output


def test_lists_the_newest_added_version_per_model(clone: Path) -> None:
    before = git(clone, "rev-parse", "HEAD")
    add_version(clone, "fraud-detection", "1.4.0")
    add_version(clone, "fraud-detection", "1.3.1")  # listed last, but not the newest
    git(clone, "commit", "-qam", "two versions")
    result = mlops(clone, "model", "new-versions", "--since", before, "--output", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"model": "fraud-detection", "version": "1.4.0", "environment": "dev"}]
    text = mlops(clone, "model", "new-versions", "--since", before).stdout
    assert text == "fraud-detection 1.4.0 -> dev\n"


def test_a_new_model_counts_and_an_unchanged_catalog_lists_nothing(clone: Path) -> None:
    before = git(clone, "rev-parse", "HEAD")
    assert json.loads(mlops(clone, "model", "new-versions", "--since", before, "-o", "json").stdout) == []
    git(clone, "rm", "-q", "-r", "models/granite-3-3-2b-instruct/model.yaml")
    git(clone, "commit", "-qm", "no granite catalog yet")
    without = git(clone, "rev-parse", "HEAD")
    git(clone, "checkout", "-q", before, "--", "models/granite-3-3-2b-instruct/model.yaml")
    listed = json.loads(mlops(clone, "model", "new-versions", "--since", without, "-o", "json").stdout)
    assert [entry["model"] for entry in listed] == ["granite-3-3-2b-instruct"]


def test_unknown_revision_exits_2(clone: Path) -> None:
    result = mlops(clone, "model", "new-versions", "--since", "0" * 40)
    assert result.exit_code == 2
    assert "unknown git revision" in result.stderr


def test_a_patch_of_an_older_line_is_not_promoted(clone: Path) -> None:
    """1.1.1 after 1.2.0: promoting it to dev would replace the newer 1.2.0 there."""
    before = git(clone, "rev-parse", "HEAD")
    add_version(clone, "fraud-detection", "1.1.1")
    git(clone, "commit", "-qam", "hotfix of 1.1")
    assert json.loads(mlops(clone, "model", "new-versions", "--since", before, "-o", "json").stdout) == []
