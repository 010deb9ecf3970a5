"""monitoring family: every model in test and prod is scraped, alerted on and on a dashboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops.findings import Finding, ObjectRef, Severity
from mlops.policies.monitoring import RULES
from policy_helpers import check, make_context

SCRAPE, ALERT, DASHBOARD = RULES
ISVC_API = "serving.kserve.io/v1beta1"


def isvc(name: str = "fraud", namespace: str | None = "ml-prod", labels: dict[str, str] | None = None,
         annotations: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels or {"opendatahub.io/dashboard": "true"}}
    if namespace:
        metadata["namespace"] = namespace
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": ISVC_API, "kind": "InferenceService", "metadata": metadata,
            "spec": {"predictor": {"model": {"modelFormat": {"name": "onnx"}, "runtime": "ovms",
                                             "storageUri": "s3://models/fraud/1"}}}}


def monitor(kind: str, selector: dict[str, Any], namespace: str = "ml-prod", name: str = "models") -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": selector, "endpoints" if kind == "ServiceMonitor" else "podMetricsEndpoints":
                     [{"port": "http"}]}}


def alerts(*exprs: str, namespace: str = "ml-prod") -> dict[str, Any]:
    rules = [{"alert": f"Alert{i}", "expr": expr, "labels": {"severity": "warning"},
              "annotations": {"summary": "s"}} for i, expr in enumerate(exprs)]
    rules.append({"record": "fraud:requests:rate5m", "expr": 'rate(x{model_name="fraud"}[5m])'})
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "model-alerts", "namespace": namespace},
            "spec": {"groups": [{"name": "models", "rules": rules}]}}


def dashboard(variables: list[dict[str, Any]], *exprs: str) -> dict[str, Any]:
    panels = [{"id": 1, "title": "Requests", "targets": [{"refId": "A", "expr": e} for e in exprs]}]
    content = {"uid": "models", "panels": panels, "templating": {"list": variables}}
    return {"apiVersion": "grafana.integreatly.org/v1beta1", "kind": "GrafanaDashboard",
            "metadata": {"name": "models", "namespace": "ml-prod"},
            "spec": {"instanceSelector": {}, "json": json.dumps(content)}}


def run(rule: Any, tmp_path: Path, *objects: dict[str, Any], env: str = "prod") -> list[Finding]:
    return check(rule, make_context(tmp_path, {env: list(objects)}))


def assert_isvc_finding(finding: Finding, rule_id: str, path: str, name: str = "fraud", env: str = "prod") -> None:
    assert finding.rule == rule_id
    assert finding.severity is Severity.ERROR
    assert finding.object == ObjectRef("InferenceService", name, f"ml-{env}", ISVC_API)
    assert finding.environment == env
    assert finding.path == path
    assert f"InferenceService {name}" in finding.message


# --- monitoring-scrape ------------------------------------------------------------------------


def test_unscraped_model_in_production(tmp_path: Path) -> None:
    unrelated = monitor("ServiceMonitor", {"matchLabels": {"app": "postgres"}})
    [finding] = run(SCRAPE, tmp_path, isvc(), unrelated)
    assert_isvc_finding(finding, "monitoring-scrape", "metadata.labels")
    assert "serving.kserve.io/inferenceservice=fraud" in finding.message


def test_monitor_in_another_namespace_does_not_count(tmp_path: Path) -> None:
    elsewhere = monitor("ServiceMonitor", {"matchLabels": {"component": "predictor"}}, namespace="monitoring")
    [finding] = run(SCRAPE, tmp_path, isvc(namespace="ml-test"), elsewhere, env="test")
    assert_isvc_finding(finding, "monitoring-scrape", "metadata.labels", env="test")
    assert "ServiceMonitor monitoring/models" in finding.message


@pytest.mark.parametrize("covering", [
    monitor("ServiceMonitor", {"matchLabels": {"serving.kserve.io/inferenceservice": "fraud"}}),
    monitor("ServiceMonitor", {"matchLabels": {"component": "predictor", "opendatahub.io/dashboard": "true"}}),
    monitor("PodMonitor", {"matchLabels": {"app": "isvc.fraud-predictor"}}),
    monitor("PodMonitor", {"matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]}),
    monitor("ServiceMonitor", {"matchLabels": {"team": "risk"}}),  # from the ServingRuntime's spec.labels
])
def test_monitor_selecting_the_predictor_passes(tmp_path: Path, covering: dict[str, Any]) -> None:
    runtime = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
               "metadata": {"name": "ovms", "namespace": "ml-prod"}, "spec": {"labels": {"team": "risk"}}}
    assert run(SCRAPE, tmp_path, isvc(), covering, runtime) == []


def test_development_is_not_checked(tmp_path: Path) -> None:
    assert run(SCRAPE, tmp_path, isvc(namespace="ml-dev"), env="dev") == []


def test_namespace_comes_from_the_environment(tmp_path: Path) -> None:
    assert run(SCRAPE, tmp_path, isvc(namespace=None), monitor("ServiceMonitor", {}, namespace="ml-prod")) == []


# --- monitoring-alert -------------------------------------------------------------------------


@pytest.mark.parametrize("expr", [
    'sum(rate(kserve_inference_request_count{namespace="ml-prod"}[5m])) > 0',  # namespace alone: every model
    'up{model_name="credit"} == 0',
    'up{model_name!="fraud", namespace="ml-prod"} == 0',
    'up{model_name="fraud", namespace="ml-test"} == 0',
    'up{job="fraud-predictor", opendatahub_io_dashboard="false"} == 0',
])
def test_model_without_selecting_alert(tmp_path: Path, expr: str) -> None:
    [finding] = run(ALERT, tmp_path, isvc(), alerts(expr))
    assert_isvc_finding(finding, "monitoring-alert", "metadata.name")
    assert "no alert" in finding.message


@pytest.mark.parametrize("expr", [
    'up{model_name="fraud"} == 0',
    'sum by (model_name) (rate(errors{namespace="ml-prod", model_name=~".+"}[5m])) > 1',
    'kube_deployment_status_replicas_available{namespace="ml-prod", deployment="fraud-predictor"} < 1',
    'rate(container_cpu_usage_seconds_total{pod=~"fraud-predictor-.*"}[5m]) > 2',
    'up{service=~"(fraud|credit)-predictor"} == 0',
    'up{app_kubernetes_io_part_of="risk"} == 0',
    'absent(up{job="fraud-predictor"} or up{job="credit-predictor"})',
])
def test_alert_selecting_the_model_passes(tmp_path: Path, expr: str) -> None:
    model = isvc(labels={"app.kubernetes.io/part-of": "risk"})
    assert run(ALERT, tmp_path, model, alerts('vector(1)', expr)) == []


def test_alert_in_another_namespace_does_not_count(tmp_path: Path) -> None:
    [finding] = run(ALERT, tmp_path, isvc(), alerts('up{model_name="fraud"} == 0', namespace="monitoring"))
    assert "Alert0 (monitoring/model-alerts)" in finding.message


def test_recording_rules_do_not_count(tmp_path: Path) -> None:
    [finding] = run(ALERT, tmp_path, isvc(), alerts())
    assert finding.rule == "monitoring-alert"


# --- monitoring-dashboard ---------------------------------------------------------------------


@pytest.mark.parametrize("variables", [
    [{"name": "model", "type": "query", "query": "label_values(kserve_inference_request_count, model_name)"}],
    [{"name": "model", "type": "query",
      "query": {"query": 'label_values(x{namespace="$namespace"}, model_name)', "refId": "A"}}],
    [{"name": "model", "type": "query", "query": "label_values(model_name)", "regex": "/^fr.*/"}],
    [{"name": "model", "type": "custom", "query": "credit,fraud"}],
    [{"name": "model", "type": "custom", "query": "", "options": [{"text": "fraud", "value": "fraud"}]}],
    [{"name": "isvc", "type": "constant", "query": "fraud"}],
])
def test_model_variable_listing_the_model_passes(tmp_path: Path, variables: list[dict[str, Any]]) -> None:
    assert run(DASHBOARD, tmp_path, isvc(), dashboard(variables, 'up{model_name=~"$model"}')) == []


def test_panel_query_naming_the_model_passes(tmp_path: Path) -> None:
    board = dashboard([], 'sum(rate(x{model_name="fraud"}[$__rate_interval]))')
    assert run(DASHBOARD, tmp_path, isvc(), board) == []


@pytest.mark.parametrize("variables", [
    [],
    [{"name": "model", "type": "query", "query": 'label_values(x{namespace="ml-test"}, model_name)'}],
    [{"name": "model", "type": "query", "query": "label_values(model_name)", "regex": "/^credit/"}],
    [{"name": "model", "type": "custom", "query": "credit"}],
    [{"name": "namespace", "type": "query", "query": "label_values(namespace)"}],
])
def test_model_on_no_dashboard(tmp_path: Path, variables: list[dict[str, Any]]) -> None:
    board = dashboard(variables, 'sum(rate(x{namespace="ml-prod"}[5m]))')
    [finding] = run(DASHBOARD, tmp_path, isvc(), board)
    assert_isvc_finding(finding, "monitoring-dashboard", "metadata.name")
    assert "no GrafanaDashboard" in finding.message


def test_dashboard_of_another_environment_does_not_count(tmp_path: Path) -> None:
    variables = [{"name": "model", "type": "custom", "query": "fraud"}]
    context = make_context(tmp_path, {"test": [dashboard(variables)], "prod": [isvc()]})
    [finding] = check(DASHBOARD, context)
    assert finding.environment == "prod"


def test_waiver(tmp_path: Path) -> None:
    model = isvc(annotations={"waive.mlops.dev/monitoring-dashboard": "shadow model, shown on the fraud dashboard"})
    [finding] = run(DASHBOARD, tmp_path, model)
    assert finding.waived == "shadow model, shown on the fraud dashboard"
