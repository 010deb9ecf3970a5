"""catalog_rules family: catalog entries valid, pins match the catalog and the render, order, runtime."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mlops.catalog import load_catalog
from mlops.findings import Finding, ObjectRef, Severity
from mlops.manifests import SourceIndex
from mlops.policies import catalog_rules
from mlops.policies.base import PolicyContext
from mlops.policies.catalog_rules import RULES
from mlops.policies.engine import run_rules
from policy_helpers import ENVIRONMENTS, check, make_context
from template_defects import shared_cache

SCHEMA, PIN, ORDER, GATE_METRIC, RUNTIME = RULES
FRAUD, GRANITE = "fraud-detection", "granite-3-3-2b-instruct"
#: model -> (runtime, modelFormat.name, opendatahub.io/model-type), as in the template
SERVING = {FRAUD: ("ovms-rest", "onnx", "predictive"), GRANITE: ("vllm-cuda", "vLLM", "generative")}
URI_PATH = "spec.predictor.model.storageUri"


@pytest.fixture
def repo(tmp_path: Path, repo_root: Path) -> Path:
    """The template's catalog and pins (no kustomize needed: rendered objects are built below)."""
    shutil.copytree(repo_root / "models", tmp_path / "models")
    for env in ENVIRONMENTS:
        shutil.copytree(repo_root / "overlays" / env / "models", tmp_path / "overlays" / env / "models")
    return tmp_path


def pin_path(repo: Path, env: str, model: str) -> Path:
    return repo / "overlays" / env / "models" / f"{model}.yaml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def isvc(model: str, env: str, version: str | None, uri: str | None, **annotations: str) -> dict[str, Any]:
    runtime, model_format, model_type = SERVING[model]
    labels = {"app.kubernetes.io/name": model}
    if version is not None:
        labels["app.kubernetes.io/version"] = version
    spec_model: dict[str, Any] = {"runtime": runtime, "modelFormat": {"name": model_format}}
    if uri is not None:
        spec_model["storageUri"] = uri
    return {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": model, "namespace": f"ml-{env}", "labels": labels,
                     "annotations": {"opendatahub.io/model-type": model_type, **annotations}},
        "spec": {"predictor": {"model": spec_model}},
        "__file__": f"models/{model}/inferenceservice.yaml",
    }


def rendered(repo: Path) -> dict[str, list[dict[str, Any]]]:
    """What kustomize would render: each model of each environment with its pin applied."""
    objects: dict[str, list[dict[str, Any]]] = {}
    for env in ENVIRONMENTS:
        objects[env] = []
        for model in SERVING:
            path = pin_path(repo, env, model)
            if not path.is_file():
                objects[env].append(isvc(model, env, None, None))
                continue
            try:
                pin = yaml.safe_load(path.read_text(encoding="utf-8"))
                version = str(pin["metadata"]["labels"]["app.kubernetes.io/version"])
                uri = pin["spec"]["predictor"]["model"]["storageUri"]
            except (yaml.YAMLError, KeyError, TypeError):
                version, uri = None, None
            objects[env].append(isvc(model, env, version, uri))
    return objects


def findings(rule: Any, repo: Path, objects: dict[str, list[dict[str, Any]]] | None = None) -> list[Finding]:
    return check(rule, make_context(repo, objects if objects is not None else rendered(repo)))


def find(objects: dict[str, list[dict[str, Any]]], env: str, model: str) -> dict[str, Any]:
    return next(o for o in objects[env] if o["metadata"]["name"] == model)


# --- every rule passes on the template's catalog and pins --------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_template_shaped_repository_passes(repo: Path, rule: Any) -> None:
    assert findings(rule, repo) == []


def test_catalog_is_loaded_once_per_run(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    original: Callable[..., Any] = load_catalog

    def counting(root: Path, config: Any) -> Any:
        calls.append(root)
        return original(root, config)

    monkeypatch.setattr(catalog_rules, "load_catalog", counting)  # the name the rules call
    context: PolicyContext = make_context(repo, rendered(repo))
    run_rules(RULES, context, SourceIndex(repo))
    assert len(calls) == 1


# --- catalog-schema -----------------------------------------------------------------------------------------


def test_schema_violation_has_file_line_and_path(repo: Path) -> None:
    edit(repo / f"models/{GRANITE}/model.yaml", "type: generative", "type: chat")
    [finding] = findings(SCHEMA, repo)
    assert finding.rule == "catalog-schema"
    assert finding.severity is Severity.ERROR
    assert finding.file == f"models/{GRANITE}/model.yaml"
    assert finding.path == "type"
    assert finding.line == 16
    assert "type: chat" in (repo / finding.file).read_text(encoding="utf-8").splitlines()[finding.line - 1]
    assert "'chat'" in finding.message or '"chat"' in finding.message
    assert finding.object is None and finding.environment is None


def test_malformed_catalog_yaml_is_a_finding_with_line(repo: Path) -> None:
    edit(repo / f"models/{FRAUD}/model.yaml", "runtime: ovms-rest", "runtime: [ovms-rest")
    [finding] = findings(SCHEMA, repo)
    assert finding.file == f"models/{FRAUD}/model.yaml"
    assert "malformed YAML" in finding.message
    assert finding.line in (14, 15)


def test_a_broken_entry_does_not_cascade_into_other_rules(repo: Path) -> None:
    edit(repo / f"models/{FRAUD}/model.yaml", "type: predictive", "type: chat")
    edit(pin_path(repo, "test", FRAUD), '"1.1.0"', '"7.0.0"')
    for rule in (PIN, ORDER, RUNTIME):
        assert findings(rule, repo) == [], rule.id


# --- catalog-pin --------------------------------------------------------------------------------------------


def test_pin_of_a_version_the_catalog_does_not_list(repo: Path) -> None:
    edit(pin_path(repo, "test", FRAUD), '"1.1.0"', '"1.5.0"')
    [finding] = findings(PIN, repo)
    assert finding.rule == "catalog-pin"
    assert finding.severity is Severity.ERROR
    assert finding.environment == "test"
    assert finding.object == ObjectRef("InferenceService", FRAUD, "ml-test", "serving.kserve.io/v1beta1")
    assert finding.file == f"overlays/test/models/{FRAUD}.yaml"
    assert finding.line == 7
    assert "1.5.0" in finding.message and "1.0.0, 1.1.0, 1.2.0" in finding.message


def test_pin_uri_differs_from_the_catalog(repo: Path) -> None:
    edit(pin_path(repo, "prod", FRAUD), "fraud-detection/1.1.0/", "fraud-detection/1.1.1/")
    [finding] = findings(PIN, repo)
    assert (finding.environment, finding.path, finding.file, finding.line) == (
        "prod", URI_PATH, f"overlays/prod/models/{FRAUD}.yaml", 11)
    assert finding.object == ObjectRef("InferenceService", FRAUD, "ml-prod", "serving.kserve.io/v1beta1")
    assert "s3://mlops-models/fraud-detection/1.1.1/" in finding.message
    assert "s3://mlops-models/fraud-detection/1.1.0/" in (finding.fix or "")


def test_rendered_uri_overridden_by_another_patch(repo: Path) -> None:
    objects = rendered(repo)
    find(objects, "dev", GRANITE)["spec"]["predictor"]["model"]["storageUri"] = "oci://registry.example/other:latest"
    [finding] = findings(PIN, repo, objects)
    assert (finding.environment, finding.path) == ("dev", URI_PATH)
    assert finding.object == ObjectRef("InferenceService", GRANITE, "ml-dev", "serving.kserve.io/v1beta1")
    assert finding.file == f"models/{GRANITE}/inferenceservice.yaml"
    assert "oci://registry.example/other:latest" in finding.message and "overrides" in finding.message


def test_rendered_version_label_differs_from_the_pin(repo: Path) -> None:
    objects = rendered(repo)
    find(objects, "test", GRANITE)["metadata"]["labels"]["app.kubernetes.io/version"] = "latest"
    [finding] = findings(PIN, repo, objects)
    assert (finding.environment, finding.path) == ("test", "metadata.labels.app.kubernetes.io/version")
    assert "app.kubernetes.io/version=latest" in finding.message and "1.1.0" in finding.message


def test_catalog_model_deployed_without_a_pin(repo: Path) -> None:
    pin_path(repo, "dev", GRANITE).unlink()
    [finding] = findings(PIN, repo)
    assert (finding.environment, finding.path) == ("dev", URI_PATH)
    assert finding.object == ObjectRef("InferenceService", GRANITE, "ml-dev", "serving.kserve.io/v1beta1")
    assert f"overlays/dev/models/{GRANITE}.yaml does not exist" in finding.message


def test_pin_without_an_inference_service(repo: Path) -> None:
    objects = rendered(repo)
    objects["prod"] = [o for o in objects["prod"] if o["metadata"]["name"] != GRANITE]
    [finding] = findings(PIN, repo, objects)
    assert (finding.environment, finding.file, finding.line) == ("prod", f"overlays/prod/models/{GRANITE}.yaml", 5)
    assert finding.object is None
    assert f"prod renders no InferenceService {GRANITE}" in finding.message


def test_malformed_pin(repo: Path) -> None:
    edit(pin_path(repo, "test", FRAUD), "    model:\n", "    minReplicas: 3\n    model:\n")
    [finding] = findings(PIN, repo)
    assert (finding.environment, finding.file, finding.line) == ("test", f"overlays/test/models/{FRAUD}.yaml", 10)
    assert "malformed" in finding.message and "spec.predictor.minReplicas" in finding.message


def test_pin_of_a_model_without_catalog_entry(repo: Path) -> None:
    ghost = pin_path(repo, "dev", "ghost")
    ghost.write_text(pin_path(repo, "dev", FRAUD).read_text(encoding="utf-8").replace(FRAUD, "ghost"),
                     encoding="utf-8")
    [finding] = findings(PIN, repo)
    assert (finding.environment, finding.file) == ("dev", "overlays/dev/models/ghost.yaml")
    assert "'ghost'" in finding.message and "models/ghost/model.yaml" in finding.message


# --- catalog-order ------------------------------------------------------------------------------------------


def test_model_pinned_later_but_not_earlier(repo: Path) -> None:
    pin_path(repo, "test", FRAUD).unlink()
    [finding] = findings(ORDER, repo)
    assert finding.rule == "catalog-order"
    assert finding.severity is Severity.ERROR
    assert finding.environment == "prod"
    assert finding.object == ObjectRef("InferenceService", FRAUD, "ml-prod", "serving.kserve.io/v1beta1")
    assert (finding.file, finding.line) == (f"overlays/prod/models/{FRAUD}.yaml", 5)
    assert "pinned in prod" in finding.message and "not in test" in finding.message
    assert f"mlops promote {FRAUD} --to test" in (finding.fix or "")


def test_first_environment_needs_nothing_before_it(repo: Path) -> None:
    for env in ("test", "prod"):
        pin_path(repo, env, GRANITE).unlink()
    assert findings(ORDER, repo) == []


# --- catalog-runtime ----------------------------------------------------------------------------------------


def test_runtime_format_and_type_must_match_the_catalog(repo: Path) -> None:
    objects = rendered(repo)
    served = find(objects, "prod", FRAUD)
    served["spec"]["predictor"]["model"] = {**served["spec"]["predictor"]["model"], "runtime": "ovms-grpc",
                                            "modelFormat": {"name": "ONNX"}}
    served["metadata"]["annotations"]["opendatahub.io/model-type"] = "generative"
    found = findings(RUNTIME, repo, objects)
    assert [(f.rule, f.severity, f.environment, f.path) for f in found] == [
        ("catalog-runtime", Severity.ERROR, "prod", "spec.predictor.model.runtime"),
        ("catalog-runtime", Severity.ERROR, "prod", "spec.predictor.model.modelFormat.name"),
        ("catalog-runtime", Severity.ERROR, "prod", "metadata.annotations.opendatahub.io/model-type"),
    ]
    assert all(f.object == ObjectRef("InferenceService", FRAUD, "ml-prod", "serving.kserve.io/v1beta1")
               for f in found)
    assert "'ovms-grpc'" in found[0].message and "'ovms-rest'" in found[0].message
    assert "'ONNX'" in found[1].message and "'onnx'" in found[1].message
    assert "generative" in found[2].message


def test_runtime_left_to_kserve_is_a_finding(repo: Path) -> None:
    objects = rendered(repo)
    del find(objects, "dev", GRANITE)["spec"]["predictor"]["model"]["runtime"]
    [finding] = findings(RUNTIME, repo, objects)
    assert finding.path == "spec.predictor.model.runtime" and "None" in finding.message


# --- waivers ------------------------------------------------------------------------------------------------


def test_waiver_on_the_inference_service(repo: Path) -> None:
    objects = rendered(repo)
    served = find(objects, "test", FRAUD)
    served["spec"]["predictor"]["model"]["runtime"] = "ovms-grpc"
    served["metadata"]["annotations"]["waive.mlops.dev/catalog-runtime"] = "gRPC trial in test, ML-123"
    [finding] = findings(RUNTIME, repo, objects)
    assert finding.waived == "gRPC trial in test, ML-123"


# --- end to end: `mlops validate` on a copy of the template ----------------------------------------------------


@pytest.fixture
def template(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)  # the built-in catalog answers
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(shared_cache()))  # copies of the template render the same
    copy = tmp_path / "repo"
    for folder in ("apps", "base", "components", "models", "overlays", "platform"):
        shutil.copytree(repo_root / folder, copy / folder)
    shutil.copy(repo_root / "mlops.yaml", copy / "mlops.yaml")
    return copy


def validate(repo: Path) -> list[dict[str, Any]]:
    from mlops.cli import main

    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--output", "json"])
    assert result.exit_code in (0, 1), result.output
    return [f for f in json.loads(result.stdout)["findings"] if str(f["rule"]).startswith("catalog-")]


def test_template_has_no_catalog_findings(template: Path) -> None:
    assert validate(template) == []


def test_validate_reports_catalog_and_pin_problems(template: Path) -> None:
    edit(template / f"models/{GRANITE}/model.yaml", "  dev: {}", "  staging: {}")
    edit(pin_path(template, "test", FRAUD), "fraud-detection/1.1.0/", "fraud-detection/1.1.1/")
    found = {f["rule"]: f for f in validate(template)}
    assert sorted(found) == ["catalog-pin", "catalog-schema"]
    schema = found["catalog-schema"]
    assert (schema["file"], schema["path"], schema["severity"]) == (f"models/{GRANITE}/model.yaml", "gates.staging",
                                                                     "error")
    lines = (template / schema["file"]).read_text(encoding="utf-8").splitlines()
    assert lines[schema["line"] - 1] == "  staging: {}"
    pin = found["catalog-pin"]
    assert (pin["file"], pin["line"], pin["path"], pin["environment"]) == (
        f"overlays/test/models/{FRAUD}.yaml", 11, URI_PATH, "test")
    assert pin["object"]["kind"] == "InferenceService" and pin["object"]["name"] == FRAUD
    assert "1.1.1" in pin["message"]
