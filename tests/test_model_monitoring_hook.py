"""The TrustyAI hook of base/model-monitoring: rendered per environment, and run against stand-ins.

Every environment renders the PostSync hook Job `trustyai-metrics`, its ServiceAccount and Role,
its script, and the generated declaration ConfigMap of each monitored model. The script then runs
against a stand-in TrustyAI service that checks every request against TrustyAI's API description
(`tests/contracts/trustyai-service.json`) and refuses what TrustyAI's validators refuse, and a
stand-in Kubernetes API serving the rendered ConfigMaps and InferenceServices.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mlops import config as config_module
from mlops.catalog import Model, Signature, Tensor
from mlops.model_monitoring import DriftCheck, FairnessCheck, Monitoring, declaration
from trustyai_standin import S3, Kubernetes, TrustyAI, body_problems, serving_kubernetes, serving_s3, serving_trustyai
from trustyai_standin import Model as StoredModel

ROOT = Path(__file__).resolve().parent.parent
CONFIG = config_module.load(ROOT)
SCRIPT = ROOT / "base/model-monitoring/trustyai_metrics.py"
S3_KEYS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret/key+example",
           "AWS_DEFAULT_REGION": "eu-west-1"}
JOB = "trustyai-metrics"
TOKEN = "sa-token"
FRAUD_INPUTS = {f"transaction_features-{i}": "FLOAT" for i in range(5)}
FRAUD_OUTPUTS = {"fraud_probability-0": "FLOAT"}
PINNED = {"dev": "1.2.0", "test": "1.1.0", "prod": "1.1.0"}


@pytest.fixture
def rendered(rendered_environments: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return copy.deepcopy(rendered_environments)  # each test may change its objects


def only(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


# --- what every environment renders -------------------------------------------------------------


@pytest.mark.parametrize("env", list(PINNED))
def test_every_environment_runs_the_hook_after_its_sync(rendered: dict[str, list[dict[str, Any]]], env: str) -> None:
    objects = rendered[env]
    job = only(objects, "Job", JOB)
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    spec = job["spec"]["template"]["spec"]
    [container] = spec["containers"]
    script = container["command"][-1]
    mount = next(m for m in container["volumeMounts"] if script.startswith(m["mountPath"] + "/"))
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    config_map = only(objects, "ConfigMap", volume["configMap"]["name"])
    assert set(config_map["data"]) == {"trustyai_metrics.py", "s3_get.py"}  # the script and what it imports
    for name, text in config_map["data"].items():
        assert text == (SCRIPT.parent / name).read_text(encoding="utf-8"), name
    assert Path(script).name == SCRIPT.name
    # the S3 data connection, optional: the hook runs without it and reports drift as waiting
    secret_refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert {ref["name"] for ref in secret_refs.values()} == {"mlops-s3"}
    assert all(ref["optional"] is True and ref["key"] == name for name, ref in secret_refs.items())
    assert only(objects, "ExternalSecret", "mlops-s3")["spec"]["target"].get("name", "mlops-s3") == "mlops-s3"
    projected = next(v for v in spec["volumes"] if "projected" in v)["projected"]["sources"]
    assert {s["configMap"]["name"] for s in projected if "configMap" in s} == {"kube-root-ca.crt",
                                                                              "openshift-service-ca.crt"}


@pytest.mark.parametrize("env", list(PINNED))
def test_the_hook_may_read_declarations_and_call_trustyai_and_nothing_else(
        rendered: dict[str, list[dict[str, Any]]], env: str) -> None:
    objects = rendered[env]
    namespace = next(t.namespace for t in CONFIG.environments if t.name == env)
    account = job_account = only(objects, "Job", JOB)["spec"]["template"]["spec"]["serviceAccountName"]
    only(objects, "ServiceAccount", job_account)
    binding = only(objects, "RoleBinding", account)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    trustyai = only(objects, "TrustyAIService", "trustyai-service")
    assert only(objects, "Role", binding["roleRef"]["name"])["rules"] == [
        # TrustyAI's kube-rbac-proxy authorizes `get` on the Service named like the TrustyAIService
        {"apiGroups": [""], "resources": ["services"], "resourceNames": [trustyai["metadata"]["name"]],
         "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]},
        {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["get"]},
    ]


@pytest.mark.parametrize("env", list(PINNED))
def test_the_declaration_of_fraud_detection_reaches_every_environment(
        rendered: dict[str, list[dict[str, Any]]], env: str) -> None:
    config_map = only(rendered[env], "ConfigMap", "fraud-detection-monitoring")
    assert config_map["metadata"]["labels"]["mlops.dev/monitoring-declaration"] == "true"
    declared = json.loads(config_map["data"]["declaration.json"])
    assert declared["model"] == "fraud-detection"
    assert [r["metric"] for r in declared["requests"]] == ["MEANSHIFT", "KSTEST"]
    assert declared["nameMapping"]["inputMapping"]["transaction_features-0"] == "distance_from_home"


# --- the script against the stand-ins -----------------------------------------------------------


def load_script() -> ModuleType:
    if str(SCRIPT.parent) not in sys.path:
        sys.path.insert(0, str(SCRIPT.parent))  # as `python3 trustyai_metrics.py` has its folder first
    spec = importlib.util.spec_from_file_location("trustyai_metrics", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fraud_model(version: str, reference_rows: int = 1000) -> StoredModel:
    return StoredModel(dict(FRAUD_INPUTS), dict(FRAUD_OUTPUTS), tags={f"training-{version}": reference_rows},
                       rows=20)


class Cluster:
    """Stand-ins for TrustyAI, the Kubernetes API (one environment's rendered objects) and S3."""

    def __init__(self, trustyai: TrustyAI, kube: Kubernetes, s3: S3, environ: dict[str, str]) -> None:
        self.trustyai, self.kube, self.s3, self.environ = trustyai, kube, s3, environ

    def run(self, **changes: str) -> int:
        result: int = load_script().main({**self.environ, **changes})
        return result


@pytest.fixture
def cluster(rendered: dict[str, list[dict[str, Any]]], tmp_path: Path) -> Iterator[Cluster]:
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    trustyai = TrustyAI()
    trustyai.models["fraud-detection"] = fraud_model(PINNED["test"])
    kube = Kubernetes(json.loads(json.dumps(rendered["test"])), "mlops-test")
    s3 = S3(S3_KEYS["AWS_ACCESS_KEY_ID"], S3_KEYS["AWS_SECRET_ACCESS_KEY"], S3_KEYS["AWS_DEFAULT_REGION"])
    with serving_trustyai(trustyai, TOKEN) as trustyai_url, serving_kubernetes(kube, TOKEN) as kube_url, \
            serving_s3(s3) as s3_url:
        yield Cluster(trustyai, kube, s3, {"NAMESPACE": "mlops-test", "TOKEN_FILE": str(token),
                                           "TRUSTYAI_URL": trustyai_url, "KUBERNETES_URL": kube_url,
                                           "AWS_S3_ENDPOINT": s3_url, **S3_KEYS})
    assert trustyai.problems == [] and kube.problems == [] and s3.problems == [], trustyai.problems + kube.problems


def report(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return {entry["model"]: entry for entry in lines}


def test_creates_the_declared_requests(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert cluster.run() == 0
    stored = sorted(cluster.trustyai.schedules.values(), key=lambda r: r["metricName"])
    assert stored == [
        {"requestName": "fraud-detection-kstest", "thresholdDelta": 0.01, "modelId": "fraud-detection",
         "batchSize": 5000, "referenceTag": "training-1.1.0", "metricName": "KSTEST"},
        {"requestName": "fraud-detection-meanshift", "thresholdDelta": 0.05, "modelId": "fraud-detection",
         "batchSize": 5000, "referenceTag": "training-1.1.0", "metricName": "MEANSHIFT"},
    ]
    mapping = cluster.trustyai.models["fraud-detection"].input_mapping
    assert mapping["transaction_features-4"] == "online_order"
    # the name mapping comes before the requests that may name mapped columns
    assert cluster.trustyai.writes() == ["POST /info/names", "POST /metrics/drift/meanshift/request",
                                         "POST /metrics/drift/kstest/request"]
    entry = report(capsys)["fraud-detection"]
    assert entry["created"] == ["fraud-detection-meanshift", "fraud-detection-kstest"] and entry["version"] == "1.1.0"
    assert {r["authorization"] for r in cluster.trustyai.requests} == {f"Bearer {TOKEN}"}


def test_a_second_sync_changes_nothing(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert cluster.run() == 0
    before = cluster.trustyai.writes()
    assert cluster.run() == 0
    assert cluster.trustyai.writes() == before
    assert report(capsys)["fraud-detection"]["unchanged"] == ["fraud-detection-meanshift", "fraud-detection-kstest"]


def _declaration(kube: Kubernetes) -> dict[str, Any]:
    config_map = next(o for o in kube.objects if o["kind"] == "ConfigMap"
                      and o["metadata"]["name"] == "fraud-detection-monitoring")
    declared: dict[str, Any] = json.loads(config_map["data"]["declaration.json"])
    return declared


def _set_declaration(kube: Kubernetes, declared: dict[str, Any]) -> None:
    config_map = next(o for o in kube.objects if o["kind"] == "ConfigMap"
                      and o["metadata"]["name"] == "fraud-detection-monitoring")
    config_map["data"]["declaration.json"] = json.dumps(declared)


def test_a_changed_threshold_replaces_the_request_new_first(cluster: Cluster,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert cluster.run() == 0
    declared = _declaration(cluster.kube)
    declared["requests"][0]["thresholdDelta"] = 0.1
    _set_declaration(cluster.kube, declared)
    old = {i for i, r in cluster.trustyai.schedules.items() if r["metricName"] == "MEANSHIFT"}
    assert cluster.run() == 0
    meanshift = [r for r in cluster.trustyai.schedules.values() if r["metricName"] == "MEANSHIFT"]
    assert [r["thresholdDelta"] for r in meanshift] == [0.1] and not old & set(cluster.trustyai.schedules)
    assert cluster.trustyai.writes()[-2:] == ["POST /metrics/drift/meanshift/request",
                                              "DELETE /metrics/drift/meanshift/request"]
    entry = report(capsys)["fraud-detection"]
    assert entry["deleted"] == ["fraud-detection-meanshift"] and entry["unchanged"] == ["fraud-detection-kstest"]


def test_a_promoted_version_is_measured_against_its_own_training_data(cluster: Cluster) -> None:
    assert cluster.run() == 0
    isvc = next(o for o in cluster.kube.objects if o["kind"] == "InferenceService"
                and o["metadata"]["name"] == "fraud-detection")
    isvc["metadata"]["labels"]["app.kubernetes.io/version"] = "1.2.0"
    cluster.trustyai.models["fraud-detection"].tags["training-1.2.0"] = 800
    assert cluster.run() == 0
    assert {r["referenceTag"] for r in cluster.trustyai.schedules.values()} == {"training-1.2.0"}
    assert len(cluster.trustyai.schedules) == 2


def test_requests_nobody_declared_are_deleted(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    by_hand = cluster.trustyai.schedule("SPD", {
        "modelId": "fraud-detection", "requestName": "made-in-the-dashboard", "protectedAttribute": "online_order",
        "privilegedAttribute": 0, "unprivilegedAttribute": 1, "outcomeName": "fraud_probability",
        "favorableOutcome": 0, "batchSize": 100})
    cluster.trustyai.models["retired-model"] = StoredModel({"x": "INT32"}, {"y": "INT32"}, tags={"training-1.0.0": 5})
    retired = cluster.trustyai.schedule("MEANSHIFT", {"modelId": "retired-model", "referenceTag": "training-1.0.0",
                                                      "requestName": "retired-model-meanshift"})
    assert cluster.run() == 0
    assert by_hand not in cluster.trustyai.schedules and retired not in cluster.trustyai.schedules
    entries = report(capsys)
    assert entries["fraud-detection"]["deleted"] == ["made-in-the-dashboard"]
    assert entries["(not declared)"]["deleted"] == ["retired-model-meanshift"]
    assert "DELETE /metrics/group/fairness/spd/request" in cluster.trustyai.writes()


def test_a_model_without_data_waits_for_it(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    del cluster.trustyai.models["fraud-detection"]
    assert cluster.run() == 0
    assert cluster.trustyai.writes() == [] and cluster.trustyai.schedules == {}
    assert len(report(capsys)["fraud-detection"]["waiting"]) == 2


def test_drift_waits_for_the_reference_data_of_the_served_version(cluster: Cluster,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cluster.trustyai.models["fraud-detection"].tags = {"training-1.0.0": 1000}
    assert cluster.run() == 0
    assert cluster.trustyai.schedules == {}
    out = capsys.readouterr()
    assert "no rows tagged training-1.1.0" in out.err


def test_trustyai_down_is_retried_then_fails_without_writing(cluster: Cluster, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script()
    waits: list[float] = []
    monkeypatch.setattr(script.time, "sleep", waits.append)
    assert script.main({**cluster.environ, "TRUSTYAI_URL": "http://127.0.0.1:9"}) == 1
    assert waits == [5, 10, 20]  # four attempts of the first read
    assert "TrustyAI: GET http://127.0.0.1:9/info" in capsys.readouterr().err
    assert cluster.trustyai.requests == []


def test_a_refused_request_is_reported_and_not_retried(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.trustyai.refuse[("POST", "/metrics/drift/kstest/request")] = 400
    assert cluster.run() == 1
    assert cluster.trustyai.writes().count("POST /metrics/drift/kstest/request") == 1
    assert "TrustyAI refused POST /metrics/drift/kstest/request: HTTP 400" in capsys.readouterr().err
    # what was created before the refusal stays; nothing was deleted
    assert [r["metricName"] for r in cluster.trustyai.schedules.values()] == ["MEANSHIFT"]


def test_a_missing_permission_names_the_role(cluster: Cluster, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    wrong = tmp_path / "other-token"
    wrong.write_text("someone-else")
    assert cluster.run(TOKEN_FILE=str(wrong)) == 1
    assert "Role trustyai-metrics" in capsys.readouterr().err


def test_a_declaration_for_a_model_the_project_lacks_is_a_configuration_error(
        cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.kube.objects = [o for o in cluster.kube.objects if o["kind"] != "InferenceService"]
    assert cluster.run() == 2
    assert "no InferenceService fraud-detection" in capsys.readouterr().err
    assert cluster.trustyai.requests == []


def test_a_malformed_declaration_is_a_configuration_error(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    declared = _declaration(cluster.kube)
    declared["requests"][0]["metric"] = "MEANSHIFTY"
    _set_declaration(cluster.kube, declared)
    assert cluster.run() == 2
    assert "unknown metric 'MEANSHIFTY'" in capsys.readouterr().err


# --- fairness, for a model whose output is a label ----------------------------------------------


def credit_model() -> Model:
    """A model with a label output, the case fairness is declared for."""
    signature = Signature(inputs=(Tensor("applicant", "FP32", (-1, 3)),), outputs=(Tensor("approved", "INT64", (-1,)),))
    monitoring = Monitoring(
        columns={"applicant": ("income", "age_band", "gender")}, batch_size=1000,
        drift=(DriftCheck("approxkstest", ("income",), 0.05),),
        fairness=(FairnessCheck("spd", "gender", 1.0, 0.0, "approved", 1, 0.1),
                  FairnessCheck("dir", "gender", 1.0, 0.0, "approved", 1, 0.2)))
    return Model(name="credit-scoring", description="d", owners=(), format="onnx", runtime="ovms-rest",
                 type="predictive", signature=signature, versions=(), gates={}, file="models/credit-scoring/model.yaml",
                 monitoring=monitoring)


def test_fairness_requests_are_scheduled_and_recognised_in_their_stored_form(
        cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.kube.objects += [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "credit-scoring-monitoring", "namespace": "mlops-test",
                      "labels": {"mlops.dev/monitoring-declaration": "true"}},
         "data": {"declaration.json": json.dumps(declaration(credit_model()))}},
        {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
         "metadata": {"name": "credit-scoring", "namespace": "mlops-test",
                      "labels": {"app.kubernetes.io/version": "2.0.0"}}},
    ]
    cluster.trustyai.models["credit-scoring"] = StoredModel(
        {f"applicant-{i}": "FLOAT" for i in range(3)}, {"approved": "INT64"}, tags={"training-2.0.0": 500})
    assert cluster.run() == 0
    spd = next(r for r in cluster.trustyai.schedules.values() if r["metricName"] == "SPD")
    assert {k: spd[k] for k in ("protectedAttribute", "outcomeName", "thresholdDelta", "batchSize")} == {
        "protectedAttribute": "gender", "outcomeName": "approved", "thresholdDelta": 0.1, "batchSize": 1000}
    assert cluster.trustyai.models["credit-scoring"].input_mapping == {
        "applicant-0": "income", "applicant-1": "age_band", "applicant-2": "gender"}
    assert report(capsys)["credit-scoring"]["created"] == [
        "credit-scoring-approxkstest", "credit-scoring-spd-gender-approved", "credit-scoring-dir-gender-approved"]
    # TrustyAI lists the group values typed ({"type": ..., "value": ...}); the next sync still sees a match
    assert spd["privilegedAttribute"] == {"type": "FLOAT", "value": 1.0}
    before = cluster.trustyai.writes()
    assert cluster.run() == 0
    assert cluster.trustyai.writes() == before


def test_the_contract_check_catches_a_misspelt_or_mistyped_field() -> None:
    assert body_problems("KSTestMetricRequest", {"modelId": "m", "referenceTag": "t", "thresholdDelta": "0.05",
                                                 "batchsize": 10}, "POST x") == [
        "POST x: KSTestMetricRequest has no field 'batchsize'",
        "POST x.thresholdDelta: '0.05' is not number",
    ]
    assert body_problems("GroupMetricRequest", {"modelId": "m"}, "POST y")[:2] == [
        "POST y: GroupMetricRequest needs 'protectedAttribute'", "POST y: GroupMetricRequest needs 'outcomeName'"]


# --- reference data: the served version's training sample, uploaded from S3 ---------------------


def reference_payload(rows: int = 3) -> dict[str, Any]:
    """What fraud_detection_training.reference_data writes next to a model (a few rows)."""
    return {"request": {"inputs": [{"name": "transaction_features", "shape": [rows, 5], "datatype": "FP32",
                                    "data": [[1.5 * r, 0.5, 1.1, 1.0, 0.0] for r in range(rows)]}]},
            "response": {"outputs": [{"name": "fraud_probability", "shape": [rows, 1], "datatype": "FP32",
                                      "data": [0.01 * r for r in range(rows)]}]}}


def test_the_reference_of_the_served_version_is_uploaded_then_drift_scheduled(
        cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    del cluster.trustyai.models["fraud-detection"]  # a new environment: TrustyAI has seen nothing yet
    key = "mlops-models/fraud-detection/1.1.0/trustyai-reference.json"  # the pinned storageUri of test
    cluster.s3.objects[key] = json.dumps(reference_payload()).encode()
    assert cluster.run() == 0
    [upload] = cluster.trustyai.uploads
    assert upload["model_name"] == "fraud-detection" and upload["data_tag"] == "training-1.1.0"
    stored = cluster.trustyai.models["fraud-detection"]
    # the uploaded rows create the same columns as logged inferences, which the name mapping renames
    assert set(stored.inputs) == set(FRAUD_INPUTS) and set(stored.outputs) == set(FRAUD_OUTPUTS)
    assert stored.tags == {"training-1.1.0": 3}
    assert {r["referenceTag"] for r in cluster.trustyai.schedules.values()} == {"training-1.1.0"}
    assert cluster.trustyai.writes()[:2] == ["POST /data/upload", "POST /info/names"]
    assert report(capsys)["fraud-detection"]["reference"] == "uploaded 3 rows tagged training-1.1.0"
    assert cluster.s3.requests == [f"/{key}"]
    assert cluster.run() == 0  # the next sync finds the reference in TrustyAI: no second upload
    assert len(cluster.trustyai.uploads) == 1 and cluster.s3.requests == [f"/{key}"]


def test_a_version_trained_without_a_reference_leaves_drift_waiting(cluster: Cluster,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    cluster.trustyai.models["fraud-detection"].tags = {}
    assert cluster.run() == 0
    assert cluster.trustyai.uploads == [] and cluster.trustyai.schedules == {}
    err = capsys.readouterr().err
    assert "no reference data at s3://mlops-models/fraud-detection/1.1.0/trustyai-reference.json" in err


def test_without_the_data_connection_drift_waits(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.trustyai.models["fraud-detection"].tags = {}
    assert cluster.run(AWS_ACCESS_KEY_ID="") == 0
    assert cluster.s3.requests == [] and cluster.trustyai.schedules == {}
    assert "no S3 credentials" in capsys.readouterr().err


def test_a_wrong_signature_is_refused_by_s3(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.trustyai.models["fraud-detection"].tags = {}
    assert cluster.run(AWS_SECRET_ACCESS_KEY="not-the-secret") == 1
    assert "S3 refused GET s3://mlops-models/fraud-detection/1.1.0/trustyai-reference.json: HTTP 403" in \
        capsys.readouterr().err
    assert cluster.trustyai.uploads == []
