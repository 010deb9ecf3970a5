"""The model-serving dashboard shows only series that some rule records, and every signal has its row.

A dashboard query naming a recorded series that no rule records shows an empty panel, and nothing
else catches the typo: the PromQL parses. Recorded names are collected from every rules file the
template deploys: base/monitoring, apps/fraud-scoring and the thresholds each model's
generated monitoring.yaml records.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from mlops.catalog import load_catalog
from mlops.config import load as load_config
from mlops.model_monitoring import DRIFT_THRESHOLD_SERIES, FAIRNESS_THRESHOLD_SERIES, rule_spec

ROOT = Path(__file__).resolve().parent.parent
#: `level:metric:operations` names (the Prometheus convention for recorded series)
_RECORDED = re.compile(r"\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b")


def recorded() -> set[str]:
    groups = []
    for path in ("base/monitoring/rules/model-alerts.rules.yaml", "apps/fraud-scoring/rules/fraud-scoring.rules.yaml"):
        groups += yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))["groups"]
    models, _ = load_catalog(ROOT, load_config(ROOT))
    for model in models.values():
        if model.monitoring is not None:
            groups += rule_spec(model)["groups"]
    # objectives a model's own base records (models/<model>/prometheusrule-slo.yaml) when it has one, and
    # the thresholds `mlops model monitoring` records for any declaration (fraud-detection declares no fairness)
    names = {"model:latency_p95_objective:seconds", "model:time_to_first_token_p95_objective:seconds",
             DRIFT_THRESHOLD_SERIES, FAIRNESS_THRESHOLD_SERIES}
    return names | {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}


def dashboard() -> dict:  # type: ignore[type-arg]
    source = yaml.safe_load((ROOT / "base/monitoring/grafanadashboard-model-serving.yaml").read_text(encoding="utf-8"))
    model: dict = json.loads(source["spec"]["json"])  # type: ignore[type-arg]
    return model


def test_every_recorded_series_on_the_dashboard_is_recorded() -> None:
    known = recorded()
    used = {name for panel in dashboard()["panels"] for target in panel.get("targets", [])
            for name in _RECORDED.findall(target["expr"])}
    assert used and not used - known, f"recorded by no rule: {sorted(used - known)}"


def test_every_signal_has_its_row() -> None:
    rows = {panel["title"] for panel in dashboard()["panels"] if panel["type"] == "row"}
    assert {"Traffic", "Capacity and versions", "Model quality (TrustyAI)",
            "Business: fraud-scoring (apps/fraud-scoring)", "LLM serving (vLLM)"} <= rows
    ids = [panel["id"] for panel in dashboard()["panels"]]
    assert len(ids) == len(set(ids))
