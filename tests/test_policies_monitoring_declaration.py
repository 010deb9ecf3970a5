"""monitoring-declaration and monitoring-delivered; `mlops model monitoring`, which writes what they check."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mlops.catalog import load_catalog
from mlops.cli import main
from mlops.findings import Finding, Severity
from mlops.model_monitoring import DRIFT_THRESHOLD_SERIES as DRIFT_SERIES
from mlops.model_monitoring import FAIRNESS_THRESHOLD_SERIES as FAIRNESS_SERIES
from mlops.model_monitoring import file_text
from mlops.policies.monitoring_declaration import RULES
from policy_helpers import check, make_config, make_context

DECLARATION, DELIVERED = RULES
JOIN_ORDER = ["metricName", "subcategory", "protected", "outcome"]
FRAUD = "models/fraud-detection/model.yaml"
MONITORING_BLOCK = re.compile(r"^monitoring:\n(?:(?:  .*|#.*|)\n)*", re.MULTILINE)
VALID = """\
monitoring:
  columns:
    transaction_features: [home, last, ratio, chip, online]
    fraud_probability: [fraud_probability]
  drift:
    - metric: meanshift
      features: [home, ratio]
      threshold: 0.05
"""


@pytest.fixture
def repo(tmp_path: Path, repo_root: Path) -> Path:
    shutil.copytree(repo_root / "models", tmp_path / "models")
    shutil.copy(repo_root / "mlops.yaml", tmp_path / "mlops.yaml")
    for folder in ("platform", "base"):
        shutil.copytree(repo_root / folder, tmp_path / folder)
    for env in ("dev", "test", "prod"):
        shutil.copytree(repo_root / "overlays" / env, tmp_path / "overlays" / env)
    return tmp_path


def declare(repo: Path, block: str, model: str = "fraud-detection") -> None:
    path = repo / "models" / model / "model.yaml"
    text = path.read_text(encoding="utf-8")
    text = MONITORING_BLOCK.sub("", text) if MONITORING_BLOCK.search(text) else text
    path.write_text(text.rstrip("\n") + "\n" + block, encoding="utf-8")


def declaration_findings(repo: Path) -> list[Finding]:
    return check(DECLARATION, make_context(repo, {"dev": []}))


# --- monitoring-declaration ---------------------------------------------------------------------


def test_the_template_declaration_is_sound(repo_root: Path) -> None:
    assert declaration_findings(repo_root) == []


def test_a_valid_declaration_passes_and_is_typed(repo: Path) -> None:
    declare(repo, VALID)
    assert declaration_findings(repo) == []
    models, findings = load_catalog(repo, make_config(repo))
    assert findings == []
    monitoring = models["fraud-detection"].monitoring
    assert monitoring is not None and monitoring.batch_size == 5000
    assert monitoring.drift[0].features == ("home", "ratio")
    assert monitoring.columns["transaction_features"][4] == "online"


def test_a_drift_feature_that_is_not_an_input_is_an_error_at_its_line(repo: Path) -> None:
    declare(repo, VALID.replace("[home, ratio]", "[home, fraud_probability]"))
    [finding] = declaration_findings(repo)
    assert finding.rule == "monitoring-declaration" and finding.severity is Severity.ERROR
    assert finding.file == FRAUD and finding.path == "monitoring.drift[0].features[1]"
    assert "drift feature 'fraud_probability' is not an input column of fraud-detection" in finding.message
    lines = (repo / FRAUD).read_text(encoding="utf-8").splitlines()
    assert finding.line is not None and "features: [home, fraud_probability]" in lines[finding.line - 1]


def test_without_columns_the_features_are_trustyai_s_own_names(repo: Path) -> None:
    declare(repo, "monitoring:\n  drift:\n    - metric: kstest\n      features: [transaction_features-2]\n"
                  "      threshold: 0.05\n")
    assert declaration_findings(repo) == []
    declare(repo, "monitoring:\n  drift:\n    - metric: kstest\n      features: [distance_from_home]\n"
                  "      threshold: 0.05\n")
    [finding] = declaration_findings(repo)
    assert "(inputs: transaction_features-0, transaction_features-1" in finding.message


@pytest.mark.parametrize(("block", "path", "message"), [
    (VALID.replace("[home, last, ratio, chip, online]", "[home, last, ratio]"),
     "monitoring.columns.transaction_features", "transaction_features has 5 column(s) (shape [-1, 5]), but columns "
                                                "names 3"),
    (VALID.replace("transaction_features:", "features:"), "monitoring.columns.features",
     "columns names tensor 'features', which is neither an input nor an output"),
    (VALID.replace("[home, last, ratio, chip, online]", "[home, last, ratio, chip, fraud_probability]"),
     "monitoring.columns", "column name 'fraud_probability' is used twice"),
    (VALID + "    - metric: meanshift\n      features: [chip]\n      threshold: 0.01\n", "monitoring.drift[1].metric",
     "drift metric meanshift is declared twice"),
])
def test_declaration_problems(repo: Path, block: str, path: str, message: str) -> None:
    declare(repo, block)
    found = declaration_findings(repo)
    assert [(f.path, message in f.message) for f in found] == [(path, True)], [f.message for f in found]


FAIRNESS = """\
  fairness:
    - metric: spd
      protected: online
      privileged: 0
      unprivileged: 1
      outcome: fraud_probability
      favourable: 0
      threshold: 0.1
"""


def test_fairness_on_a_probability_is_refused(repo: Path) -> None:
    declare(repo, VALID + FAIRNESS)
    [finding] = declaration_findings(repo)
    assert finding.path == "monitoring.fairness[0].outcome"
    assert "TrustyAI counts the rows whose outcome equals favourable" in finding.message
    assert finding.fix == "declare fairness on a label output (BOOL, an integer or BYTES)"


def test_fairness_values_must_fit_their_columns(repo: Path) -> None:
    signature = (repo / FRAUD).read_text(encoding="utf-8").replace(
        "    - name: fraud_probability\n      datatype: FP32\n      shape: [-1, 1]",
        "    - name: fraud_probability\n      datatype: BOOL\n      shape: [-1, 1]")
    (repo / FRAUD).write_text(signature, encoding="utf-8")
    declare(repo, VALID + FAIRNESS.replace("privileged: 0", "privileged: yes-please"))
    found = {f.path: f.message for f in declaration_findings(repo)}
    assert set(found) == {"monitoring.fairness[0].privileged", "monitoring.fairness[0].favourable"}
    assert found["monitoring.fairness[0].favourable"] == (
        "models/fraud-detection/model.yaml: favourable 0 is not a BOOL value of fraud_probability")
    declare(repo, VALID + FAIRNESS.replace("favourable: 0", "favourable: false"))
    assert declaration_findings(repo) == []


def test_a_generative_model_cannot_declare_trustyai_monitoring(repo: Path) -> None:
    declare(repo, VALID.replace("transaction_features", "messages"), model="granite-3-3-2b-instruct")
    [finding] = declaration_findings(repo)
    assert finding.path == "monitoring" and "is a generative model" in finding.message


def test_an_unknown_metric_is_a_schema_error(repo: Path) -> None:
    declare(repo, VALID.replace("meanshift", "fouriermmd"))
    models, findings = load_catalog(repo, make_config(repo))
    assert "fraud-detection" not in models
    assert [f.path for f in findings] == ["monitoring.drift[0].metric"]
    assert "meanshift, kstest or approxkstest" in findings[0].message


# --- monitoring-delivered -----------------------------------------------------------------------


def environment(repo: Path, *, generated: str | None = None, hook: bool = True) -> list[dict[str, Any]]:
    """Rendered objects of one environment: fraud-detection, its generated file, the hook Job."""
    models, _ = load_catalog(repo, make_config(repo))
    text = generated if generated is not None else file_text(models["fraud-detection"])
    objects: list[dict[str, Any]] = [d for d in yaml.safe_load_all(text) if d]
    objects.append({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                    "metadata": {"name": "fraud-detection", "namespace": "ml-test"}})
    if hook:
        objects.append({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "trustyai-metrics"}})
    return objects


def delivered(repo: Path, objects: list[dict[str, Any]]) -> list[Finding]:
    return check(DELIVERED, make_context(repo, {"test": objects}))


def test_the_generated_file_and_the_hook_are_what_an_environment_needs(repo: Path) -> None:
    assert delivered(repo, environment(repo)) == []


def test_a_stale_threshold_is_found(repo: Path) -> None:
    stale = environment(repo)
    rule = next(o for o in stale if o["kind"] == "PrometheusRule")
    rule["spec"]["groups"][0]["rules"][0]["expr"] = "vector(0.2)"
    [finding] = delivered(repo, stale)
    assert "renders PrometheusRule fraud-detection-monitoring with thresholds that differ" in finding.message
    assert finding.fix == ("run `mlops model monitoring fraud-detection` and commit "
                           "models/fraud-detection/monitoring.yaml")


def test_a_changed_declaration_makes_the_rendered_one_stale(repo: Path) -> None:
    objects = environment(repo)
    declare(repo, VALID)
    messages = [f.message for f in delivered(repo, objects)]
    assert messages == ["test deploys fraud-detection, which declares monitoring in models/fraud-detection/model.yaml, "
                        "but renders ConfigMap fraud-detection-monitoring with a declaration that differs from "
                        "models/fraud-detection/model.yaml"]


def test_a_declaration_that_is_not_rendered_is_found(repo: Path) -> None:
    objects = [o for o in environment(repo) if o["kind"] not in ("ConfigMap", "PrometheusRule")]
    [finding] = delivered(repo, objects)
    assert "renders no ConfigMap fraud-detection-monitoring and PrometheusRule fraud-detection-monitoring" in \
        finding.message
    assert finding.fix is not None
    assert "list monitoring.yaml under resources of models/fraud-detection/kustomization.yaml" in finding.fix


def test_without_the_hook_nothing_reaches_trustyai(repo: Path) -> None:
    [finding] = delivered(repo, environment(repo, hook=False))
    assert "no Job trustyai-metrics" in finding.message
    assert finding.fix == "add ../../base/model-monitoring to the resources of overlays/test"


def test_a_declaration_left_behind_is_found(repo: Path) -> None:
    objects = environment(repo)
    path = repo / FRAUD
    path.write_text(MONITORING_BLOCK.sub("", path.read_text(encoding="utf-8")), encoding="utf-8")
    [finding] = delivered(repo, objects)
    assert "declares no monitoring any more" in finding.message


def test_a_declaration_without_its_label_is_invisible_to_the_hook(repo: Path) -> None:
    objects = environment(repo)
    config_map = next(o for o in objects if o["kind"] == "ConfigMap")
    del config_map["metadata"]["labels"]["mlops.dev/monitoring-declaration"]
    [finding] = delivered(repo, objects)
    assert "without the label mlops.dev/monitoring-declaration: true" in finding.message


# --- mlops model monitoring ---------------------------------------------------------------------


def run(repo: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["model", "monitoring", *args, "--repo", str(repo)])


def test_the_committed_file_is_current(repo_root: Path) -> None:
    result = run(repo_root, "--check")
    assert result.exit_code == 0, result.output
    assert "current  models/fraud-detection/monitoring.yaml" in result.output


def test_the_command_writes_what_validate_expects_and_check_finds_it_stale(repo: Path) -> None:
    declare(repo, VALID)
    result = run(repo, "--check")
    assert result.exit_code == 1 and "stale    models/fraud-detection/monitoring.yaml" in result.output
    result = run(repo, "fraud-detection")
    assert result.exit_code == 0 and "written  models/fraud-detection/monitoring.yaml" in result.output
    written = (repo / "models/fraud-detection/monitoring.yaml").read_text(encoding="utf-8")
    assert delivered(repo, environment(repo, generated=written)) == []
    config_map = next(d for d in yaml.safe_load_all(written) if d and d["kind"] == "ConfigMap")
    declared = json.loads(config_map["data"]["declaration.json"])
    assert declared["nameMapping"]["inputMapping"] == {f"transaction_features-{i}": name for i, name in
                                                       enumerate(["home", "last", "ratio", "chip", "online"])}
    assert run(repo, "--check").exit_code == 0


def test_a_declaration_with_problems_is_not_written(repo: Path) -> None:
    before = (repo / "models/fraud-detection/monitoring.yaml").read_text(encoding="utf-8")
    declare(repo, VALID.replace("[home, ratio]", "[nowhere]"))
    result = run(repo)
    assert result.exit_code == 1 and "refused  models/fraud-detection/monitoring.yaml" in result.output
    assert (repo / "models/fraud-detection/monitoring.yaml").read_text(encoding="utf-8") == before


def test_a_file_without_a_declaration_is_reported_not_deleted(repo: Path) -> None:
    path = repo / FRAUD
    path.write_text(MONITORING_BLOCK.sub("", path.read_text(encoding="utf-8")), encoding="utf-8")
    result = run(repo, "--check")
    assert result.exit_code == 1 and "orphan" in result.output
    assert (repo / "models/fraud-detection/monitoring.yaml").is_file()


def test_an_unknown_model_is_bad_usage(repo: Path) -> None:
    result = run(repo, "no-such-model")
    assert result.exit_code == 2 and "no catalog entry models/no-such-model/model.yaml" in result.output


# --- the generated thresholds are what the alerts and the dashboard join on ---------------------


def test_the_quality_alerts_join_the_generated_thresholds_on_their_labels(repo_root: Path) -> None:
    rules = yaml.safe_load((repo_root / "base/monitoring/rules/model-alerts.rules.yaml").read_text(encoding="utf-8"))
    alerts = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    models, _ = load_catalog(repo_root, make_config(repo_root))
    generated = next(d for d in yaml.safe_load_all(file_text(models["fraud-detection"]))
                     if d["kind"] == "PrometheusRule")
    for rule in generated["spec"]["groups"][0]["rules"]:
        labels = sorted(set(rule["labels"]) - {"model"})
        alert = "ModelFeatureDrift" if rule["record"] == DRIFT_SERIES else "ModelFairnessOutOfBounds"
        assert rule["record"] in alerts[alert]
        assert f"on (namespace, model, {', '.join(sorted(labels, key=JOIN_ORDER.index))})" in alerts[alert]
    dashboard = (repo_root / "base/monitoring/grafanadashboard-model-serving.yaml").read_text(encoding="utf-8")
    assert DRIFT_SERIES in dashboard and FAIRNESS_SERIES in dashboard
