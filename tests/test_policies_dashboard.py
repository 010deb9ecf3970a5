"""dashboard family: what the OpenShift AI 3.x dashboard needs to list projects, workbenches, connections, models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops.findings import Finding, ObjectRef, Severity
from mlops.policies.dashboard import RULES
from policy_helpers import check, make_context

PROJECT, WORKBENCH, CONNECTION, MODEL_SERVER = RULES
DASHBOARD = {"opendatahub.io/dashboard": "true"}
DISPLAY = {"openshift.io/display-name": "Shown"}
LABELS = "metadata.labels."
ANNOTATIONS = "metadata.annotations."


def obj(api_version: str, kind: str, name: str, namespace: str | None = "ml-dev", *,
        labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
        **fields: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels is not None:
        metadata["labels"] = labels
    if annotations is not None:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def namespace(labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return obj("v1", "Namespace", "ml-dev", None, labels=DASHBOARD if labels is None else labels,
               annotations=DISPLAY if annotations is None else annotations)


def notebook(**changes: str | None) -> dict[str, Any]:
    labels = {"app": "lab", "opendatahub.io/dashboard": "true", "opendatahub.io/odh-managed": "true"}
    annotations = {**DISPLAY, "notebooks.opendatahub.io/last-image-selection": "s2i-minimal-notebook:2025.2",
                   "notebooks.opendatahub.io/inject-auth": "true"}
    for key, value in changes.items():
        key = key.replace("__", "/").replace("_", "-")
        bucket = labels if key in labels or key == "app" else annotations
        if value is None:
            bucket.pop(key, None)
        else:
            bucket[key] = value
    return obj("kubeflow.org/v1", "Notebook", "lab", labels=labels, annotations=annotations,
               spec={"template": {"spec": {"containers": [{"name": "lab", "image": "lab"}]}}})


def isvc(labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
         connection: str | None = None) -> dict[str, Any]:
    notes = {**DISPLAY, "serving.kserve.io/deploymentMode": "RawDeployment"} if annotations is None else annotations
    if connection:
        notes = {**notes, "opendatahub.io/connections": connection}
    return obj("serving.kserve.io/v1beta1", "InferenceService", "fraud", labels=DASHBOARD if labels is None else labels,
               annotations=notes, spec={"predictor": {"model": {"modelFormat": {"name": "onnx"}, "runtime": "ovms"}}})


def runtime(labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    notes = {"opendatahub.io/apiProtocol": "REST", "opendatahub.io/template-display-name": "OpenVINO"} \
        if annotations is None else annotations
    return obj("serving.kserve.io/v1alpha1", "ServingRuntime", "ovms", labels=DASHBOARD if labels is None else labels,
               annotations=notes, spec={"containers": []})


def run(rule: Any, tmp_path: Path, objects: list[dict[str, Any]], env: str = "dev") -> list[Finding]:
    return check(rule, make_context(tmp_path, {env: objects}))


def one(findings: list[Finding], rule_id: str, env: str = "dev") -> Finding:
    assert len(findings) == 1, findings
    finding = findings[0]
    assert finding.rule == rule_id
    assert finding.environment == env
    assert finding.severity is (Severity.ERROR if env == "prod" else Severity.WARNING)
    return finding


# --- dashboard-project ---------------------------------------------------------------------------


def test_project_with_label_and_display_name_passes(tmp_path: Path) -> None:
    assert run(PROJECT, tmp_path, [namespace()]) == []


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_project_without_dashboard_label(tmp_path: Path, env: str) -> None:
    finding = one(run(PROJECT, tmp_path, [namespace(labels={})], env), "dashboard-project", env)
    assert finding.object == ObjectRef("Namespace", "ml-dev", None, "v1")
    assert finding.path == LABELS + "opendatahub.io/dashboard"
    assert "opendatahub.io/dashboard" in finding.message


def test_operator_and_platform_namespaces_are_no_projects(tmp_path: Path) -> None:
    """A namespace is judged as a project only when the repository makes it one (environment, workloads, label)."""
    operator = obj("v1", "Namespace", "redhat-ods-operator", None)
    gitops = obj("v1", "Namespace", "openshift-gitops", None, labels={"kubernetes.io/metadata.name": "x"})
    assert run(PROJECT, tmp_path, [operator, gitops]) == []


def test_a_namespace_with_workbenches_is_a_project(tmp_path: Path) -> None:
    lab = obj("v1", "Namespace", "team-lab", None)
    workbench = notebook()
    workbench["metadata"]["namespace"] = "team-lab"
    findings = run(PROJECT, tmp_path, [lab, workbench])
    assert [(f.object.name if f.object else None, f.path) for f in findings] == [
        ("team-lab", LABELS + "opendatahub.io/dashboard"), ("team-lab", ANNOTATIONS + "openshift.io/display-name")]


def test_project_with_wrong_label_value_and_no_display_name(tmp_path: Path) -> None:
    findings = run(PROJECT, tmp_path, [namespace(labels={"opendatahub.io/dashboard": "True"}, annotations={})])
    assert [f.path for f in findings] == [LABELS + "opendatahub.io/dashboard",
                                          ANNOTATIONS + "openshift.io/display-name"]
    assert "'True'" in findings[0].message


def test_project_rule_skips_other_targets(tmp_path: Path) -> None:
    context = make_context(tmp_path, {"platform": [namespace(labels={})]}, targets=(("platform", "platform"),))
    assert check(PROJECT, context) == []


# --- dashboard-workbench -------------------------------------------------------------------------


def test_workbench_like_the_dashboard_creates_passes(tmp_path: Path) -> None:
    assert run(WORKBENCH, tmp_path, [notebook()]) == []


def test_workbench_without_last_image_selection(tmp_path: Path) -> None:
    nb = notebook(**{"notebooks.opendatahub.io__last_image_selection": None})
    finding = one(run(WORKBENCH, tmp_path, [nb], "prod"), "dashboard-workbench", "prod")
    assert finding.object == ObjectRef("Notebook", "lab", "ml-dev", "kubeflow.org/v1")
    assert finding.path == ANNOTATIONS + "notebooks.opendatahub.io/last-image-selection"
    assert "notebooks.opendatahub.io/last-image-selection" in finding.message


def test_workbench_with_wrong_app_label(tmp_path: Path) -> None:
    finding = one(run(WORKBENCH, tmp_path, [notebook(app="jupyter")]), "dashboard-workbench")
    assert finding.path == LABELS + "app"
    assert "'jupyter'" in finding.message and '"lab"' in finding.message


def test_workbench_with_2x_oauth_annotation(tmp_path: Path) -> None:
    nb = notebook(**{"notebooks.opendatahub.io__inject_auth": None, "notebooks.opendatahub.io__inject_oauth": "true"})
    finding = one(run(WORKBENCH, tmp_path, [nb], "test"), "dashboard-workbench", "test")
    assert finding.path == ANNOTATIONS + "notebooks.opendatahub.io/inject-oauth"
    assert "2.x" in finding.message and "notebooks.opendatahub.io/inject-auth" in finding.message


def test_workbench_missing_labels(tmp_path: Path) -> None:
    nb = notebook(**{"opendatahub.io__dashboard": None, "opendatahub.io__odh_managed": None,
                     "notebooks.opendatahub.io__inject_auth": None})
    findings = run(WORKBENCH, tmp_path, [nb])
    assert [f.path for f in findings] == [LABELS + "opendatahub.io/dashboard", LABELS + "opendatahub.io/odh-managed",
                                          ANNOTATIONS + "notebooks.opendatahub.io/inject-auth"]


# --- dashboard-connection ------------------------------------------------------------------------

TYPED = {"opendatahub.io/connection-type-ref": "s3", "opendatahub.io/connection-type": "s3", **DISPLAY}
CONNECTION_LABELS = {**DASHBOARD, "opendatahub.io/managed": "true"}


def external_secret(template_metadata: dict[str, Any] | None, name: str = "s3-es", target: str = "s3",
                    **own: Any) -> dict[str, Any]:
    target_spec: dict[str, Any] = {"name": target}
    if template_metadata is not None:
        target_spec["template"] = {"metadata": template_metadata, "type": "Opaque"}
    return obj("external-secrets.io/v1", "ExternalSecret", name, **own,
               spec={"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"}, "target": target_spec})


@pytest.mark.parametrize("connection", [
    obj("v1", "Secret", "s3", labels=CONNECTION_LABELS, annotations=TYPED),
    obj("v1", "Secret", "s3", labels=CONNECTION_LABELS,
        annotations={"opendatahub.io/connection-type": "s3", **DISPLAY}),
    external_secret({"labels": CONNECTION_LABELS, "annotations": TYPED}),
    external_secret(None, labels=CONNECTION_LABELS, annotations=TYPED),  # no template: ESO copies its own metadata
    # A URI connection is not served through storage-config: neither connection-type nor the managed label.
    obj("v1", "Secret", "uri", labels=DASHBOARD,
        annotations={"opendatahub.io/connection-type-ref": "uri-v1", **DISPLAY}),
    obj("v1", "Secret", "unrelated"),  # an ordinary Secret is no connection
])
def test_connections_the_dashboard_lists_pass(tmp_path: Path, connection: dict[str, Any]) -> None:
    assert run(CONNECTION, tmp_path, [connection, isvc(connection="s3")]) == []


def test_s3_connection_with_the_type_reference_alone(tmp_path: Path) -> None:
    """The dashboard lists it, but offers it for model serving only with connection-type and the managed label."""
    secret = obj("v1", "Secret", "s3", labels=DASHBOARD, annotations={"opendatahub.io/connection-type-ref": "s3",
                                                                      **DISPLAY})
    findings = run(CONNECTION, tmp_path, [secret], "prod")
    assert [f.path for f in findings] == [ANNOTATIONS + "opendatahub.io/connection-type",
                                          LABELS + "opendatahub.io/managed"]
    assert all(f.rule == "dashboard-connection" and f.severity is Severity.ERROR for f in findings)


def test_typed_secret_without_dashboard_label(tmp_path: Path) -> None:
    secret = obj("v1", "Secret", "s3", labels={"opendatahub.io/managed": "true"}, annotations=TYPED)
    finding = one(run(CONNECTION, tmp_path, [secret], "prod"), "dashboard-connection", "prod")
    assert finding.object == ObjectRef("Secret", "s3", "ml-dev", "v1")
    assert finding.path == LABELS + "opendatahub.io/dashboard"
    assert "Secret s3" in finding.message


def test_external_secret_used_by_a_model_without_template_metadata(tmp_path: Path) -> None:
    es = external_secret({"labels": {"opendatahub.io/managed": "true"}}, name="mlops-s3-es", target="mlops-s3")
    findings = run(CONNECTION, tmp_path, [es, isvc(connection="mlops-s3")])
    assert [f.path for f in findings] == [
        "spec.target.template.metadata.labels.opendatahub.io/dashboard",
        "spec.target.template.metadata.annotations.opendatahub.io/connection-type-ref",
        "spec.target.template.metadata.annotations.openshift.io/display-name",
    ]
    assert all(f.object == ObjectRef("ExternalSecret", "mlops-s3-es", "ml-dev", "external-secrets.io/v1")
               for f in findings)
    assert "creates Secret mlops-s3" in findings[0].message and "InferenceService fraud" in findings[0].message


def test_pipeline_credentials_are_a_connection(tmp_path: Path) -> None:
    dspa = obj("datasciencepipelinesapplications.opendatahub.io/v1", "DataSciencePipelinesApplication", "dspa",
               spec={"objectStorage": {"externalStorage": {"s3CredentialsSecret": {"secretName": "s3"}}}})
    secret = obj("v1", "Secret", "s3", labels=DASHBOARD, annotations=DISPLAY)
    finding = one(run(CONNECTION, tmp_path, [dspa, secret]), "dashboard-connection")
    assert finding.path == ANNOTATIONS + "opendatahub.io/connection-type-ref"
    assert "DataSciencePipelinesApplication dspa" in finding.message
    assert "opendatahub.io/connection-type" in finding.message


def test_sealed_secret_template(tmp_path: Path) -> None:
    sealed = obj("bitnami.com/v1alpha1", "SealedSecret", "s3", annotations=TYPED,
                 spec={"template": {"metadata": {"annotations": TYPED, "labels": {"opendatahub.io/managed": "true"}}},
                       "encryptedData": {}})
    finding = one(run(CONNECTION, tmp_path, [sealed]), "dashboard-connection")
    assert finding.path == "spec.template.metadata.labels.opendatahub.io/dashboard"


# --- dashboard-model-server ----------------------------------------------------------------------


def test_model_server_passes(tmp_path: Path) -> None:
    runtime_with_display_name = runtime(annotations={"opendatahub.io/apiProtocol": "gRPC", **DISPLAY})
    assert run(MODEL_SERVER, tmp_path, [isvc(), runtime(), runtime_with_display_name]) == []


def test_isvc_without_deployment_mode(tmp_path: Path) -> None:
    finding = one(run(MODEL_SERVER, tmp_path, [isvc(annotations=DISPLAY)], "prod"), "dashboard-model-server", "prod")
    assert finding.object == ObjectRef("InferenceService", "fraud", "ml-dev", "serving.kserve.io/v1beta1")
    assert finding.path == ANNOTATIONS + "serving.kserve.io/deploymentMode"
    assert "serving.kserve.io/deploymentMode" in finding.message


def test_isvc_with_serverless_mode_and_no_label(tmp_path: Path) -> None:
    model = isvc(labels={}, annotations={**DISPLAY, "serving.kserve.io/deploymentMode": "Serverless"})
    findings = run(MODEL_SERVER, tmp_path, [model])
    assert [f.path for f in findings] == [LABELS + "opendatahub.io/dashboard",
                                          ANNOTATIONS + "serving.kserve.io/deploymentMode"]
    assert "'Serverless'" in findings[1].message and "RawDeployment" in findings[1].message


def test_runtime_without_protocol_and_display_name(tmp_path: Path) -> None:
    findings = run(MODEL_SERVER, tmp_path, [runtime(annotations={"opendatahub.io/apiProtocol": "grpc"})], "test")
    assert [f.path for f in findings] == [ANNOTATIONS + "opendatahub.io/apiProtocol",
                                          ANNOTATIONS + "opendatahub.io/template-display-name"]
    assert all(f.severity is Severity.WARNING and f.environment == "test" for f in findings)
    assert "'grpc'" in findings[0].message
    assert "openshift.io/display-name" in findings[1].message
    assert findings[0].object == ObjectRef("ServingRuntime", "ovms", "ml-dev", "serving.kserve.io/v1alpha1")


# --- waivers ---------------------------------------------------------------------------------------


def test_waiver_marks_the_finding_waived(tmp_path: Path) -> None:
    waived = namespace(labels={}, annotations={**DISPLAY, "waive.mlops.dev/dashboard-project": "not a DS project"})
    finding = one(run(PROJECT, tmp_path, [waived], "prod"), "dashboard-project", "prod")
    assert finding.waived == "not a DS project"
