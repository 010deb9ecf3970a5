"""grafana family: dashboard JSON, uids, panel ids, datasources and instance selectors."""

from __future__ import annotations

import base64
import gzip
import json
import textwrap
from pathlib import Path
from typing import Any

import yaml

from mlops.findings import Finding, ObjectRef, Severity
from mlops.policies.grafana import RULES
from policy_helpers import check, make_context

JSON, UID, PANEL_ID, DATASOURCE, INSTANCE = RULES
API = "grafana.integreatly.org/v1beta1"
PROM = {"type": "prometheus", "uid": "${datasource}"}
DS_VARIABLE = {"name": "datasource", "type": "datasource", "query": "prometheus"}


def model(uid: str | None = "models", panels: list[dict[str, Any]] | None = None,
          variables: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"title": "Models", "panels": panels if panels is not None else [panel(1)],
                              "templating": {"list": variables if variables is not None else [DS_VARIABLE]}}
    if uid is not None:
        result["uid"] = uid
    return result


def panel(panel_id: int, datasource: Any = PROM, title: str | None = None) -> dict[str, Any]:
    return {"id": panel_id, "title": title or f"panel {panel_id}", "type": "timeseries", "datasource": datasource,
            "targets": [{"refId": "A", "expr": "up", "datasource": datasource}]}


def dashboard(name: str = "models", content: dict[str, Any] | str | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"instanceSelector": {"matchLabels": {"dashboards": "grafana"}}}
    body["json"] = content if isinstance(content, str) else json.dumps(content if content is not None else model(name))
    body.update(spec)
    return {"apiVersion": API, "kind": "GrafanaDashboard", "metadata": {"name": name, "namespace": "ml-prod"},
            "spec": body}


def run(rule: Any, tmp_path: Path, *objects: dict[str, Any], env: str = "prod") -> list[Finding]:
    return check(rule, make_context(tmp_path, {env: list(objects)}))


def assert_finding(finding: Finding, rule_id: str, name: str = "models", env: str = "prod",
                   path: str = "spec.json") -> None:
    assert finding.rule == rule_id
    assert finding.severity is Severity.ERROR
    assert finding.object == ObjectRef("GrafanaDashboard", name, "ml-prod", API)
    assert finding.environment == env
    assert finding.path == path


# --- grafana-dashboard-json -------------------------------------------------------------------


BROKEN_SOURCE = """\
apiVersion: grafana.integreatly.org/v1beta1
kind: GrafanaDashboard
metadata:
  name: models
spec:
  instanceSelector: {}
  json: |
    {
      "uid": "models",
      "title": "Models"
      "panels": []
    }
"""


def test_invalid_json_reports_json_position_and_source_line(tmp_path: Path) -> None:
    (tmp_path / "dashboard.yaml").write_text(BROKEN_SOURCE, encoding="utf-8")
    data = yaml.safe_load(BROKEN_SOURCE)
    data["__file__"] = "dashboard.yaml"
    [finding] = check(JSON, make_context(tmp_path, {"test": [data]}))
    assert finding.rule == "grafana-dashboard-json"
    assert finding.severity is Severity.ERROR
    assert finding.object == ObjectRef("GrafanaDashboard", "models", None, API)
    assert finding.environment == "test"
    assert finding.path == "spec.json"
    assert "Expecting ',' delimiter at line 4 column 3" in finding.message
    assert finding.file == "dashboard.yaml"
    assert finding.line == 11  # the `"panels"` line of the YAML file


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    [finding] = run(JSON, tmp_path, dashboard(content="[1, 2]"))
    assert_finding(finding, "grafana-dashboard-json")
    assert "list" in finding.message


def test_gzip_json_is_checked(tmp_path: Path) -> None:
    packed = base64.b64encode(gzip.compress(b'{"uid": "x",}')).decode()
    item = dashboard()
    del item["spec"]["json"]
    item["spec"]["gzipJson"] = packed
    [finding] = run(JSON, tmp_path, item)
    assert_finding(finding, "grafana-dashboard-json", path="spec.gzipJson")


def test_valid_json_and_remote_models_pass(tmp_path: Path) -> None:
    remote = dashboard("remote")
    del remote["spec"]["json"]
    remote["spec"]["url"] = "https://grafana.example/dashboards/1.json"
    assert run(JSON, tmp_path, dashboard(), remote) == []


# --- grafana-dashboard-uid --------------------------------------------------------------------


def test_missing_uid(tmp_path: Path) -> None:
    [finding] = run(UID, tmp_path, dashboard(content=model(uid=None)))
    assert_finding(finding, "grafana-dashboard-uid")
    assert "no uid" in finding.message and "models" in finding.message


def test_duplicate_uid_across_dashboards_and_spec_uid(tmp_path: Path) -> None:
    first = dashboard("models")
    second = dashboard("latency", content=model(uid="other"), uid="models")  # spec.uid wins over the JSON
    [finding] = run(UID, tmp_path, first, second)
    assert_finding(finding, "grafana-dashboard-uid", name="latency", path="spec.uid")
    assert "'models'" in finding.message and "GrafanaDashboard/ml-prod/models" in finding.message


def test_invalid_uid(tmp_path: Path) -> None:
    [finding] = run(UID, tmp_path, dashboard(content=model(uid="models dashboard")))
    assert "'models dashboard'" in finding.message


def test_unique_uids_pass_and_environments_are_separate(tmp_path: Path) -> None:
    context = make_context(tmp_path, {"test": [dashboard("models")], "prod": [dashboard("models"),
                                                                              dashboard("latency")]})
    assert check(UID, context) == []


# --- grafana-panel-id -------------------------------------------------------------------------


def test_duplicate_panel_id_in_nested_row(tmp_path: Path) -> None:
    row = {"id": 2, "type": "row", "title": "Details", "collapsed": True, "panels": [panel(3), panel(1, title="p95")]}
    [finding] = run(PANEL_ID, tmp_path, dashboard(content=model(panels=[panel(1), row])))
    assert_finding(finding, "grafana-panel-id")
    assert "panel id 1" in finding.message and "panels[1].panels[1]" in finding.message
    assert "'p95'" in finding.message


def test_unique_panel_ids_pass(tmp_path: Path) -> None:
    row = {"id": 2, "type": "row", "panels": [panel(3)]}
    legacy = dashboard("legacy", content={"uid": "legacy", "rows": [{"panels": [panel(1), panel(2)]}]})
    assert run(PANEL_ID, tmp_path, dashboard(content=model(panels=[panel(1), row])), legacy) == []


# --- grafana-datasource -----------------------------------------------------------------------


def test_hard_coded_datasource_uid(tmp_path: Path) -> None:
    hard = {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
    [finding, target] = run(DATASOURCE, tmp_path, dashboard(content=model(panels=[panel(1), panel(2, hard)])))
    assert_finding(finding, "grafana-datasource")
    assert "'P1809F7CD0C75ACF3'" in finding.message and "panels[1].datasource" in finding.message
    assert "panels[1].targets[0].datasource" in target.message


def test_variable_that_is_not_a_datasource_variable(tmp_path: Path) -> None:
    variables = [{"name": "model", "type": "query", "query": "label_values(model_name)"}]
    findings = run(DATASOURCE, tmp_path, dashboard(content=model(panels=[panel(1, "$model")], variables=variables)))
    assert findings and all("$model is a query variable" in f.message for f in findings)
    findings = run(DATASOURCE, tmp_path, dashboard(content=model(panels=[panel(1, "${ds}")], variables=[])))
    assert findings and all("$ds is not defined" in f.message for f in findings)


def test_variables_named_objects_inputs_and_builtins_pass(tmp_path: Path) -> None:
    datasource = {"apiVersion": API, "kind": "GrafanaDatasource", "metadata": {"name": "prometheus", "namespace": "x"},
                  "spec": {"instanceSelector": {}, "datasource": {"name": "Thanos", "uid": "thanos-querier",
                                                                   "type": "prometheus"}}}
    panels = [
        panel(1), panel(2, "$datasource"), panel(3, "[[datasource]]"), panel(4, None), panel(5, {"type": "prometheus"}),
        panel(6, {"type": "prometheus", "uid": "thanos-querier"}), panel(7, "Thanos"), panel(8, "${DS_PROMETHEUS}"),
        panel(9, {"type": "datasource", "uid": "-- Mixed --"}), panel(10, "-- Grafana --"), panel(11, "mapped"),
    ]
    content = model(panels=panels)
    content["annotations"] = {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}}]}
    item = dashboard(content=content, datasources=[{"inputName": "DS_PROMETHEUS", "datasourceName": "mapped"}])
    assert run(DATASOURCE, tmp_path, item, datasource) == []


# --- grafana-instance-selector ----------------------------------------------------------------


def test_missing_instance_selector(tmp_path: Path) -> None:
    item = dashboard()
    del item["spec"]["instanceSelector"]
    [finding] = run(INSTANCE, tmp_path, item)
    assert_finding(finding, "grafana-instance-selector", path="spec.instanceSelector")
    assert "GrafanaDashboard models has no spec.instanceSelector" in finding.message


def test_instance_selector_present_passes(tmp_path: Path) -> None:
    folder = {"apiVersion": API, "kind": "GrafanaFolder", "metadata": {"name": "ml"}, "spec": {"instanceSelector": {}}}
    grafana = {"apiVersion": API, "kind": "Grafana", "metadata": {"name": "grafana"}, "spec": {}}
    assert run(INSTANCE, tmp_path, dashboard(), folder, grafana) == []


def test_waiver(tmp_path: Path) -> None:
    item = dashboard(content=model(panels=[panel(1, {"type": "prometheus", "uid": "abc"})]))
    item["metadata"]["annotations"] = {"waive.mlops.dev/grafana-datasource": "uid pinned by the platform team"}
    findings = run(DATASOURCE, tmp_path, item)
    assert findings and all(f.waived == "uid pinned by the platform team" for f in findings)


def test_source_with_folded_json_gets_no_misleading_line(tmp_path: Path) -> None:
    source = textwrap.dedent(BROKEN_SOURCE).replace("json: |", "json: >")
    (tmp_path / "dashboard.yaml").write_text(source, encoding="utf-8")
    data = yaml.safe_load(source)
    data["__file__"] = "dashboard.yaml"
    [finding] = check(JSON, make_context(tmp_path, {"test": [data]}))
    assert finding.line == 7  # the `json:` key, not a guessed line inside it
