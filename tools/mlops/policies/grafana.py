"""Grafana dashboards delivered by grafana-operator v5 that will not load, collide, or show nothing.

The operator takes a GrafanaDashboard's `spec.json` as an opaque string: a JSON typo, a uid used
twice (the second dashboard silently overwrites the first in Grafana), a panel id used twice
(panels swap places or vanish when edited), or a datasource uid that exists only on the laptop the
dashboard was exported from all pass the API server and Argo CD, and show up as broken panels in
front of the people who need the dashboard during an incident.

The dashboard helpers (parse the model, walk panels and rows) are shared with the promql and
monitoring families.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from ..manifests import Manifest, SourceIndex
from .base import PolicyContext, Rule, Scope, Violation
from .objects import dig

GROUP = "grafana.integreatly.org"
#: grafana-operator v5 kinds that must select the Grafana instance(s) they belong to.
_SELECTING_KINDS = (
    "GrafanaDashboard", "GrafanaDatasource", "GrafanaFolder", "GrafanaAlertRuleGroup", "GrafanaContactPoint",
    "GrafanaNotificationPolicy", "GrafanaNotificationTemplate", "GrafanaMuteTiming", "GrafanaLibraryPanel",
)
#: Datasource uids/names that Grafana itself provides.
_BUILTIN_DATASOURCES = frozenset({"grafana", "-- Grafana --", "-- Mixed --", "-- Dashboard --", "dashboard"})
_BUILTIN_TYPES = frozenset({"grafana", "datasource", "dashboard", "__expr__"})
#: A whole value that is one template variable: `$ds`, `${ds}`, `${ds:raw}`, `[[ds]]`.
_WHOLE_VARIABLE = re.compile(r"^(?:\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\])$")
_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


# --- the dashboard model -----------------------------------------------------------------------


@dataclass(frozen=True)
class JsonProblem:
    """Why a dashboard model could not be read, and where in the JSON text."""

    field: str  # spec.json or spec.gzipJson
    message: str
    line: int | None = None  # 1-based, inside the JSON text
    column: int | None = None


@lru_cache(maxsize=512)
def _load_json(text: str) -> tuple[Any, JsonProblem | None]:
    try:
        return json.loads(text), None
    except json.JSONDecodeError as error:
        return None, JsonProblem("spec.json", error.msg, error.lineno, error.colno)


def dashboard_model(manifest: Manifest) -> tuple[dict[str, Any] | None, JsonProblem | None]:
    """The dashboard JSON model of a GrafanaDashboard (from `spec.json` or `spec.gzipJson`).

    (None, None) when the model lives elsewhere (url, configMapRef, grafanaCom, jsonnet): it
    cannot be checked from the repository.
    """
    spec = manifest.data.get("spec")
    if manifest.kind != "GrafanaDashboard" or not isinstance(spec, dict):
        return None, None
    field_name, text = "spec.json", spec.get("json")
    if not isinstance(text, str) and isinstance(spec.get("gzipJson"), str):
        field_name = "spec.gzipJson"
        try:
            text = gzip.decompress(base64.b64decode(spec["gzipJson"], validate=False)).decode("utf-8")
        except (binascii.Error, OSError, EOFError, UnicodeDecodeError, ValueError) as error:
            return None, JsonProblem(field_name, f"is not base64 of gzipped JSON ({error})")
    if not isinstance(text, str):
        return None, None
    model, problem = _load_json(text)
    if problem is not None:
        return None, JsonProblem(field_name, problem.message, problem.line, problem.column)
    if not isinstance(model, dict):
        return None, JsonProblem(field_name, f"is a JSON {type(model).__name__}, not a dashboard object")
    return model, None


def iter_panels(model: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path inside the model, panel) of every panel, rows and their nested panels included.

    Covers the current layout (`panels[]`, collapsed rows holding `panels[]`) and the pre-5.0
    one (`rows[].panels[]`).
    """

    def walk(items: Any, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if not isinstance(items, list):
            return
        for index, panel in enumerate(items):
            if isinstance(panel, dict):
                path = f"{prefix}[{index}]"
                yield path, panel
                yield from walk(panel.get("panels"), f"{path}.panels")

    yield from walk(model.get("panels"), "panels")
    rows = model.get("rows")
    if isinstance(rows, list):
        for index, row in enumerate(rows):
            if isinstance(row, dict):
                yield from walk(row.get("panels"), f"rows[{index}].panels")


def template_variables(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The dashboard's `templating.list` (its variables)."""
    items = dig(model, "templating", "list")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def datasource_type(datasource: Any) -> str | None:
    """The plugin type of a datasource reference (`{"type": "prometheus", "uid": ...}`), if it says."""
    if isinstance(datasource, dict) and isinstance(datasource.get("type"), str):
        return str(datasource["type"])
    return None


def prometheus_target(target: dict[str, Any], panel_type: str | None) -> bool:
    """Is a panel target a Prometheus query? Unknown types are assumed to be (the common case)."""
    kind = datasource_type(target.get("datasource")) or panel_type
    return kind is None or "prometheus" in kind or kind in _BUILTIN_TYPES


def effective_uid(manifest: Manifest, model: dict[str, Any] | None) -> tuple[str | None, str]:
    """(uid, path it comes from): `spec.uid` overrides the model's uid in grafana-operator v5."""
    spec_uid = dig(manifest.data, "spec", "uid")
    if isinstance(spec_uid, str) and spec_uid:
        return spec_uid, "spec.uid"
    if model is not None and isinstance(model.get("uid"), str) and model["uid"]:
        return str(model["uid"]), "spec.json"
    return None, "spec.json"


def _json_line(context: PolicyContext, manifest: Manifest, problem: JsonProblem) -> int | None:
    """The source-file line of a JSON error, when `spec.json` is a literal block copied verbatim."""
    if problem.line is None or problem.field != "spec.json":
        return None
    sources = context.cache.setdefault("grafana.sources", SourceIndex(context.root))
    assert isinstance(sources, SourceIndex)
    document = sources.document(manifest)
    if document is None:
        return None
    node: yaml.Node | None = document.node
    for key in ("spec", "json"):
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
    if not isinstance(node, yaml.ScalarNode) or node.style != "|" or node.value != dig(manifest.data, "spec", "json"):
        return None
    # A literal block starts on the line after its `|` indicator.
    return int(node.start_mark.line) + 1 + problem.line


# --- rules -------------------------------------------------------------------------------------


def _dashboards(context: PolicyContext) -> Iterator[tuple[Manifest, dict[str, Any]]]:
    for manifest in context.objects(Scope.ALL):
        if manifest.kind == "GrafanaDashboard" and manifest.group == GROUP:
            model, _ = dashboard_model(manifest)
            if model is not None:
                yield manifest, model


def _check_json(context: PolicyContext) -> Iterator[Violation]:
    for manifest in context.objects(Scope.ALL):
        if manifest.kind != "GrafanaDashboard" or manifest.group != GROUP:
            continue
        _, problem = dashboard_model(manifest)
        if problem is None:
            continue
        where = f" at line {problem.line} column {problem.column} of the JSON" if problem.line else ""
        yield Violation(f"{problem.field} of dashboard {manifest.name} {'is not valid JSON: ' if where else ''}"
                        f"{problem.message}{where}", manifest, problem.field,
                        line=_json_line(context, manifest, problem))


def _check_uid(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.ALL):
        seen: dict[str, Manifest] = {}
        for manifest in context.manifests[target.name]:
            if manifest.kind != "GrafanaDashboard" or manifest.group != GROUP:
                continue
            model, _ = dashboard_model(manifest)
            uid, path = effective_uid(manifest, model)
            if uid is None:
                if model is not None:  # a url/configMap model cannot be read here; a broken one is reported apart
                    yield Violation(f"dashboard {manifest.name} has no uid (neither spec.uid nor \"uid\" in its JSON)",
                                    manifest, path)
                continue
            if not _UID.match(uid):
                yield Violation(f"dashboard uid {uid!r} is not 1-40 letters, digits, '-' or '_'", manifest, path)
            other = seen.setdefault(uid, manifest)
            if other is not manifest:
                yield Violation(f"dashboard uid {uid!r} is also used by {other.ref} in {target.name}; "
                                "one dashboard overwrites the other in Grafana", manifest, path)


def _check_panel_ids(context: PolicyContext) -> Iterator[Violation]:
    for manifest, model in _dashboards(context):
        seen: dict[Any, str] = {}
        for path, panel in iter_panels(model):
            panel_id = panel.get("id")
            if panel_id is None or isinstance(panel_id, bool):
                continue
            if panel_id in seen:
                yield Violation(f"panel id {panel_id} of dashboard {manifest.name} is used by {seen[panel_id]} "
                                f"and {path} ({panel.get('title', 'untitled')!r})", manifest, "spec.json")
            else:
                seen[panel_id] = f"{path} ({panel.get('title', 'untitled')!r})"


def _datasource_refs(model: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(path inside the model, reference) of every datasource a dashboard names."""
    for index, variable in enumerate(template_variables(model)):
        if "datasource" in variable:
            yield f"templating.list[{index}].datasource", variable["datasource"]
    annotations = dig(model, "annotations", "list")
    if isinstance(annotations, list):
        for index, annotation in enumerate(annotations):
            if isinstance(annotation, dict) and "datasource" in annotation:
                yield f"annotations.list[{index}].datasource", annotation["datasource"]
    for path, panel in iter_panels(model):
        if "datasource" in panel:
            yield f"{path}.datasource", panel["datasource"]
        targets = panel.get("targets")
        if isinstance(targets, list):
            for index, target in enumerate(targets):
                if isinstance(target, dict) and "datasource" in target:
                    yield f"{path}.targets[{index}].datasource", target["datasource"]


def _named_datasources(context: PolicyContext, target_name: str) -> set[str]:
    """Names and uids of the GrafanaDatasource objects of a target."""
    key = f"grafana.datasources.{target_name}"
    if key not in context.cache:
        names: set[str] = set()
        for manifest in context.manifests.get(target_name, []):
            if manifest.kind == "GrafanaDatasource" and manifest.group == GROUP:
                names.add(manifest.name)
                for path in (("spec", "datasource", "name"), ("spec", "datasource", "uid"), ("spec", "uid")):
                    value = dig(manifest.data, *path)
                    if isinstance(value, str) and value:
                        names.add(value)
        context.cache[key] = names
    names_found = context.cache[key]
    assert isinstance(names_found, set)
    return names_found


def _datasource_problem(reference: Any, variables: dict[str, str], inputs: set[str], named: set[str]) -> str | None:
    """Why a datasource reference will not resolve in the cluster's Grafana, or None."""
    value = reference
    if isinstance(reference, dict):
        if datasource_type(reference) in _BUILTIN_TYPES:
            return None
        value = reference.get("uid")
    if value is None or not isinstance(value, str) or not value.strip() or value in _BUILTIN_DATASOURCES:
        return None  # the default datasource, or one of Grafana's own
    variable = _WHOLE_VARIABLE.match(value)
    if variable is not None:
        name = next(group for group in variable.groups() if group is not None)
        if name in inputs or variables.get(name) == "datasource":
            return None
        if name in variables:
            return f"variable ${name} is a {variables[name] or 'untyped'} variable, not a datasource variable"
        return f"variable ${name} is not defined (no templating variable of type datasource, no spec.datasources input)"
    if value in named:
        return None
    return "is neither a datasource variable nor a GrafanaDatasource of this environment"


def _check_datasources(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.ALL):
        for manifest in context.manifests[target.name]:
            if manifest.kind != "GrafanaDashboard" or manifest.group != GROUP:
                continue
            model, _ = dashboard_model(manifest)
            if model is None:
                continue
            variables = {str(v.get("name")): str(v.get("type") or "") for v in template_variables(model)}
            mapping = dig(manifest.data, "spec", "datasources")
            entries = [m for m in mapping if isinstance(m, dict)] if isinstance(mapping, list) else []
            inputs = {str(m.get("inputName")) for m in entries if m.get("inputName")}
            named = _named_datasources(context, target.name) | {
                str(m.get("datasourceName")) for m in entries if m.get("datasourceName")}
            for path, reference in _datasource_refs(model):
                problem = _datasource_problem(reference, variables, inputs, named)
                if problem is not None:
                    shown = reference.get("uid") if isinstance(reference, dict) else reference
                    yield Violation(f"datasource {shown!r} at {path} of dashboard {manifest.name}: {problem}",
                                    manifest, "spec.json")


def _check_instance_selector(context: PolicyContext) -> Iterator[Violation]:
    for manifest in context.objects(Scope.ALL):
        if manifest.group != GROUP or manifest.kind not in _SELECTING_KINDS:
            continue
        selector = dig(manifest.data, "spec", "instanceSelector")
        if not isinstance(selector, dict):
            yield Violation(f"{manifest.kind} {manifest.name} has no spec.instanceSelector, so grafana-operator "
                            "imports it into no Grafana instance", manifest, "spec.instanceSelector")


RULES: list[Rule] = [
    Rule(
        id="grafana-dashboard-json",
        summary="A GrafanaDashboard's spec.json is valid JSON",
        explanation=(
            "grafana-operator stores `spec.json` as an opaque string: the API server and Argo CD "
            "accept any text, and a missing comma only shows as a failed reconcile in the "
            "operator's log and a dashboard that never appears. The finding gives the line and "
            "column of the JSON error (and the line in the YAML file when the JSON is a literal "
            "block). `spec.gzipJson` is decoded and checked the same way."
        ),
        fix="correct the JSON (or export the dashboard again from Grafana)",
        check=_check_json,
    ),
    Rule(
        id="grafana-dashboard-uid",
        summary="Every dashboard has a uid, unique among the dashboards of its environment",
        explanation=(
            "Grafana identifies dashboards by uid: without one the operator lets Grafana invent a "
            "new one, so links, alerts and bookmarks to the dashboard break on every re-import; "
            "two dashboards with the same uid overwrite each other, and which one wins depends on "
            "reconcile order. `spec.uid` (grafana-operator v5) overrides the uid in the JSON and is "
            "what counts when both are set."
        ),
        fix="set a stable, unique \"uid\" in the dashboard JSON or spec.uid",
        check=_check_uid,
    ),
    Rule(
        id="grafana-panel-id",
        summary="Panel ids are unique within a dashboard, nested rows included",
        explanation=(
            "Grafana keys panel state, links (`viewPanel=<id>`) and library-panel wiring by panel "
            "id; with two panels sharing an id, one of them is hidden or replaced when the "
            "dashboard is edited or opened in view mode. Copy-pasting panels in JSON is the usual "
            "cause."
        ),
        fix="give every panel (including panels inside rows) its own \"id\"",
        check=_check_panel_ids,
    ),
    Rule(
        id="grafana-datasource",
        summary="Dashboards name datasources by variable or by a GrafanaDatasource, never by a hard-coded uid",
        explanation=(
            "A datasource uid exported from one Grafana does not exist in another: the panels show "
            "'datasource not found' in every environment but the one the dashboard was built in. "
            "Reference datasources through a templating variable of type `datasource` "
            "(`${datasource}`), through an input mapped in `spec.datasources` "
            "(`${DS_PROMETHEUS}` with `inputName`), or by the name/uid of a GrafanaDatasource object "
            "of the same environment. Grafana's built-in datasources (`-- Grafana --`, "
            "`-- Mixed --`, `-- Dashboard --`) and the default datasource (no uid) are fine."
        ),
        fix="use {\"type\": \"prometheus\", \"uid\": \"${datasource}\"} with a datasource variable, "
            "or name a GrafanaDatasource",
        check=_check_datasources,
    ),
    Rule(
        id="grafana-instance-selector",
        summary="grafana-operator resources select their Grafana instance (spec.instanceSelector)",
        explanation=(
            "grafana-operator v5 imports a dashboard, datasource or folder only into the Grafana "
            "instances its `spec.instanceSelector` matches; without one the resource is synced by "
            "Argo CD, shows healthy, and never reaches Grafana. (An empty selector `{}` matches "
            "every instance the operator may use.)"
        ),
        fix="add spec.instanceSelector.matchLabels with the labels of your Grafana instance",
        check=_check_instance_selector,
    ),
]
