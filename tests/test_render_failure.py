"""A failed render names the file at fault with kustomize's own message, and never blames generator inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlops.cli import main
from repo_builder import DEPLOYMENT, write


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))


def repo(root: Path, files: dict[str, str]) -> Path:
    config = 'kubernetesVersion: "1.33"\nenvironments:\n  - name: dev\n    path: overlays/dev\n    namespace: ml-dev\n'
    return write(root, {"mlops.yaml": config, "base/deploy.yaml": DEPLOYMENT, **files})


def errors(root: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["validate", "--repo", str(root), "--output", "json", "--no-policies"])
    assert result.exit_code == 1, result.output
    return [f for f in json.loads(result.stdout)["findings"] if f["severity"] == "error"]


def test_a_patch_matching_no_resource_is_reported_at_the_patch_with_kustomizes_message(tmp_path: Path) -> None:
    patch = "apiVersion: apps/v1beta9\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n"
    root = repo(tmp_path, {
        "base/kustomization.yaml": "resources:\n  - deploy.yaml\n",
        "overlays/dev/kustomization.yaml":
            "namespace: ml-dev\nresources:\n  - ../../base\npatches:\n  - path: replicas.yaml\n",
        "overlays/dev/replicas.yaml": patch,
    })
    [finding] = errors(root)
    assert (finding["rule"], finding["file"], finding["line"]) == ("render", "overlays/dev/replicas.yaml", 1)
    assert finding["message"].startswith("kustomize: no resource matches strategic merge patch")
    assert "Deployment web" in finding["fix"]


def test_generator_inputs_are_never_parsed_as_yaml(tmp_path: Path) -> None:
    """A script embedded by a configMapGenerator is text to kustomize: a failure elsewhere is not blamed on it."""
    root = repo(tmp_path, {
        "base/kustomization.yaml": "resources:\n  - deploy.yaml\n  - missing-kind.yaml\nconfigMapGenerator:\n"
                                   "  - name: scripts\n    files:\n      - run.py\n",
        "base/run.py": "import sys\n\nif __name__ == '__main__':\n    print({'a': [1, 2]})\n    sys.exit(0)\n",
        "base/missing-kind.yaml": "apiVersion: v1\nmetadata:\n  name: x\n",
        "overlays/dev/kustomization.yaml": "namespace: ml-dev\nresources:\n  - ../../base\n",
    })
    found = errors(root)
    assert [(f["rule"], f["file"]) for f in found] == [("object-shape", "base/missing-kind.yaml")]


def test_helm_charts_without_enable_helm_point_at_the_kustomization(tmp_path: Path) -> None:
    root = repo(tmp_path, {
        "base/kustomization.yaml": "resources:\n  - deploy.yaml\nhelmCharts:\n  - name: grafana\n"
                                   "    repo: https://grafana.github.io/helm-charts\n    version: 8.0.0\n",
        "overlays/dev/kustomization.yaml": "namespace: ml-dev\nresources:\n  - ../../base\n",
    })
    [finding] = errors(root)
    assert (finding["file"], finding["line"]) == ("base/kustomization.yaml", 3)
    assert "--enable-helm" in finding["message"] and "--enable-helm" in finding["fix"]


def test_a_remote_base_that_needs_the_network_points_at_its_reference(tmp_path: Path) -> None:
    root = repo(tmp_path, {
        "base/kustomization.yaml": "resources:\n  - deploy.yaml\n",
        "overlays/dev/kustomization.yaml": "namespace: ml-dev\nresources:\n  - ../../base\n"
                                           "  - https://127.0.0.1:9/example/repo//config?ref=v1\n",
    })
    result = CliRunner().invoke(main, ["validate", "--repo", str(root), "--output", "json", "--no-policies"])
    assert result.exit_code == 0, result.output  # offline is no defect of the repository: a warning
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["rule"], finding["severity"]) == ("render", "warning")
    assert (finding["file"], finding["line"]) == ("overlays/dev/kustomization.yaml", 4)
    assert finding["message"].startswith("not rendered without the network: kustomize: ")
    assert "needs the network" in finding["fix"]
