"""serving_runtime family: runtime scope, the runtime type odh-model-controller reads, one scrape path per model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops.policies.monitoring import RULES as MONITORING_RULES
from mlops.policies.serving_runtime import RULES
from policy_helpers import check, make_context
from template_defects import line_of, names, only_error, reintroduce, template, validate

SCOPE, METRICS, SCRAPE_ONCE = RULES
SCRAPED = next(rule for rule in MONITORING_RULES if rule.id == "monitoring-scrape")
OVMS = "base/serving/servingruntime-ovms-rest.yaml"
VLLM = "base/serving/servingruntime-vllm-cuda.yaml"


# --- the template, with each defect put back ------------------------------------------------------


def test_template_runtime_with_project_scope(tmp_path: Path) -> None:
    repo = template(tmp_path)
    line = reintroduce(repo, OVMS, "opendatahub.io/serving-runtime-scope: global\n",
                       "opendatahub.io/serving-runtime-scope: project\n")
    code, findings = validate(repo, "prod")
    finding = only_error(findings, "serving-runtime-scope")
    assert code == 1 and names(finding) == "ServingRuntime/mlops-prod/ovms-rest"
    assert (finding["file"], finding["line"]) == (OVMS, line)
    assert "template kserve-ovms is not in project mlops-prod" in finding["message"]


def test_template_runtime_without_its_runtime_type(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, VLLM, "    opendatahub.io/kserve-runtime: vllm\n", "    example.com/owner: mlops\n")
    code, findings = validate(repo, "prod")
    finding = only_error(findings, "serving-runtime-metrics")
    assert code == 1 and names(finding) == "ServingRuntime/mlops-prod/vllm-cuda"
    assert (finding["file"], finding["line"]) == (VLLM, line_of(repo, VLLM, "  annotations:\n    example.com"))
    assert "supported: false" in finding["message"]


def test_template_runtime_scraped_twice(tmp_path: Path) -> None:
    repo = template(tmp_path)
    line = reintroduce(repo, OVMS, "    opendatahub.io/kserve-runtime: ovms\n",
                       "    prometheus.io/port: '8888'\n    prometheus.io/path: /metrics\n"
                       "    opendatahub.io/kserve-runtime: ovms\n")
    code, findings = validate(repo, "test")
    finding = only_error(findings, "monitoring-scrape-once")
    assert code == 1 and names(finding) == "ServingRuntime/mlops-test/ovms-rest"
    assert (finding["file"], finding["line"]) == (OVMS, line)
    assert "PodMonitor model-servers" in finding["message"] and "fraud-detection" in finding["message"]


# --- correct variants and edge cases --------------------------------------------------------------


def runtime(name: str = "ovms", template: str | None = "kserve-ovms", scope: str | None = "global",
            spec_annotations: dict[str, str] | None = None, image: str = "quay.io/x/openvino-model-server:1",
            **annotations: str) -> dict[str, Any]:
    notes = dict(annotations)
    if template:
        notes["opendatahub.io/template-name"] = template
    if scope:
        notes["opendatahub.io/serving-runtime-scope"] = scope
    spec: dict[str, Any] = {"containers": [{"name": "kserve-container", "image": image}]}
    if spec_annotations is not None:
        spec["annotations"] = spec_annotations
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
            "metadata": {"name": name, "namespace": "ml-dev", "annotations": notes}, "spec": spec}


def openshift_template(name: str) -> dict[str, Any]:
    return {"apiVersion": "template.openshift.io/v1", "kind": "Template",
            "metadata": {"name": name, "namespace": "ml-dev"}, "objects": []}


def paths(rule: Any, tmp_path: Path, objects: list[dict[str, Any]], env: str = "dev") -> list[str | None]:
    return [f.path for f in check(rule, make_context(tmp_path, {env: objects}))]


@pytest.mark.parametrize("objects", [
    [runtime()],
    [runtime(template=None, scope=None)],  # not made from a template
    [runtime(template="my-ovms", scope="project"), openshift_template("my-ovms")],  # the project's own template
])
def test_scope_that_finds_the_template(tmp_path: Path, objects: list[dict[str, Any]]) -> None:
    assert paths(SCOPE, tmp_path, objects) == []


def test_project_template_needs_project_scope(tmp_path: Path) -> None:
    objects = [runtime(template="my-ovms", scope="global"), openshift_template("my-ovms")]
    (finding,) = check(SCOPE, make_context(tmp_path, {"prod": objects}))
    assert "template my-ovms is rendered in project ml-dev" in finding.message and "'project'" in finding.message
    assert finding.fix == "set the annotation opendatahub.io/serving-runtime-scope: project"


def test_missing_scope(tmp_path: Path) -> None:
    assert paths(SCOPE, tmp_path, [runtime(scope=None)]) == [
        "metadata.annotations.opendatahub.io/serving-runtime-scope"]


@pytest.mark.parametrize("item", [
    runtime(spec_annotations={"opendatahub.io/kserve-runtime": "ovms"}),
    runtime(name="vllm", template="vllm-cuda-runtime-template", image="registry/x/vllm-cuda:1",
            spec_annotations={"opendatahub.io/kserve-runtime": "vllm"}),
    # a server odh-model-controller has no queries for: nothing to set
    runtime(name="triton", template=None, scope=None, image="nvcr.io/nvidia/tritonserver:24.01"),
    runtime(name="nim", template="nvidia-nim-runtime", image="nvcr.io/nim/llm:1",
            **{"runtimes.opendatahub.io/nvidia-nim": "true"}),
])
def test_runtime_types_the_controller_knows(tmp_path: Path, item: dict[str, Any]) -> None:
    assert paths(METRICS, tmp_path, [item]) == []


def test_runtime_type_recognised_by_image(tmp_path: Path) -> None:
    (finding,) = check(METRICS, make_context(tmp_path, {"dev": [runtime(template=None, scope=None)]}))
    assert "runs ovms" in finding.message and finding.path == "spec"


@pytest.mark.parametrize(("value", "words"), [("openvino", "does not know"), ("vllm", "does not publish")])
def test_wrong_runtime_type(tmp_path: Path, value: str, words: str) -> None:
    item = runtime(spec_annotations={"opendatahub.io/kserve-runtime": value})
    (finding,) = check(METRICS, make_context(tmp_path, {"dev": [item]}))
    assert words in finding.message and finding.path == "spec.annotations.opendatahub.io/kserve-runtime"


def isvc(name: str = "fraud", runtime_name: str = "ovms") -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": "ml-dev"},
            "spec": {"predictor": {"model": {"runtime": runtime_name, "modelFormat": {"name": "onnx"}}}}}


def pod_monitor(namespace: str = "ml-dev") -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
            "metadata": {"name": "model-servers", "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"component": "predictor"}}}}


PROMETHEUS = {"prometheus.io/port": "8888", "prometheus.io/path": "/metrics"}


@pytest.mark.parametrize("objects", [
    [runtime(spec_annotations=PROMETHEUS), isvc()],  # the controller's ServiceMonitor only
    [runtime(), isvc(), pod_monitor()],  # the repository's PodMonitor only
    [runtime(spec_annotations=PROMETHEUS), isvc(), pod_monitor("other")],  # another namespace is not scraped
])
def test_one_scrape_path(tmp_path: Path, objects: list[dict[str, Any]]) -> None:
    assert paths(SCRAPE_ONCE, tmp_path, objects) == []


def test_two_scrape_paths_reported_once_per_runtime(tmp_path: Path) -> None:
    objects = [runtime(spec_annotations=PROMETHEUS), isvc("a"), isvc("b"), pod_monitor()]
    assert paths(SCRAPE_ONCE, tmp_path, objects) == ["spec.annotations.prometheus.io/port"]


def test_controller_servicemonitor_counts_as_a_scrape(tmp_path: Path) -> None:
    context = make_context(tmp_path, {"test": [runtime(spec_annotations=PROMETHEUS), isvc()]})
    assert check(SCRAPED, context) == []
    assert len(check(SCRAPED, make_context(tmp_path, {"test": [runtime(), isvc()]}))) == 1
