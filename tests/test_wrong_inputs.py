"""Each wrong input gets the message that names it, not the message of another problem.

A broken pin is broken, not missing; a model no overlay reads is not wired, not already
running; a gate on a metric no version records is a validate finding, not a surprise at
promotion time; a CRLF catalog stays CRLF; an empty resource file is reported.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from github_standin import github  # noqa: F401 - the fixture
from mlops.cli import main
from mlops.git import Git
from repo_builder import DEPLOYMENT, copy_template, simple_repo, write
from template_defects import shared_cache
from test_promote import PIN, git, mlops, remote_refs, workspace  # noqa: F401 - the fixture

CATALOG = "models/fraud-detection/model.yaml"


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def commit_and_push(clone: Path, message: str) -> None:
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", message)
    git(clone, "push", "-q", "origin", "main")


@pytest.mark.parametrize("dry_run", [(), ("--dry-run",)], ids=["promote", "dry-run"])
def test_a_broken_pin_is_called_broken(workspace: tuple[Path, Path], github: Any,  # noqa: F811
                                       dry_run: tuple[str, ...]) -> None:
    clone, remote = workspace
    pin = clone / PIN.format(env="dev")
    pin.write_text(pin.read_text().replace('app.kubernetes.io/version: "1.2.0"', "app.kubernetes.io/version: 1.2"))
    commit_and_push(clone, "a pin edited by hand")
    git(clone, "fetch", "-q", "origin")
    state, refs = Git(clone).state(), remote_refs(remote)
    result = mlops(clone, "promote", "fraud-detection", "--to", "test", *dry_run)
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert line.startswith("mlops: overlays/dev/models/fraud-detection.yaml:7: the pin of fraud-detection in dev "
                           "cannot be read")
    assert "not pinned" not in line and "mlops validate dev" in line
    assert Git(clone).state() == state and remote_refs(remote) == refs and github.pulls == {}


def test_a_missing_pin_is_called_missing(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    (clone / PIN.format(env="dev")).unlink()
    commit_and_push(clone, "no pin in dev")
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert result.exit_code == 2
    assert "fraud-detection is not pinned in dev; promote it there first" in one_line(result.stderr)


@pytest.mark.parametrize("dry_run", [(), ("--dry-run",)], ids=["promote", "dry-run"])
def test_a_model_no_overlay_reads_is_not_wired_in(workspace: tuple[Path, Path], github: Any,  # noqa: F811
                                                  dry_run: tuple[str, ...]) -> None:
    clone, remote = workspace
    (clone / "models/churn").mkdir()
    text = (clone / CATALOG).read_text().replace("name: fraud-detection", "name: churn")
    (clone / "models/churn/model.yaml").write_text(text)
    commit_and_push(clone, "a catalog entry, nothing else yet")
    git(clone, "fetch", "-q", "origin")
    state, refs = Git(clone).state(), remote_refs(remote)
    result = mlops(clone, "promote", "churn", "--to", "dev", *dry_run)
    assert result.exit_code == 1, result.output
    line = one_line(result.stderr)
    assert "overlays/dev/models/churn.yaml is not read by overlays/dev" in line
    assert "../../models/churn to the resources of overlays/dev/kustomization.yaml" in line
    assert "already" not in line
    assert Git(clone).state() == state and remote_refs(remote) == refs and github.pulls == {}


def test_a_version_that_already_runs_says_so(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    result = mlops(clone, "promote", "fraud-detection", "--to", "dev", "--version", "1.2.0")
    assert result.exit_code == 1
    assert "fraud-detection 1.2.0 is already what dev runs; nothing to promote" in one_line(result.stderr)


@pytest.fixture
def template(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)  # the built-in catalog answers
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(shared_cache()))  # copies of the template render the same
    return copy_template(repo_root, tmp_path / "template")


def validate(repo: Path, *args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--output", "json", *args])
    assert result.exit_code in (0, 1), result.output
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return findings


@pytest.mark.parametrize(("gate", "words"), [
    ('aucc: ">= 0.96"', "did you mean 'auc'?"),
    ('f1: ">= 0.5"', "record f1 for the versions"),
])
def test_a_gate_on_a_metric_no_version_records(template: Path, gate: str, words: str) -> None:
    catalog = template / CATALOG
    catalog.write_text(catalog.read_text().replace('      auc: ">= 0.96"', f"      {gate}"))
    (finding,) = [f for f in validate(template) if f["rule"] == "catalog-gate-metric"]
    metric = gate.split(":")[0]
    assert finding["file"] == CATALOG and finding["severity"] == "error"
    assert f"the prod gate of fraud-detection checks metric {metric!r}, which no version" in finding["message"]
    assert words in finding["fix"]
    assert (template / CATALOG).read_text().splitlines()[finding["line"] - 1].strip() == "metrics:"


def test_the_template_records_every_gated_metric(template: Path) -> None:
    assert [f for f in validate(template) if f["rule"] == "catalog-gate-metric"] == []


def test_add_version_keeps_crlf_line_endings(template: Path) -> None:
    catalog = template / CATALOG
    catalog.write_bytes(catalog.read_bytes().replace(b"\n", b"\r\n"))
    result = CliRunner().invoke(main, ["model", "add-version", "fraud-detection", "--version", "1.3.0", "--uri",
                                       "s3://mlops-models/fraud-detection/1.3.0/", "--metric", "auc=0.97",
                                       "--repo", str(template)])
    assert result.exit_code == 0, result.output
    raw = catalog.read_bytes()
    assert b"version: 1.3.0\r\n" in raw
    assert raw.count(b"\n") == raw.count(b"\r\n") and b"\r\r" not in raw


@pytest.mark.parametrize("content", ["", "\n\n", "# the web Deployment, to be written\n", "---\n"],
                         ids=["empty", "blank-lines", "only-a-comment", "only-a-separator"])
def test_an_empty_resource_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            content: str) -> None:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)  # the built-in catalog answers
    repo = simple_repo(tmp_path / "repo", {"deploy.yaml": DEPLOYMENT, "service.yaml": "placeholder"})
    (repo / "base/service.yaml").write_text(content)
    found = [f for f in validate(repo, "--no-policies") if f["rule"] == "empty-resource"]
    assert [(f["file"], f["line"], f["severity"]) for f in found] == [("base/service.yaml", 1, "error")]
    assert "base/kustomization.yaml:" in found[0]["message"] and "remove service.yaml" in found[0]["fix"]


def test_a_file_with_an_object_is_not_empty(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)  # the built-in catalog answers
    repo = simple_repo(tmp_path / "repo", {"deploy.yaml": "# a comment first\n---\n" + DEPLOYMENT})
    write(repo, {"overlays/dev/extra/kustomization.yaml": "resources: []\n"})
    shutil.rmtree(repo / "overlays/dev/extra")
    assert [f for f in validate(repo, "--no-policies") if f["rule"] == "empty-resource"] == []


def test_an_unexpected_exception_is_one_line_and_exit_3(template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in mlops must still end in one line (and the undo paths, which run on any exception)."""
    def broken(*args: Any, **kwargs: Any) -> None:
        raise KeyError("versions")

    monkeypatch.setattr("mlops.promotion.status.collect", broken)
    result = CliRunner().invoke(main, ["status", "--repo", str(template)])
    assert result.exit_code == 3
    assert one_line(result.stderr) == ("mlops: unexpected error: KeyError: 'versions' (a bug in mlops: please report "
                                       "it, with the traceback `mlops --debug ...` prints); nothing was changed")


def test_ctrl_c_in_a_command_that_changes_nothing_is_one_line(template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("mlops.check.run_validation", interrupted)
    result = CliRunner().invoke(main, ["validate", "--repo", str(template)])
    assert result.exit_code == 3
    assert one_line(result.stderr) == "mlops: interrupted by SIGINT; nothing was changed"
