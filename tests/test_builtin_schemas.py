"""The built-in schema catalog: small, traced to its sources, and release-aware.

A DataScienceCluster written for one OpenShift AI minor is checked against that minor's schema
(`rhoaiVersion` in mlops.yaml, or per target), and a component of another minor is reported with
the release that introduced it. The `rhoai-channel` rules keep the operator channel on that minor.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from mlops.cli import main
from mlops.schemas.builtin import CATALOG_DIR, PROVENANCE, BuiltinCatalog, builtin_catalog
from mlops.schemas.releases import explain_unknown_field
from repo_builder import simple_repo, write

DSC = """\
apiVersion: datasciencecluster.opendatahub.io/v2
kind: DataScienceCluster
metadata:
  name: default-dsc
  annotations:
    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true
spec:
  components:
    dashboard:
      managementState: Managed
    sparkoperator:
      managementState: Removed
"""

SUBSCRIPTION = """\
apiVersion: operators.coreos.com/v1alpha1
kind: Subscription
metadata:
  name: {name}
  namespace: redhat-ods-operator
spec:
  name: {package}
  channel: {channel}
  source: redhat-operators
  sourceNamespace: openshift-marketplace
"""


@pytest.fixture(autouse=True)
def _no_locations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))


def validate(repo: Path, *args: str) -> tuple[Result, dict[str, Any]]:
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--output", "json", *args])
    return result, json.loads(result.stdout) if result.stdout.startswith("{") else {}


def with_release(repo: Path, release: str) -> Path:
    config = repo / "mlops.yaml"
    config.write_text(f'rhoaiVersion: "{release}"\n' + config.read_text(encoding="utf-8"), encoding="utf-8")
    return repo


# --- the catalog as shipped ---------------------------------------------------------------------


def test_catalog_is_small_and_every_file_has_its_source() -> None:
    files = sorted(path for path in CATALOG_DIR.rglob("*") if path.is_file())
    assert sum(path.stat().st_size for path in files) < 5_000_000
    provenance = json.loads((CATALOG_DIR / PROVENANCE).read_text(encoding="utf-8"))["files"]
    schemas = {path.relative_to(CATALOG_DIR).as_posix() for path in files if path.name != PROVENANCE}
    assert set(provenance) == schemas
    for name, record in provenance.items():
        assert record["repository"].count("/") == 1, name
        assert len(record["commit"]) == 40 and record["path"], name
        assert record["license"] and len(record["upstream_sha256"]) == 64, name
    assert {entry.name for entry in builtin_catalog().entries()} == schemas


def test_catalog_covers_the_openshift_ai_groups() -> None:
    groups = {entry.group for entry in builtin_catalog().entries()}
    for group in ("datasciencecluster.opendatahub.io", "dscinitialization.opendatahub.io",
                  "infrastructure.opendatahub.io", "services.platform.opendatahub.io", "serving.kserve.io",
                  "kubeflow.org", "datasciencepipelinesapplications.opendatahub.io", "trustyai.opendatahub.io",
                  "modelregistry.opendatahub.io", "llamastack.io", "pipelines.kubeflow.org", "argoproj.io",
                  "monitoring.coreos.com", "grafana.integreatly.org", "external-secrets.io", "operators.coreos.com",
                  "route.openshift.io", "kueue.x-k8s.io", "ray.io", "tekton.dev"):
        assert group in groups, group
    kinds = {(entry.group, entry.kind) for entry in builtin_catalog().entries()}
    assert ("serving.kserve.io", "llminferenceservice") in kinds
    assert builtin_catalog().releases == ("3.0", "3.2", "3.3", "3.4", "3.5")


# --- release awareness --------------------------------------------------------------------------


def test_a_component_of_a_later_release_is_an_error_naming_the_release(tmp_path: Path) -> None:
    repo = with_release(simple_repo(tmp_path / "repo", {"dsc.yaml": DSC}), "3.3")
    result, report = validate(repo)
    assert result.exit_code == 1, result.output
    [finding] = [f for f in report["findings"] if f["rule"] == "schema"]
    assert finding["file"] == "base/dsc.yaml" and finding["line"] == 11
    assert finding["path"] == "spec.components.sparkoperator"
    assert "OpenShift AI 3.3 has no component 'sparkoperator': it came with 3.4" in finding["message"]
    assert 'rhoaiVersion: "3.4"' in finding["fix"]


@pytest.mark.parametrize("release", ["3.4", "3.5"])
def test_the_same_file_passes_with_a_release_that_has_the_component(tmp_path: Path, release: str) -> None:
    repo = with_release(simple_repo(tmp_path / "repo", {"dsc.yaml": DSC}), release)
    result, report = validate(repo, "--strict")
    assert result.exit_code == 0, result.output
    assert report["summary"]["schema_coverage"]["percent"] == 100.0


def test_a_field_a_later_release_dropped_names_the_last_release_with_it(tmp_path: Path) -> None:
    """A catalog whose 3.1 has `legacy` and whose 3.2 does not (no shipped 3.x dropped a component yet)."""
    for release, components in (("3.1", {"legacy": {}, "dashboard": {}}), ("3.2", {"dashboard": {}})):
        schema = {"type": "object", "properties": {"spec": {"type": "object", "additionalProperties": False,
                  "properties": {"components": {"type": "object", "additionalProperties": False,
                                                "properties": components}}}}}
        path = tmp_path / f"rhoai-{release}" / "datasciencecluster.opendatahub.io" / "datasciencecluster_v2.json.gz"
        path.parent.mkdir(parents=True)
        path.write_bytes(gzip.compress(json.dumps(schema).encode()))
    catalog = BuiltinCatalog(tmp_path)
    api = "datasciencecluster.opendatahub.io/v2"
    dropped = explain_unknown_field(catalog, api, "DataScienceCluster", "spec.components.legacy", "3.2")
    assert dropped is not None and "component 'legacy': the last release with it is 3.1" in dropped.message
    assert explain_unknown_field(catalog, api, "DataScienceCluster", "spec.components.nothing", "3.2") is None
    assert explain_unknown_field(catalog, api, "DataScienceCluster", "spec.components.legacy", "3.1") is None


def test_each_target_may_name_its_own_release(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path / "repo", {"dsc.yaml": DSC}, environments=("old", "new"))
    config = (repo / "mlops.yaml").read_text(encoding="utf-8")
    config = config.replace("    path: overlays/old\n", '    path: overlays/old\n    rhoaiVersion: "3.3"\n')
    (repo / "mlops.yaml").write_text('rhoaiVersion: "3.5"\n' + config, encoding="utf-8")
    result, report = validate(repo)
    assert result.exit_code == 1
    assert {f["environment"] for f in report["findings"] if f["rule"] == "schema"} == {"old"}


@pytest.mark.parametrize(("line", "message"), [
    ("rhoaiVersion: 3.5", "must be a quoted string"),
    ('rhoaiVersion: "2.25"', "known: 3.0, 3.2, 3.3, 3.4, 3.5"),
])
def test_a_wrong_rhoai_version_is_bad_input_with_its_line(tmp_path: Path, line: str, message: str) -> None:
    repo = simple_repo(tmp_path / "repo", {"dsc.yaml": DSC})
    config = repo / "mlops.yaml"
    config.write_text(config.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo)])
    assert result.exit_code == 2
    assert result.stderr.startswith("mlops: mlops.yaml:6: ") and message in result.stderr


def test_an_unknown_target_key_is_bad_input(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path / "repo", {"dsc.yaml": DSC})
    config = repo / "mlops.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("    namespace:", "    rhoaiVerison: '3.5'\n    namespace:"), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo)])
    assert result.exit_code == 2 and "mlops.yaml:5: unknown key 'rhoaiVerison'" in result.stderr


# --- the operator channel -----------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "package", "rule"), [
    ("stable-3.4", "rhods-operator", "rhoai-channel"),
    ("eus-3.3", "rhods-operator", "rhoai-channel"),
    ("stable-3.x", "rhods-operator", "rhoai-channel-floating"),
    ("fast", "rhods-operator", "rhoai-channel-floating"),
    ("stable-3.5", "rhods-operator", None),
    ("fast-3.5", "rhods-operator", None),
    ("stable-3.4", "opendatahub-operator", None),  # not the OpenShift AI package
])
def test_the_channel_must_install_the_checked_release(tmp_path: Path, channel: str, package: str,
                                                      rule: str | None) -> None:
    subscription = SUBSCRIPTION.format(name="rhods-operator", package=package, channel=channel)
    repo = with_release(simple_repo(tmp_path / "repo", {"subscription.yaml": subscription}), "3.5")
    result, report = validate(repo)
    found = [f for f in report["findings"] if f["rule"].startswith("rhoai-channel")]
    if rule is None:
        assert found == [], found
        assert result.exit_code == 0, result.output
        return
    [finding] = found
    assert finding["rule"] == rule and finding["file"] == "base/subscription.yaml" and finding["line"] == 8
    assert "stable-3.5" in finding["fix"]
    assert result.exit_code == (1 if rule == "rhoai-channel" else 0)


def test_the_channel_rule_uses_the_targets_own_release(tmp_path: Path) -> None:
    subscription = SUBSCRIPTION.format(name="rhods-operator", package="rhods-operator", channel="stable-3.3")
    repo = simple_repo(tmp_path / "repo", {"subscription.yaml": subscription})
    write(repo, {"mlops.yaml": (repo / "mlops.yaml").read_text(encoding="utf-8").replace(
        "    path: overlays/dev\n", '    path: overlays/dev\n    rhoaiVersion: "3.3"\n')})
    result, report = validate(repo)
    assert result.exit_code == 0, result.output
    assert not [f for f in report["findings"] if f["rule"].startswith("rhoai-channel")]
