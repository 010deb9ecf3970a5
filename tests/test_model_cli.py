"""`mlops model add-version` from the command line: exit codes and one-line errors."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from mlops.cli import main
from repo_builder import copy_template


def test_add_version_appends_and_keeps_the_rest(repo_root: Path, tmp_path: Path) -> None:
    repo = copy_template(repo_root, tmp_path / "repo")
    catalog = repo / "models/fraud-detection/model.yaml"
    before = catalog.read_text()
    result = CliRunner().invoke(main, ["model", "add-version", "fraud-detection", "--repo", str(repo),
                                       "--version", "1.3.0", "--uri", "s3://mlops-models/fraud-detection/1.3.0/",
                                       "--metric", "auc=0.975", "--metric", "latency_p95_ms=13",
                                       "--commit", "3f2a9c1"])
    assert result.exit_code == 0, result.output
    after = catalog.read_text()
    assert after.startswith(before.split("  - version: 1.0.0")[0])  # comments and header untouched
    assert "version: 1.3.0" in after and "auc: 0.975" in after


def test_add_version_refuses_a_duplicate_with_one_line(repo_root: Path, tmp_path: Path) -> None:
    repo = copy_template(repo_root, tmp_path / "repo")
    catalog = repo / "models/fraud-detection/model.yaml"
    before = catalog.read_text()
    result = CliRunner().invoke(main, ["model", "add-version", "fraud-detection", "--repo", str(repo),
                                       "--version", "1.2.0", "--uri", "s3://x/y/"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "models/fraud-detection/model.yaml" in result.stderr
    assert catalog.read_text() == before
