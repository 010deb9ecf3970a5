"""ServingRuntimes copied from OpenShift AI's runtime templates keep what the dashboard and the model controller read.

A project's ServingRuntime is usually a copy of a platform template (`kserve-ovms`,
`vllm-cuda-runtime-template` in `redhat-ods-applications`). Three things on it decide what works
around the model, and none of them is visible to a schema:

- `opendatahub.io/serving-runtime-scope`: `global` tells the dashboard the template lives in its
  own namespace, `project` that it lives in the runtime's project. With the wrong one the dashboard
  cannot find the template and cannot edit the deployment (odh-dashboard
  `packages/kserve/src/deployServer.ts`, extractModelServerTemplate).
- `spec.annotations` `opendatahub.io/kserve-runtime` (`ovms`, `vllm`, ...): odh-model-controller picks
  the metric queries of the model's metrics page by it; without a known value the model's
  `<isvc>-metrics-dashboard` ConfigMap says `supported: false` and the page is off
  (`internal/controller/serving/reconcilers/kserve_metrics_dashboard_reconciler.go`).
- `spec.annotations` `prometheus.io/port` / `prometheus.io/path`: with a port, odh-model-controller
  creates a `<isvc>-metrics` Service and ServiceMonitor for every model of the runtime
  (`kserve_metrics_service_reconciler.go`, `kserve_metrics_servicemonitor_reconciler.go`). A
  repository that also scrapes the predictors with its own PodMonitor or ServiceMonitor gets every
  series twice, and every sum and rate in alerts and dashboards doubles.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .monitoring import (
    MONITORING_GROUP,
    PROMETHEUS_PATH,
    PROMETHEUS_PORT,
    controller_scrapes,
    predictor_labels,
    runtime_of,
)
from .objects import KSERVE_GROUP, dig, is_kind, mapping, namespace_of, selector_matches

SCOPE_ANNOTATION = "opendatahub.io/serving-runtime-scope"
TEMPLATE_NAME = "opendatahub.io/template-name"
KSERVE_RUNTIME = "opendatahub.io/kserve-runtime"
NIM_ANNOTATION = "runtimes.opendatahub.io/nvidia-nim"
#: Values of opendatahub.io/kserve-runtime odh-model-controller has metric queries for (`constants.go`).
KNOWN_RUNTIMES = ("ovms", "vllm", "tgis", "mlserver", "autogluon")
#: How to tell which server a runtime runs: words of its template name, then of its image.
_RUNTIME_HINTS = (
    ("ovms", ("kserve-ovms", "openvino-model-server", "openvino_model_server")),
    ("vllm", ("vllm",)),
    ("tgis", ("tgis", "text-generation-inference")),
    ("mlserver", ("mlserver",)),
    ("autogluon", ("autogluon",)),
)


def _runtimes(context: PolicyContext) -> Iterator[Manifest]:
    for manifest in context.objects(Scope.DEPLOYED):
        if is_kind(manifest, "ServingRuntime", KSERVE_GROUP):
            yield manifest


# --- serving-runtime-scope -------------------------------------------------------------------------


def _project_templates(context: PolicyContext, target: str) -> set[tuple[str | None, str]]:
    return {(namespace_of(context, m), m.name) for m in context.manifests.get(target, [])
            if is_kind(m, "Template", "template.openshift.io")}


def _check_scope(context: PolicyContext) -> Iterator[Violation]:
    for runtime in _runtimes(context):
        template = runtime.annotations.get(TEMPLATE_NAME)
        if not isinstance(template, str) or not template.strip():
            continue  # not made from a template: the dashboard offers nothing to edit it from
        namespace = namespace_of(context, runtime)
        in_project = (namespace, template) in _project_templates(context, runtime.environment)
        expected = "project" if in_project else "global"
        scope = runtime.annotations.get(SCOPE_ANNOTATION)
        if str(scope) == expected:
            continue
        if in_project:
            reason = (f"template {template} is rendered in project {namespace}, so the dashboard must look for it "
                      "there")
        else:
            reason = (f"template {template} is not in project {namespace or '?'} (OpenShift AI ships its runtime "
                      "templates in its applications namespace, redhat-ods-applications), so the dashboard must "
                      "look for it there")
        shown = "no scope" if scope is None else f"scope {scope!r}"
        yield Violation(f"ServingRuntime {runtime.name} has {shown}; {reason}: with anything but {expected!r} it "
                        "cannot find the template, and the model's deployment cannot be edited in the dashboard",
                        runtime, f"metadata.annotations.{SCOPE_ANNOTATION}",
                        fix=f"set the annotation {SCOPE_ANNOTATION}: {expected}")


# --- serving-runtime-metrics -----------------------------------------------------------------------


def _server_of(runtime: Manifest) -> str | None:
    """Which known model server the runtime runs, from its template name or its images."""
    template = str(runtime.annotations.get(TEMPLATE_NAME) or "").lower()
    images = " ".join(str(c.get("image", "")).lower() for c in dig(runtime.data, "spec", "containers") or []
                      if isinstance(c, dict))
    for haystack in (template, images):
        for server, words in _RUNTIME_HINTS:
            if any(word in haystack for word in words):
                return server
    return None


def _check_metrics(context: PolicyContext) -> Iterator[Violation]:
    for runtime in _runtimes(context):
        if str(runtime.annotations.get(NIM_ANNOTATION, "")).lower() == "true":
            continue  # NIM runtimes are recognised by their own annotation
        value = dig(runtime.data, "spec", "annotations", KSERVE_RUNTIME)
        server = _server_of(runtime)
        path = f"spec.annotations.{KSERVE_RUNTIME}"
        consequence = ("odh-model-controller writes supported: false into each model's <isvc>-metrics-dashboard "
                       "ConfigMap, and the dashboard shows no metrics page for the models it serves")
        if value is None:
            if server is not None:
                yield Violation(f"ServingRuntime {runtime.name} runs {server} but its spec.annotations lack "
                                f"{KSERVE_RUNTIME}: {server}; {consequence}", runtime,
                                "spec.annotations" if dig(runtime.data, "spec", "annotations") else "spec",
                                fix=f"add spec.annotations.{KSERVE_RUNTIME}: {server} (as the runtime template does)")
        elif str(value) not in KNOWN_RUNTIMES:
            yield Violation(f"ServingRuntime {runtime.name} sets {KSERVE_RUNTIME}: {value!r}, which odh-model-"
                            f"controller does not know ({', '.join(KNOWN_RUNTIMES)}); {consequence}", runtime, path,
                            fix=f"set {KSERVE_RUNTIME} to the server the runtime runs ({', '.join(KNOWN_RUNTIMES)})")
        elif server is not None and str(value) != server:
            yield Violation(f"ServingRuntime {runtime.name} runs {server} but sets {KSERVE_RUNTIME}: {value!r}; the "
                            f"metrics page of its models queries {value} metrics, which {server} does not publish",
                            runtime, path, fix=f"set {KSERVE_RUNTIME}: {server}")


# --- monitoring-scrape-once ------------------------------------------------------------------------


def _repository_monitors(objects: list[Manifest], isvc: Manifest, namespace: str | None,
                         context: PolicyContext) -> list[Manifest]:
    service_labels, pod_labels = predictor_labels(isvc, objects)
    found = []
    for monitor in objects:
        if monitor.group != MONITORING_GROUP or monitor.kind not in ("ServiceMonitor", "PodMonitor"):
            continue
        if namespace_of(context, monitor) != namespace:
            continue  # user-workload monitoring scrapes a namespace only through its own monitors
        labels = service_labels if monitor.kind == "ServiceMonitor" else pod_labels
        if selector_matches(dig(monitor.data, "spec", "selector"), labels):
            found.append(monitor)
    return found


def _check_scrape_once(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.DEPLOYED):
        objects = context.manifests[target.name]
        reported: set[int] = set()
        for isvc in objects:
            if not is_kind(isvc, "InferenceService", KSERVE_GROUP):
                continue
            runtime = runtime_of(isvc, objects)
            if runtime is None or id(runtime) in reported or not controller_scrapes(runtime):
                continue
            monitors = _repository_monitors(objects, isvc, namespace_of(context, isvc), context)
            if not monitors:
                continue
            reported.add(id(runtime))
            annotations: dict[str, Any] = mapping(dig(runtime.data, "spec", "annotations"))
            port, metrics_path = annotations.get(PROMETHEUS_PORT), annotations.get(PROMETHEUS_PATH, "/metrics")
            shown = ", ".join(f"{m.kind} {m.name}" for m in monitors)
            yield Violation(
                f"ServingRuntime {runtime.name} sets {PROMETHEUS_PORT}: {port} in spec.annotations, so odh-model-"
                f"controller scrapes InferenceService {isvc.name} (and every other model of the runtime) through its "
                f"own {isvc.name}-metrics ServiceMonitor ({metrics_path}), while {shown} of {target.name} scrapes "
                "the same predictor: every series is collected twice, and sums and rates in alerts and dashboards "
                "double", runtime, f"spec.annotations.{PROMETHEUS_PORT}",
                fix=f"keep one scrape path: drop {PROMETHEUS_PORT}/{PROMETHEUS_PATH} from the runtime's "
                    "spec.annotations, or stop selecting its predictors in the repository's monitor")


RULES: list[Rule] = [
    Rule(
        id="serving-runtime-scope",
        summary="A ServingRuntime made from a template names where the dashboard finds the template",
        explanation=(
            "The dashboard edits a model deployment through the template its ServingRuntime was made from "
            "(`opendatahub.io/template-name`). `opendatahub.io/serving-runtime-scope: global` tells it the template "
            "is in its own namespace (where OpenShift AI ships `kserve-ovms`, `vllm-cuda-runtime-template` and the "
            "other runtime templates); `project` that it is in the runtime's project (a template the project "
            "created). The scope must be `global` unless the repository renders an OpenShift Template of that name "
            "in the runtime's namespace, and `project` when it does; otherwise the dashboard cannot find the "
            "template and cannot edit the deployment (odh-dashboard `packages/kserve/src/deployServer.ts`)."
        ),
        fix="set opendatahub.io/serving-runtime-scope: global for a runtime copied from a platform template",
        check=_check_scope,
        scope=Scope.DEPLOYED,
        escalates_to_production=True,
    ),
    Rule(
        id="serving-runtime-metrics",
        summary="A ServingRuntime tells odh-model-controller which server it runs, so the metrics page works",
        explanation=(
            "odh-model-controller writes a `<isvc>-metrics-dashboard` ConfigMap for every model with the metric "
            "queries of its server, chosen by the runtime's `spec.annotations` `opendatahub.io/kserve-runtime` "
            f"({', '.join(f'`{r}`' for r in KNOWN_RUNTIMES)}); without a known value it writes `supported: false` "
            "and the dashboard shows no metrics for the model (`internal/controller/serving/reconcilers/"
            "kserve_metrics_dashboard_reconciler.go`). The runtime templates set it; a copy must keep it. The "
            "server is recognised by the template name or the image (OpenVINO Model Server, vLLM, TGIS, MLServer, "
            "AutoGluon); runtimes of other servers are not reported when they set nothing, since no value would "
            "give them a metrics page. NVIDIA NIM runtimes are recognised by their own annotation. Warning before "
            "production, error in production."
        ),
        fix="add spec.annotations.opendatahub.io/kserve-runtime: ovms (or vllm, ...) as in the runtime template",
        check=_check_metrics,
        scope=Scope.DEPLOYED,
        escalates_to_production=True,
    ),
    Rule(
        id="monitoring-scrape-once",
        summary="Each model server is scraped once: by odh-model-controller's ServiceMonitor or the repository's own",
        explanation=(
            "A ServingRuntime whose `spec.annotations` set `prometheus.io/port` (and `prometheus.io/path`) makes "
            "odh-model-controller create a `<isvc>-metrics` Service and ServiceMonitor for every model it serves "
            "(`kserve_metrics_service_reconciler.go`, `kserve_metrics_servicemonitor_reconciler.go`). When a "
            "PodMonitor or ServiceMonitor of the repository selects the same predictors in the same namespace, "
            "Prometheus stores every series twice (with different `job`/`endpoint` labels), so every `sum`, "
            "`rate` and ratio in alerts and dashboards is doubled or split. Keep exactly one scrape path per "
            "predictor."
        ),
        fix="drop prometheus.io/port and prometheus.io/path from the runtime, or the repository's monitor of its "
            "predictors",
        check=_check_scrape_once,
        scope=Scope.DEPLOYED,
    ),
]
