"""connections family: the S3 connection a model is served from carries what odh-model-controller reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops.findings import Severity
from mlops.policies.connections import RULES
from policy_helpers import check, make_context
from template_defects import line_of, names, only_error, reintroduce, template, validate

(STORAGE_TYPE,) = RULES
EXTERNAL_SECRET = "base/workbench/data-connection/externalsecret.yaml"
COMPLETE = {"opendatahub.io/connection-type-ref": "s3", "opendatahub.io/connection-type": "s3",
            "opendatahub.io/connection-type-protocol": "s3", "openshift.io/display-name": "S3"}
LABELS = {"opendatahub.io/dashboard": "true", "opendatahub.io/managed": "true"}


def test_template_connection_with_the_type_reference_alone(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, EXTERNAL_SECRET, "opendatahub.io/connection-type: s3\n", "opendatahub.io/display-order: '1'\n")
    code, findings = validate(repo, "dev")
    assert code == 1
    finding = only_error(findings, "connection-storage-type")
    assert names(finding) == "ExternalSecret/mlops-dev/mlops-s3" and finding["file"] == EXTERNAL_SECRET
    assert finding["line"] == line_of(repo, EXTERNAL_SECRET, "        annotations:\n")
    assert finding["path"] == "spec.target.template.metadata.annotations.opendatahub.io/connection-type"
    assert "predictor pods are never created" in finding["message"]


def test_template_connection_without_the_protocol(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, EXTERNAL_SECRET, "          opendatahub.io/connection-type-protocol: s3\n", "")
    _code, findings = validate(repo, "prod")
    finding = only_error(findings, "connection-storage-type")
    assert finding["environment"] == "prod" and "deprecated opendatahub.io/connection-type-ref" in finding["message"]


def secret(name: str = "s3", labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
           **data: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "ml-dev", "labels": LABELS if labels is None else labels,
                         "annotations": COMPLETE if annotations is None else annotations}, **data}


def isvc(connection: str | None = "s3", key: str | None = None, uri: str = "s3://models/m/1/") -> dict[str, Any]:
    annotations = {"opendatahub.io/connections": connection} if connection else {}
    model: dict[str, Any] = {"modelFormat": {"name": "onnx"}, "storageUri": uri}
    if key:
        model["storage"] = {"key": key}
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "fraud", "namespace": "ml-dev", "annotations": annotations},
            "spec": {"predictor": {"model": model}}}


def run(tmp_path: Path, objects: list[dict[str, Any]]) -> list[str | None]:
    return [f.path for f in check(STORAGE_TYPE, make_context(tmp_path, {"dev": objects}))]


@pytest.mark.parametrize("objects", [
    [secret(), isvc()],
    [secret(), isvc(connection=None, key="s3")],  # storage.key names it directly
    # URI and OCI connections do not go through storage-config
    [secret(annotations={"opendatahub.io/connection-type-protocol": "uri"}, labels={}), isvc(uri="https://x/m")],
    [secret(annotations={"opendatahub.io/connection-type-ref": "oci-v1"}, labels={}), isvc(uri="oci://q/m@sha256:1")],
    [secret(labels={}, annotations={}), {**isvc(connection=None)}],  # a Secret no model uses
    [isvc()],  # a missing connection is isvc-storage-exists' finding
])
def test_connections_that_serve(tmp_path: Path, objects: list[dict[str, Any]]) -> None:
    assert run(tmp_path, objects) == []


def test_reference_alone_serves_nothing(tmp_path: Path) -> None:
    only_ref = secret(labels={"opendatahub.io/dashboard": "true"},
                      annotations={"opendatahub.io/connection-type-ref": "s3"})
    findings = check(STORAGE_TYPE, make_context(tmp_path, {"dev": [only_ref, isvc()]}))
    assert [f.path for f in findings] == [
        "metadata.annotations.opendatahub.io/connection-type",
        "metadata.annotations.opendatahub.io/connection-type-protocol",
        "metadata.labels.opendatahub.io/managed",
    ]
    assert all(f.severity is Severity.ERROR for f in findings)  # in dev too: the model never starts


def test_untyped_connection_of_an_s3_model(tmp_path: Path) -> None:
    untyped = secret(annotations={"openshift.io/display-name": "S3"})
    assert run(tmp_path, [untyped, isvc()]) == [
        "metadata.annotations.opendatahub.io/connection-type",
        "metadata.annotations.opendatahub.io/connection-type-protocol",
    ]


def test_wrong_type_value(tmp_path: Path) -> None:
    wrong = secret(annotations={**COMPLETE, "opendatahub.io/connection-type": "S3"})
    (finding,) = check(STORAGE_TYPE, make_context(tmp_path, {"dev": [wrong, isvc()]}))
    assert "has opendatahub.io/connection-type: 'S3'" in finding.message


def test_external_secret_template_metadata_counts(tmp_path: Path) -> None:
    es = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
          "metadata": {"name": "s3-es", "namespace": "ml-dev"},
          "spec": {"target": {"name": "s3", "template": {"metadata": {"labels": LABELS, "annotations": COMPLETE}}}}}
    assert run(tmp_path, [es, isvc()]) == []
    del es["spec"]["target"]["template"]["metadata"]["labels"]["opendatahub.io/managed"]
    assert run(tmp_path, [es, isvc()]) == ["spec.target.template.metadata.labels.opendatahub.io/managed"]
