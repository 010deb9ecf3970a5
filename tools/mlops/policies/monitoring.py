"""Every model served beyond development is scraped, alerted on and on a dashboard.

A model in test or production that nobody scrapes fails silently: KServe keeps the Deployment
green while the model returns errors or drifts into timeouts. These rules follow each
InferenceService to the three things that make a failure visible: a ServiceMonitor/PodMonitor
that selects its predictor, an alert whose query selects it, and a Grafana dashboard that shows it.

What KServe (RawDeployment, the only mode of OpenShift AI 3.x) puts on the predictor's objects, from
the KServe predictor reconciler: the ServingRuntime's `spec.labels`, the InferenceService's own
`metadata.labels`, the predictor's `spec.predictor.labels`, then
`serving.kserve.io/inferenceservice: <name>` and `component: predictor`. The Deployment's pod
template (and, because KServe shares the label map, the `<name>-predictor` Service as well)
also gets `app: isvc.<name>-predictor`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .grafana import dashboard_model, template_variables
from .objects import dig, first_named, namespace_of, selector_matches
from .promql import STRING_PLACEHOLDER, LabelMatcher, dashboard_queries, expression_selectors, prometheus_rules

MONITORING_GROUP = "monitoring.coreos.com"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
#: Prometheus labels whose value names one model, its Service or its pods.
IDENTITY_LABELS = frozenset({
    "model", "model_name", "modelname", "model_id", "isvc", "isvc_name", "inferenceservice", "inference_service",
    "serving_kserve_io_inferenceservice", "service", "exported_service", "pod", "exported_pod", "job", "app",
    "deployment", "name",
})
#: Grafana variable names that list models.
MODEL_VARIABLES = frozenset({"model", "models", "model_name", "modelname", "isvc", "inferenceservice",
                             "inference_service"})
#: A value no model is named; a regex that matches it matches anything.
_UNRELATED = "zz-unrelated-0"


@dataclass(frozen=True)
class Identity:
    """What Prometheus sees of one InferenceService: names of its objects and labels of its pods."""

    name: str
    namespace: str | None
    names: tuple[str, ...]  # the model, its Service, its app label, a pod name
    labels: dict[str, str]  # Prometheus-style label name -> value, from the predictor's labels


def _sanitize(label: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", label)


#: ServingRuntime `spec.annotations` that make odh-model-controller create a `<isvc>-metrics` Service
#: and ServiceMonitor for every InferenceService of the runtime (`internal/controller/serving/reconcilers/
#: kserve_metrics_service_reconciler.go`, `kserve_metrics_servicemonitor_reconciler.go`).
PROMETHEUS_PORT = "prometheus.io/port"
PROMETHEUS_PATH = "prometheus.io/path"


def runtime_of(isvc: Manifest, objects: list[Manifest]) -> Manifest | None:
    """The ServingRuntime of the same namespace that an InferenceService names, if rendered."""
    runtime = dig(isvc.data, "spec", "predictor", "model", "runtime")
    return first_named(objects, "ServingRuntime", isvc.namespace, runtime)


def controller_scrapes(runtime: Manifest | None) -> bool:
    """Does odh-model-controller create a ServiceMonitor for the runtime's models (prometheus.io/port)?"""
    port = dig(runtime.data, "spec", "annotations", PROMETHEUS_PORT) if runtime is not None else None
    return port is not None and str(port).strip() != ""


def predictor_labels(isvc: Manifest, objects: list[Manifest]) -> tuple[dict[str, str], dict[str, str]]:
    """(labels of the predictor Service, labels of the predictor pods) KServe will create."""
    labels: dict[str, str] = {}
    runtime = runtime_of(isvc, objects)
    if runtime is not None:
        runtime_labels = dig(runtime.data, "spec", "labels")
        if isinstance(runtime_labels, dict):
            labels.update({str(k): str(v) for k, v in runtime_labels.items()})
    labels.update({str(k): str(v) for k, v in isvc.labels.items()})
    component_labels = dig(isvc.data, "spec", "predictor", "labels")
    if isinstance(component_labels, dict):
        labels.update({str(k): str(v) for k, v in component_labels.items()})
    labels.update({ISVC_LABEL: isvc.name, "component": "predictor", "app": f"isvc.{isvc.name}-predictor"})
    return labels, labels


def identity(context: PolicyContext, isvc: Manifest) -> Identity:
    _, pod_labels = predictor_labels(isvc, context.manifests.get(isvc.environment, []))
    service = f"{isvc.name}-predictor"
    return Identity(
        name=isvc.name,
        namespace=namespace_of(context, isvc),
        names=(isvc.name, service, f"isvc.{service}", f"{service}-6d8f9c7b5-x2x7k"),
        labels={_sanitize(key): value for key, value in pod_labels.items()},
    )


def judge(matchers: Sequence[LabelMatcher], who: Identity) -> tuple[bool, bool]:
    """(compatible, identifying) of one selector for one model.

    Heuristics (documented in the rules' explanations):
    - a `namespace` matcher must match the model's namespace; alone it identifies nothing;
    - a matcher on a label the predictor pods carry (sanitised: `app_kubernetes_io_name`) must
      match its value, and identifies the model unless it is a catch-all regex;
    - on a label that names a model/Service/pod/job (`model_name`, `service`, `pod`, ...), an
      equality or regex must match the model's name, its `<name>-predictor` Service or a pod of it
      (a regex like `.+` that matches every model counts: `by (model_name)` alerts cover them all);
    - on any other label, a value or regex that matches the model's names identifies it;
    - a negative matcher that rejects any of those names contradicts;
    - values holding a Grafana variable are unknown and neither identify nor contradict.
    """
    identified = False
    for matcher in matchers:
        if matcher.name == "__name__" or STRING_PLACEHOLDER in matcher.value:
            continue
        if matcher.name == "namespace":
            if who.namespace is not None and not matcher.matches(who.namespace):
                return False, False
            continue
        catch_all = matcher.op == "=~" and matcher.matches(_UNRELATED)
        known = who.labels.get(matcher.name)
        if known is not None:
            if not matcher.matches(known):
                return False, False
            identified = identified or (matcher.positive and not catch_all)
            continue
        if not matcher.positive:
            if any(not matcher.matches(name) for name in who.names):
                return False, False
            continue
        hit = any(matcher.matches(name) for name in who.names)
        if matcher.name in IDENTITY_LABELS:
            if not hit:
                return False, False
            identified = True
        elif hit and not catch_all:
            identified = True
    return True, identified


def selects(selectors: tuple[tuple[LabelMatcher, ...], ...] | None, who: Identity) -> bool:
    """Does any of these vector selectors select the model (compatible and identifying)?"""
    return selectors is not None and any(all(judge(matchers, who)) for matchers in selectors)


def expr_selects(expr: str, who: Identity, grafana: bool = False) -> bool:
    """Does any vector selector of an expression select the model (compatible and identifying)?"""
    return selects(expression_selectors(expr, grafana), who)


def _isvcs(context: PolicyContext) -> Iterator[Manifest]:
    for manifest in context.objects(Scope.AFTER_FIRST):
        if manifest.kind == "InferenceService" and manifest.group == "serving.kserve.io":
            yield manifest


def _uwm_sees(rule_namespace: str | None, model_namespace: str | None) -> bool:
    """OpenShift user-workload monitoring confines monitors and rules to their own namespace."""
    if rule_namespace is None or model_namespace is None or rule_namespace == model_namespace:
        return True
    return rule_namespace.startswith("openshift-")


# --- (a) scraped -------------------------------------------------------------------------------


def _check_scrape(context: PolicyContext) -> Iterator[Violation]:
    for isvc in _isvcs(context):
        objects = context.manifests.get(isvc.environment, [])
        if controller_scrapes(runtime_of(isvc, objects)):
            continue  # odh-model-controller's <isvc>-metrics ServiceMonitor scrapes it
        service_labels, pod_labels = predictor_labels(isvc, objects)
        namespace = namespace_of(context, isvc)
        covered, elsewhere = False, []
        for monitor in objects:
            if monitor.group != MONITORING_GROUP or monitor.kind not in ("ServiceMonitor", "PodMonitor"):
                continue
            labels = service_labels if monitor.kind == "ServiceMonitor" else pod_labels
            if not selector_matches(dig(monitor.data, "spec", "selector"), labels):
                continue
            if _uwm_sees(namespace_of(context, monitor), namespace):
                covered = True
                break
            elsewhere.append(f"{monitor.kind} {namespace_of(context, monitor)}/{monitor.name}")
        if covered:
            continue
        shown = f"{ISVC_LABEL}={isvc.name}, component=predictor"
        message = (f"InferenceService {isvc.name} is scraped by no ServiceMonitor or PodMonitor of namespace "
                   f"{namespace or '?'} in {isvc.environment} (its predictor is labelled {shown})")
        if elsewhere:
            message += (f"; {', '.join(elsewhere)} selects it from another namespace, which OpenShift "
                        "user-workload monitoring does not scrape")
        yield Violation(message, isvc, "metadata.labels")


# --- (b) alerted on ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Alert:
    """An alerting rule as `_check_alert` compares it with every model: read once per target."""

    name: str
    namespace: str | None
    rule_object: str
    selectors: tuple[tuple[LabelMatcher, ...], ...]


def _alerts(context: PolicyContext, environment: str) -> list[_Alert]:
    found = []
    for manifest in context.manifests.get(environment, []):
        if manifest.kind != "PrometheusRule" or manifest.group != MONITORING_GROUP:
            continue
        namespace = namespace_of(context, manifest)
        for rule in prometheus_rules(manifest):
            selectors = expression_selectors(rule.expr) if rule.alert is not None else None
            if rule.alert is not None and selectors:
                found.append(_Alert(rule.alert, namespace, f"{namespace}/{manifest.name}", selectors))
    return found


def _check_alert(context: PolicyContext) -> Iterator[Violation]:
    # Every model meets every alert of its target: the alerts are read once per target, not per model.
    alerts: dict[str, list[_Alert]] = {}
    for isvc in _isvcs(context):
        who = identity(context, isvc)
        covered, elsewhere = False, []
        if isvc.environment not in alerts:
            alerts[isvc.environment] = _alerts(context, isvc.environment)
        for alert in alerts[isvc.environment]:
            if not selects(alert.selectors, who):
                continue
            if _uwm_sees(alert.namespace, who.namespace):
                covered = True
                break
            elsewhere.append(f"{alert.name} ({alert.rule_object})")
        if covered:
            continue
        message = (f"InferenceService {isvc.name} is selected by no alert of a PrometheusRule in "
                   f"{isvc.environment} (no matcher names {isvc.name}, its Service {isvc.name}-predictor "
                   "or its pods, nor one of its labels)")
        if elsewhere:
            message += (f"; alert {', '.join(elsewhere)} selects it from another namespace, which OpenShift "
                        "user-workload monitoring evaluates only against its own")
        yield Violation(message, isvc, "metadata.name")


# --- (c) on a dashboard ------------------------------------------------------------------------


def _grafana_regex_accepts(variable: dict[str, Any], value: str) -> bool:
    """Grafana's variable `regex` filter (`/pattern/flags` or a bare pattern) keeps `value`?"""
    regex = variable.get("regex")
    if not isinstance(regex, str) or not regex.strip():
        return True
    pattern, flags = regex.strip(), 0
    match = re.fullmatch(r"/(.*)/([a-z]*)", pattern, re.S)
    if match:
        pattern = match.group(1)
        flags = re.IGNORECASE if "i" in match.group(2) else 0
    try:
        return re.search(pattern, value, flags) is not None
    except re.error:
        return True


def _selector_compatible(selector_text: str, who: Identity) -> bool:
    found = expression_selectors(selector_text, True)
    return found is not None and any(judge(matchers, who)[0] for matchers in found)


def variable_includes(variable: dict[str, Any], who: Identity) -> bool:
    """Would a model template variable offer this model? (its options, or a query that lists it)"""
    if str(variable.get("name", "")).lower() not in MODEL_VARIABLES or not _grafana_regex_accepts(variable, who.name):
        return False
    values: list[Any] = []
    for option in variable.get("options") or []:
        if isinstance(option, dict):
            values.append(option.get("value"))
    current = dig(variable, "current", "value")
    values.extend(current if isinstance(current, list) else [current])
    if who.name in [str(v) for v in values if v is not None]:
        return True
    kind = variable.get("type")
    query = variable.get("query")
    if isinstance(query, dict):
        query = query.get("query")
    if not isinstance(query, str):
        return False
    if kind == "custom":
        return who.name in [item.split(" : ")[-1].strip() for item in query.split(",")]
    if kind in ("constant", "textbox"):
        return query.strip() == who.name
    if kind != "query":
        return False
    label_values = re.fullmatch(r"\s*label_values\((.*)\)\s*", query, re.S)
    if label_values:
        inner = label_values.group(1)
        if "," not in inner:
            return True  # label_values(model_name): every model that has the label
        return _selector_compatible(inner.rsplit(",", 1)[0], who)
    query_result = re.fullmatch(r"\s*query_result\((.*)\)\s*", query, re.S)
    if query_result:
        return _selector_compatible(query_result.group(1), who)
    return False


def _check_dashboard(context: PolicyContext) -> Iterator[Violation]:
    # (variables, query texts) of each dashboard, read once per target and not once per model
    boards: dict[str | None, list[tuple[list[dict[str, Any]], list[str]]]] = {}
    for isvc in _isvcs(context):
        who = identity(context, isvc)
        if isvc.environment not in boards:
            boards[isvc.environment] = [
                (template_variables(model), [query.expr for query in dashboard_queries(manifest)])
                for manifest in context.manifests.get(isvc.environment, []) if manifest.kind == "GrafanaDashboard"
                for model in [dashboard_model(manifest)[0]] if model is not None]
        covered = any(any(variable_includes(variable, who) for variable in variables)
                      or any(expr_selects(expr, who, grafana=True) for expr in queries)
                      for variables, queries in boards[isvc.environment])
        if not covered:
            yield Violation(f"InferenceService {isvc.name} is on no GrafanaDashboard of {isvc.environment} "
                            f"(no `model` variable lists {isvc.name} and no panel query selects it)",
                            isvc, "metadata.name")


_HEURISTICS = (
    "An expression selects a model when one of its selectors is compatible with it (a `namespace` "
    "matcher matches its namespace, no negative matcher rejects it, matchers on labels its predictor "
    "pods carry match their values) and identifies it: a matcher on `model_name`, `service`, `pod`, "
    "`job`, `app`, ... matches its name, its `<name>-predictor` Service or one of its pods (a regex "
    "such as `.+` that matches every model counts), or a matcher on one of its own labels "
    "(`app_kubernetes_io_name=\"fraud\"`) matches. A `namespace` matcher alone identifies nothing."
)

RULES: list[Rule] = [
    Rule(
        id="monitoring-scrape",
        summary="Every InferenceService in test and production is scraped by a ServiceMonitor or PodMonitor",
        explanation=(
            "Without a scrape, the model server's own metrics (request counts, latencies, errors) "
            "never reach Prometheus, so no alert or dashboard can see the model fail while KServe "
            "keeps its Deployment green. A ServiceMonitor must select the predictor Service and a "
            "PodMonitor the predictor pods, which KServe labels with the InferenceService's own "
            "labels, `serving.kserve.io/inferenceservice: <name>`, `component: predictor` and "
            "`app: isvc.<name>-predictor`. The monitor must be in the model's namespace: OpenShift "
            "user-workload monitoring ignores `namespaceSelector` and scrapes each namespace only "
            "through its own monitors. A runtime whose `spec.annotations` set `prometheus.io/port` counts "
            "as scraped: odh-model-controller then creates a `<name>-metrics` ServiceMonitor itself."
        ),
        fix="add a ServiceMonitor in the model's namespace with selector.matchLabels "
            "{serving.kserve.io/inferenceservice: <name>} (or a PodMonitor)",
        check=_check_scrape,
        scope=Scope.AFTER_FIRST,
    ),
    Rule(
        id="monitoring-alert",
        summary="Every InferenceService in test and production is selected by at least one alert",
        explanation=(
            "A model that no alert watches fails at night and is noticed by its users. At least one "
            "alerting rule of a PrometheusRule in the model's environment must select the model. "
            + _HEURISTICS + " The PrometheusRule must be in the model's namespace (or an `openshift-` "
            "namespace): user-workload monitoring evaluates a project's rules only against that "
            "project's series."
        ),
        fix="add an alert whose expr selects the model, e.g. on {namespace=\"<ns>\", model_name=\"<name>\"} "
            "or a regex that matches it",
        check=_check_alert,
        scope=Scope.AFTER_FIRST,
    ),
    Rule(
        id="monitoring-dashboard",
        summary="Every InferenceService in test and production is on a Grafana dashboard",
        explanation=(
            "During an incident the first question is what the model did before it failed; without "
            "a dashboard that shows it, that means writing PromQL under pressure. A GrafanaDashboard "
            "of the model's environment must show it: a template variable named `model` (or "
            "`model_name`, `isvc`, `inferenceservice`) whose options, custom values or query "
            "(`label_values(<selector>, <label>)`, `query_result(...)`, filtered by the variable's "
            "regex) would include the model, or a panel query that selects it. "
            + _HEURISTICS
        ),
        fix="add the model to a dashboard: a `model` variable listing it (e.g. label_values(..., model_name)) "
            "or a panel query that selects it",
        check=_check_dashboard,
        scope=Scope.AFTER_FIRST,
    ),
]
