"""The model catalog: schema, semantic checks with file/line/path, typed values, pins."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from mlops import config as config_module
from mlops.catalog import (
    MetricThreshold,
    PinError,
    Signature,
    Tensor,
    catalog_schema,
    check_text,
    load_catalog,
    pinned_models,
    read_pin,
    write_pin_text,
)
from mlops.config import Config
from mlops.findings import Finding, Severity
from policy_helpers import make_config

FRAUD = "models/fraud-detection/model.yaml"
GRANITE = "models/granite-3-3-2b-instruct/model.yaml"
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture(scope="module")
def fraud_text(repo_root: Path) -> str:
    return (repo_root / FRAUD).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def granite_text(repo_root: Path) -> str:
    return (repo_root / GRANITE).read_text(encoding="utf-8")


def problems(text: str, cfg: Config, file: str = FRAUD) -> list[Finding]:
    model, findings = check_text(text, file, file.split("/")[1], cfg)
    assert (model is None) == bool(findings)
    return findings


# --- the template's own catalog ------------------------------------------------------------------


def test_template_catalog_is_valid_and_typed(repo_root: Path) -> None:
    models, findings = load_catalog(repo_root, config_module.load(repo_root))
    assert findings == []
    assert sorted(models) == ["fraud-detection", "granite-3-3-2b-instruct"]
    fraud = models["fraud-detection"]
    assert (fraud.format, fraud.runtime, fraud.type) == ("onnx", "ovms-rest", "predictive")
    assert fraud.file == FRAUD
    assert fraud.signature.inputs == (Tensor("transaction_features", "FP32", (-1, 5)),)
    assert fraud.newest_version().version == "1.2.0"
    entry = fraud.version("1.1.0")
    assert entry is not None
    assert entry.metrics["auc"] == 0.962
    assert set(entry.lineage) == {"commit", "pipelineRun", "dataset"}
    assert entry.signature_key(fraud) == fraud.signature
    prod = fraud.gates["prod"]
    assert [t.description for t in prod.metrics] == [">= 0.96", ">= 0.84", ">= 0.78", "<= 20"]
    assert prod.soak == timedelta(hours=72) and prod.soak_source == "pull-request"
    assert models["granite-3-3-2b-instruct"].gates["prod"].soak_source == "any"  # `soak: 168h`
    assert "example-org/payments-ml" in prod.reviewers
    assert fraud.gates["dev"].metrics == () and fraud.gates["dev"].soak is None
    assert models["granite-3-3-2b-instruct"].format == "vLLM"  # exactly the InferenceService's modelFormat


def test_schema_ships_in_the_package_and_is_draft_2020_12() -> None:
    schema = catalog_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


# --- schema and semantic findings ------------------------------------------------------------------

# (id, original, replacement, JSON path, words in the message)
BROKEN = [
    ("old-threshold-form", 'auc: ">= 0.95"', "auc: {min: 0.95}", "gates.test.metrics.auc", "threshold"),
    ("threshold-operator", 'recall: ">= 0.75"', 'recall: "=> 0.75"', "gates.test.metrics.recall", "threshold"),
    ("unknown-key", "format: onnx", "formt: onnx", "formt", "unknown key 'formt' (did you mean 'format'?)"),
    ("missing-key", "runtime: ovms-rest          # ServingRuntime in base/serving\n", "", "",
     "missing required key 'runtime'"),
    ("datatype", "datatype: FP32", "datatype: FLOAT32", "signature.inputs[0].datatype", "KServe v2"),
    ("shape", "shape: [-1, 5]", "shape: [-2, 5]", "signature.inputs[0].shape[0]", "-1 for any size"),
    ("type", "type: predictive", "type: batch", "type", "predictive or generative"),
    ("semver", "version: 1.1.0", "version: 1.1", "versions[1].version", "semantic version"),
    ("semver-string", "version: 1.1.0", "version: v1.1.0", "versions[1].version", "semantic version"),
    ("metric-number", "recall: 0.79", "recall: high", "versions[1].metrics.recall", "a number"),
    ("created", 'created: "2025-05-19"', 'created: "19.05.2025"', "versions[1].created", "ISO 8601"),
    ("created-real-date", 'created: "2025-05-19"', 'created: "2025-02-30"', "versions[1].created",
     "not a real date"),
    ("metric-name", 'auc: ">= 0.95"', '"AUC score": ">= 0.95"', "gates.test.metrics.AUC score", "metric name"),
    ("soak", "duration: 72h", "duration: 3 days", "gates.prod.soak", "duration"),
    ("soak-source", "source: pull-request", "source: merge-time", "gates.prod.soak", "or a mapping"),
    ("reviewer", "reviewers: [example-org/payments-ml]", "reviewers: ['@octocat']", "gates.test.reviewers[0]",
     "GitHub login"),
    ("email", "email: payments-ml@example.org", "email: payments-ml", "owners[0].email", "email address"),
    ("s3-uri", "uri: s3://mlops-models/fraud-detection/1.1.0/", "uri: https://example.org/model.onnx",
     "versions[1].uri", "s3://"),
    ("lineage-key", "pipelineRun: train-fraud-detection-20250518", "pipeline: train-fraud-detection-20250518",
     "versions[1].lineage.pipeline", "unknown key 'pipeline'"),
    ("commit", "commit: 9b3c7d1e5f2a4b6c8d0e1f3a5b7c9d2e4f6a8b0c", "commit: main", "versions[1].lineage.commit",
     "git commit"),
    # Semantic checks (the schema cannot say these).
    ("name-folder", "name: fraud-detection", "name: fraud", "name", "differs from its folder"),
    ("duplicate-version", "version: 1.1.0", "version: 1.0.0", "versions[1].version", "listed twice"),
    ("label-value", "version: 1.1.0", "version: 1.1.0+build.7", "versions[1].version", "label"),
    ("gate-environment", "  test:\n    metrics:", "  staging:\n    metrics:", "gates.staging",
     "'staging', which mlops.yaml does not define"),
    ("first-env-soak", "  dev: {}", "  dev: {soak: 1h}", "gates.dev.soak", "first environment"),
]


@pytest.mark.parametrize(("original", "broken", "path", "words"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_problem_is_a_finding_with_file_line_and_path(
    fraud_text: str, cfg: Config, original: str, broken: str, path: str, words: str
) -> None:
    assert original in fraud_text
    text = fraud_text.replace(original, broken, 1)
    findings = problems(text, cfg)
    assert [f.path or "" for f in findings] == [path], findings
    [finding] = findings
    assert finding.rule == "catalog-schema"
    assert finding.severity is Severity.ERROR
    assert finding.file == FRAUD
    assert words in finding.message
    assert finding.fix
    assert finding.line is not None
    if path:
        last_key = path.rsplit(".", 1)[-1].split("[")[0]
        assert last_key in text.splitlines()[finding.line - 1]


def test_oci_uri_without_digest(granite_text: str, cfg: Config) -> None:
    text = granite_text.replace("@sha256:e42c3ddf29e0b3193bdafcab01fe008af149ea566c08af0de290d1b0a24ca564", ":1.0")
    [finding] = problems(text, cfg, GRANITE)
    assert finding.path == "versions[0].uri"
    assert "pinned by digest" in finding.message
    assert "modelcar-granite-3.3-2b-instruct:1.0" in finding.message
    assert text.splitlines()[finding.line - 1].strip().startswith("uri: oci://") if finding.line else False


def test_digest_must_match_the_oci_uri(granite_text: str, cfg: Config) -> None:
    text = granite_text.replace('    created: "2025-05-02"', f'    digest: {DIGEST}\n    created: "2025-05-02"')
    [finding] = problems(text, cfg, GRANITE)
    assert finding.path == "versions[0].digest"
    assert "differs from the digest in uri" in finding.message


def test_malformed_yaml_is_a_finding_with_its_line(fraud_text: str, cfg: Config) -> None:
    lines = fraud_text.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("runtime:"))
    lines[index] = "runtime: [ovms-rest\n"
    [finding] = problems("".join(lines), cfg)
    assert finding.rule == "catalog-schema"
    assert finding.file == FRAUD
    assert "malformed YAML" in finding.message
    assert finding.line is not None and abs(finding.line - (index + 1)) <= 1


def test_duplicate_key_is_a_finding(fraud_text: str, cfg: Config) -> None:
    [finding] = problems(fraud_text.replace("type: predictive\n", "type: predictive\ntype: generative\n"), cfg)
    assert "defined again" in finding.message
    assert finding.line is not None


def test_not_one_mapping(cfg: Config) -> None:
    [finding] = problems("- name: fraud-detection\n", cfg)
    assert "one YAML mapping" in finding.message
    [finding] = problems("name: a\n---\nname: b\n", cfg)
    assert finding.line == 3


def test_unquoted_date_and_minimal_entry_are_accepted(cfg: Config) -> None:
    text = """\
name: tiny
description: A tiny model.
owners: [{name: Me, email: me@example.org}]
format: sklearn
runtime: kserve-sklearnserver
type: predictive
signature:
  inputs: [{name: x, datatype: FP64, shape: [-1, 3]}]
  outputs: [{name: y, datatype: INT64, shape: [-1]}]
versions:
  - version: 0.1.0
    uri: s3://bucket/tiny/0.1.0
    created: 2025-01-31
"""
    model, findings = check_text(text, "models/tiny/model.yaml", "tiny", cfg)
    assert findings == []
    assert model is not None
    assert model.versions[0].created == "2025-01-31"
    assert model.gates == {}


def test_one_broken_entry_leaves_the_others_loaded(tmp_path: Path, repo_root: Path, cfg: Config) -> None:
    shutil.copytree(repo_root / "models", tmp_path / "models")
    broken = tmp_path / GRANITE
    broken.write_text(broken.read_text(encoding="utf-8").replace("type: generative", "type: chat"), encoding="utf-8")
    models, findings = load_catalog(tmp_path, cfg)
    assert list(models) == ["fraud-detection"]
    assert [(f.file, f.path) for f in findings] == [(GRANITE, "type")]


# --- typed values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value", "holds", "description"), [
    (">= 0.95", 0.95, True, ">= 0.95"),
    (">= 0.95", 0.949, False, ">= 0.95"),
    ("> 0.95", 0.95, False, "> 0.95"),
    ("<= 50", 50, True, "<= 50"),
    ("< 50", 50, False, "< 50"),
    ("== 0.3", 0.1 + 0.2, True, "== 0.3"),
    (" >=1e-3 ", 0.001, True, ">= 0.001"),
])
def test_metric_threshold(text: str, value: float, holds: bool, description: str) -> None:
    threshold = MetricThreshold.parse("m", text)
    assert threshold.holds(value) is holds
    assert threshold.description == description


@pytest.mark.parametrize("text", ["0.95", ">=", "=> 1", ">= high", "!= 1"])
def test_bad_metric_threshold(text: str) -> None:
    with pytest.raises(ValueError, match="threshold"):
        MetricThreshold.parse("m", text)


def test_newest_version_uses_semver_precedence(fraud_text: str, cfg: Config) -> None:
    text = (fraud_text.replace("version: 1.0.0", "version: 1.10.0").replace("version: 1.1.0", "version: 2.0.0-rc.1")
            .replace("version: 1.2.0", "version: 1.9.0"))
    model, findings = check_text(text, FRAUD, "fraud-detection", cfg)
    assert findings == [] and model is not None
    assert model.newest_version().version == "2.0.0-rc.1"
    text = text.replace("version: 1.9.0", "version: 2.0.0")
    model, _ = check_text(text, FRAUD, "fraud-detection", cfg)
    assert model is not None and model.newest_version().version == "2.0.0"


def test_version_signature_overrides_the_models(fraud_text: str, cfg: Config) -> None:
    override = ("    signature:\n      inputs: [{name: transaction_features, datatype: FP32, shape: [-1, 6]}]\n"
                "      outputs: [{name: fraud_probability, datatype: FP32, shape: [-1, 1]}]\n")
    text = fraud_text.replace('    created: "2025-07-08"\n', '    created: "2025-07-08"\n' + override)
    model, findings = check_text(text, FRAUD, "fraud-detection", cfg)
    assert findings == [] and model is not None
    old, new = model.version("1.1.0"), model.version("1.2.0")
    assert old is not None and new is not None
    assert old.signature_key(model) == model.signature
    assert new.signature_key(model) != model.signature
    assert isinstance(new.signature_key(model), Signature)


# --- pins ----------------------------------------------------------------------------------------------


def test_template_pins_read_back_and_write_identically(repo_root: Path) -> None:
    cfg = config_module.load(repo_root)
    models, _ = load_catalog(repo_root, cfg)
    seen = 0
    for target in cfg.environments:
        for name in pinned_models(repo_root, target):
            pin = read_pin(repo_root, target, name)
            assert pin is not None
            entry = models[name].version(pin.version)
            assert entry is not None and entry.uri == pin.storage_uri
            lines = (repo_root / pin.file).read_text(encoding="utf-8").splitlines()
            assert "app.kubernetes.io/version" in lines[pin.version_line - 1]
            assert "storageUri" in lines[pin.uri_line - 1]
            assert write_pin_text(models[name], entry, target.name) == (repo_root / pin.file).read_text("utf-8")
            seen += 1
    assert seen == 6


PIN = """\
# Version of fraud-detection in dev; rewritten by `mlops promote`, do not edit by hand.
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: fraud-detection
  labels:
    app.kubernetes.io/version: "1.2.0"
spec:
  predictor:
    model:
      storageUri: s3://mlops-models/fraud-detection/1.2.0/
"""


def write_pin(root: Path, text: str, env: str = "dev", model: str = "fraud-detection") -> None:
    path = root / f"overlays/{env}/models/{model}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_read_pin(tmp_path: Path, cfg: Config) -> None:
    dev = cfg.environments[0]
    assert read_pin(tmp_path, dev, "fraud-detection") is None
    write_pin(tmp_path, PIN)
    pin = read_pin(tmp_path, dev, "fraud-detection")
    assert pin is not None
    assert (pin.version, pin.storage_uri, pin.file) == (
        "1.2.0", "s3://mlops-models/fraud-detection/1.2.0/", "overlays/dev/models/fraud-detection.yaml")
    assert (pin.line, pin.version_line, pin.uri_line) == (5, 7, 11)
    assert pinned_models(tmp_path, dev) == ["fraud-detection"]


@pytest.mark.parametrize(("original", "broken", "line", "words"), [
    ('"1.2.0"', "1.2", 7, "quoted version"),
    ("  name: fraud-detection", "  name: fraud", 5, "metadata.name"),
    ("    model:\n", "    minReplicas: 2\n    model:\n", 10, "spec.predictor.minReplicas"),
    ("  labels:\n", "  labels:\n    team: payments\n", 7, "metadata.labels.team"),
    ("kind: InferenceService", "kind: Deployment", 3, "kind"),
    ("      storageUri: s3://mlops-models/fraud-detection/1.2.0/\n", "      storageUri: [\n", 12, "malformed YAML"),
])
def test_malformed_pin(tmp_path: Path, cfg: Config, original: str, broken: str, line: int, words: str) -> None:
    write_pin(tmp_path, PIN.replace(original, broken))
    with pytest.raises(PinError) as caught:
        read_pin(tmp_path, cfg.environments[0], "fraud-detection")
    assert caught.value.file == "overlays/dev/models/fraud-detection.yaml"
    assert caught.value.line == line
    assert words in str(caught.value)


def test_pin_quotes_a_uri_only_when_needed(repo_root: Path, cfg: Config) -> None:
    models, _ = load_catalog(repo_root, config_module.load(repo_root))
    model = models["granite-3-3-2b-instruct"]
    text = write_pin_text(model, model.versions[0], "test")
    assert text.splitlines()[0] == ("# Version of granite-3-3-2b-instruct in test; rewritten by `mlops promote`, "
                                    "do not edit by hand.")
    assert f"      storageUri: {model.versions[0].uri}\n" in text
