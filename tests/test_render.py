"""`mlops render`: what Argo CD would apply, with no annotation of ours left in it."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from mlops.cli import main
from repo_builder import DEPLOYMENT, INFERENCE_SERVICE, simple_repo, write


def test_render_prints_kustomize_output_without_origin_annotations(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT, "isvc.yaml": INFERENCE_SERVICE})
    result = CliRunner().invoke(main, ["render", "--repo", str(repo), "dev"])
    assert result.exit_code == 0, result.output
    objects = list(yaml.safe_load_all(result.stdout))
    assert [(o["kind"], o["metadata"]["namespace"]) for o in objects] == [
        ("Deployment", "ml-dev"), ("InferenceService", "ml-dev")]
    assert "config.kubernetes.io/origin" not in result.stdout


def test_render_several_environments_to_files(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path / "repo", {"deploy.yaml": DEPLOYMENT}, environments=("dev", "prod"))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", "--repo", str(repo), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["dev.yaml", "prod.yaml"]
    prod = yaml.safe_load((out / "prod.yaml").read_text())
    assert prod["metadata"]["namespace"] == "ml-prod"


def test_render_failure_is_one_line_and_exit_1(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT})
    write(repo, {"base/kustomization.yaml": "resources: [missing.yaml]\n"})
    result = CliRunner().invoke(main, ["render", "--repo", str(repo)])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "overlays/dev" in result.stderr


def test_every_command_has_help() -> None:
    for command in (["--help"], ["validate", "--help"], ["render", "--help"], ["rules", "--help"],
                    ["schemas", "import", "--help"], ["schemas", "sync", "--help"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, command
        assert "Usage:" in result.stdout
