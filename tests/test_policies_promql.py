"""promql family: rule and panel expressions parse; alerts carry severity and summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops.findings import Finding, ObjectRef, Severity
from mlops.policies.promql import RULES, parse, substitute_variables
from policy_helpers import check, make_context

SYNTAX, METADATA = RULES


def prometheus_rule(rules: list[dict[str, Any]], name: str = "model-alerts",
                    annotations: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "ml-prod"}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": metadata,
            "spec": {"groups": [{"name": "models", "rules": rules}]}}


def alert(name: str, expr: Any, severity: str | None = "warning", summary: str | None = "it broke") -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr, "for": "5m"}
    if severity is not None:
        rule["labels"] = {"severity": severity}
    if summary is not None:
        rule["annotations"] = {"summary": summary}
    return rule


def dashboard(panels: list[dict[str, Any]], name: str = "models") -> dict[str, Any]:
    model = {"uid": name, "title": name, "panels": panels,
             "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]}}
    return {"apiVersion": "grafana.integreatly.org/v1beta1", "kind": "GrafanaDashboard",
            "metadata": {"name": name, "namespace": "ml-prod"},
            "spec": {"instanceSelector": {"matchLabels": {"dashboards": "grafana"}}, "json": json.dumps(model)}}


def panel(panel_id: int, *exprs: str, title: str = "Requests", ds_type: str = "prometheus") -> dict[str, Any]:
    return {"id": panel_id, "title": title, "type": "timeseries",
            "datasource": {"type": ds_type, "uid": "${datasource}"},
            "targets": [{"refId": chr(65 + i), "expr": expr} for i, expr in enumerate(exprs)]}


def run(rule: Any, tmp_path: Path, *objects: dict[str, Any], env: str = "prod") -> list[Finding]:
    return check(rule, make_context(tmp_path, {env: list(objects)}))


GOOD = 'sum by (model_name) (rate(kserve_inference_request_count{namespace="ml-prod"}[5m])) > 0'


# --- promql-syntax --------------------------------------------------------------------------


def test_invalid_rule_expression_is_an_error_naming_alert_and_path(tmp_path: Path) -> None:
    rule = prometheus_rule([alert("ModelUp", GOOD), alert("ModelErrors", "sum(rate(errors_total[5m])")])
    [finding] = run(SYNTAX, tmp_path, rule)
    assert finding.rule == "promql-syntax"
    assert finding.severity is Severity.ERROR
    assert finding.object == ObjectRef("PrometheusRule", "model-alerts", "ml-prod", "monitoring.coreos.com/v1")
    assert finding.environment == "prod"
    assert finding.path == "spec.groups[0].rules[1].expr"
    assert "ModelErrors" in finding.message and "parenthesis" in finding.message


def test_invalid_recording_rule_is_reported_too(tmp_path: Path) -> None:
    rule = prometheus_rule([{"record": "model:requests:rate5m", "expr": "rate(x{a=}[5m])"}])
    [finding] = run(SYNTAX, tmp_path, rule, env="dev")
    assert "recording rule 'model:requests:rate5m'" in finding.message
    assert finding.environment == "dev"


def test_valid_rules_pass(tmp_path: Path) -> None:
    rule = prometheus_rule([
        alert("ModelUp", GOOD),
        {"record": "model:latency:p95", "expr": "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))"},
        alert("Numeric", 1),  # YAML `expr: 1` is a valid constant expression
    ])
    assert run(SYNTAX, tmp_path, rule) == []


GRAFANA_QUERIES = [
    'sum(rate(kserve_inference_request_count{namespace="$namespace", model_name=~"$model"}[$__rate_interval]))',
    'sum(rate(x{model_name=~"${model:regex}"}[$__interval]))',
    'increase(x{pod=~"[[model]]-predictor-.*"}[$__range])',
    'topk($top, sum by (model_name) (rate(x[5m])))',
    "sum by ($group) (up)",
    "avg_over_time(x[1h:$__interval] offset $__range)",
    "sum(increase(x[$__range])) / $__range_s",
]


@pytest.mark.parametrize("expr", GRAFANA_QUERIES)
def test_grafana_variables_are_substituted_before_parsing(tmp_path: Path, expr: str) -> None:
    assert run(SYNTAX, tmp_path, dashboard([panel(1, expr)])) == []


def test_invalid_panel_query_in_nested_row(tmp_path: Path) -> None:
    row = {"id": 10, "type": "row", "title": "Latency", "collapsed": True,
           "panels": [panel(11, GOOD), panel(12, "rate(x[$__rate_interval]", title="p95 latency")]}
    [finding] = run(SYNTAX, tmp_path, dashboard([panel(1, GOOD), row]))
    assert finding.rule == "promql-syntax"
    assert finding.object is not None and finding.object.kind == "GrafanaDashboard"
    assert finding.path == "spec.json"
    assert "'p95 latency'" in finding.message
    assert "panels[1].panels[1].targets[0].expr" in finding.message


def test_non_prometheus_panels_are_skipped(tmp_path: Path) -> None:
    logs = panel(1, '{namespace="ml-prod"} |= "error"', ds_type="loki")
    assert run(SYNTAX, tmp_path, dashboard([logs])) == []


def test_substitution_keeps_strings_ranges_and_numbers_apart() -> None:
    assert substitute_variables('x{a="$v"}[$__rate_interval]') == 'x{a="grafana_var"}[5m]'
    assert substitute_variables("x / $__interval_ms") == "x / 60"
    assert substitute_variables("topk($n, x)", "1") == "topk(1, x)"
    assert parse("up{", grafana=True)[1]


# --- alert-severity-summary -----------------------------------------------------------------


def test_alert_without_severity_is_an_error(tmp_path: Path) -> None:
    rule = prometheus_rule([alert("ModelUp", GOOD), alert("ModelDown", GOOD, severity=None)])
    [finding] = run(METADATA, tmp_path, rule)
    assert finding.rule == "alert-severity-summary"
    assert finding.severity is Severity.ERROR
    assert finding.object is not None and finding.object.name == "model-alerts"
    assert finding.environment == "prod"
    assert finding.path == "spec.groups[0].rules[1].labels"
    assert "ModelDown" in finding.message and "severity" in finding.message


def test_alert_without_summary_is_an_error(tmp_path: Path) -> None:
    [finding] = run(METADATA, tmp_path, prometheus_rule([alert("ModelSlow", GOOD, summary="  ")]))
    assert finding.path == "spec.groups[0].rules[0].annotations"
    assert "ModelSlow" in finding.message and "summary" in finding.message


def test_complete_alerts_and_recording_rules_pass(tmp_path: Path) -> None:
    rule = prometheus_rule([alert("ModelUp", GOOD, severity="critical"),
                            {"record": "model:requests:rate5m", "expr": "rate(x[5m])"}])
    assert run(METADATA, tmp_path, rule) == []


def test_waiver(tmp_path: Path) -> None:
    rule = prometheus_rule([alert("Heartbeat", "vector(1)", severity=None)],
                           annotations={"waive.mlops.dev/alert-severity-summary": "routed by receiver name"})
    [finding] = run(METADATA, tmp_path, rule)
    assert finding.waived == "routed by receiver name"
