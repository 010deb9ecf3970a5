"""trustyai family: TrustyAI keeps inference data in a database whose credentials exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops.policies.trustyai import RULES
from policy_helpers import check, make_context
from template_defects import line_of, names, only_error, reintroduce, template, validate

(STORAGE,) = RULES
TRUSTYAI = "base/monitoring/trustyaiservice.yaml"


# --- trustyai-storage -----------------------------------------------------------------------------


def test_template_trustyai_on_a_volume(tmp_path: Path) -> None:
    repo = template(tmp_path)
    line = reintroduce(repo, TRUSTYAI, "    format: DATABASE\n    databaseConfigurations: trustyai-db-credentials\n",
                       "    format: PVC\n    folder: /inputs\n    size: 5Gi\n")
    code, findings = validate(repo, "prod")
    finding = only_error(findings, "trustyai-storage")
    assert code == 1 and names(finding) == "TrustyAIService/mlops-prod/trustyai-service"
    assert (finding["file"], finding["line"]) == (TRUSTYAI, line)


def test_template_trustyai_without_its_credentials(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, "base/monitoring/kustomization.yaml", "  - trustyai-db-credentials.yaml\n", "")
    code, findings = validate(repo, "dev")
    finding = only_error(findings, "trustyai-storage")
    assert code == 1 and finding["file"] == TRUSTYAI
    assert finding["line"] == line_of(repo, TRUSTYAI, "    databaseConfigurations:")
    assert "'trustyai-db-credentials'" in finding["message"]


def trustyai(**storage: Any) -> dict[str, Any]:
    return {"apiVersion": "trustyai.opendatahub.io/v1", "kind": "TrustyAIService",
            "metadata": {"name": "trustyai-service", "namespace": "ml-dev"},
            "spec": {"storage": storage, "metrics": {"schedule": "5s"}}}


KEYS = {key: "x" for key in ("databaseKind", "databaseUsername", "databasePassword", "databaseService",
                             "databasePort", "databaseName")}


def credentials(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": "ml-dev"},
            "spec": {"target": {"name": name, "template": {"data": data}}}}


@pytest.mark.parametrize("objects", [
    [trustyai(format="DATABASE", databaseConfigurations="db"), credentials("db", KEYS)],
    [trustyai(format="DATABASE"), credentials("trustyai-service-db-credentials", KEYS)],  # the operator's default
    [trustyai(format="DATABASE", databaseConfigurations="db"),  # keys from the vault entry: not known here
     {**credentials("db", {}), "spec": {"target": {"name": "db"}, "dataFrom": [{"extract": {"key": "k"}}]}}],
])
def test_database_storage_with_credentials(tmp_path: Path, objects: list[dict[str, Any]]) -> None:
    assert check(STORAGE, make_context(tmp_path, {"dev": objects})) == []


def test_credentials_without_every_key(tmp_path: Path) -> None:
    partial = {k: v for k, v in KEYS.items() if k != "databasePort"}
    objects = [trustyai(format="DATABASE", databaseConfigurations="db"), credentials("db", partial)]
    (finding,) = check(STORAGE, make_context(tmp_path, {"dev": objects}))
    assert finding.object.kind == "ExternalSecret" and "databasePort" in finding.message
