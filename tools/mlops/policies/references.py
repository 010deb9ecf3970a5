"""Cross-references: every name an object uses points at something that exists and fits.

Kubernetes accepts an object that names a missing Secret, runtime or AppProject; the failure comes
later and somewhere else: a model server pod stuck in `ContainerCreating`, an InferenceService whose
predictor never appears, an Application Argo CD refuses to sync, an OpenShift AI 3.x admission
webhook that rejects the whole sync because a connection or hardware profile does not exist. These
rules resolve the names inside the rendered objects (one target at a time, or the whole repository
for Argo CD) so the mistake is reported on the line that makes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .monitoring import predictor_labels
from .objects import (
    CONNECTIONS_ANNOTATION,
    KSERVE_GROUP,
    dig,
    is_kind,
    named,
    namespace_of,
    parse_connections,
    pod_spec,
    secret_providers,
    selector_matches,
    where,
)

MONITORING_GROUP = "monitoring.coreos.com"
HARDWARE_PROFILE_GROUP = "infrastructure.opendatahub.io"
PROFILE_ANNOTATION = "opendatahub.io/hardware-profile-name"
PROFILE_NAMESPACE_ANNOTATION = "opendatahub.io/hardware-profile-namespace"
#: Where OpenShift AI keeps global hardware profiles unless DSCInitialization says otherwise.
DEFAULT_APPLICATIONS_NAMESPACE = "redhat-ods-applications"


# --- shared helpers --------------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


# --- isvc-runtime-exists ---------------------------------------------------------------------------


def _format_label(name: Any, version: Any) -> str:
    """KServe's model-format label: `name` or `name:version` (exact match, as the controller does)."""
    return f"{name}:{version}" if version is not None else str(name)


def _runtime_labels(runtime: Manifest, auto_select_only: bool) -> set[str]:
    labels: set[str] = set()
    for entry in dig(runtime.data, "spec", "supportedModelFormats") or []:
        if not isinstance(entry, dict) or entry.get("name") is None:
            continue
        if auto_select_only and entry.get("autoSelect") is not True:
            continue
        labels.add(str(entry["name"]))
        if entry.get("version") is not None:
            labels.add(f"{entry['name']}:{entry['version']}")
    return labels


def _describe_formats(runtime: Manifest) -> str:
    formats = sorted(_runtime_labels(runtime, False))
    return ", ".join(formats) if formats else "no model format"


def _check_runtime(context: PolicyContext) -> Iterator[Violation]:
    cluster_runtimes = [m for m in context.objects(Scope.ALL) if is_kind(m, "ClusterServingRuntime", KSERVE_GROUP)]
    for target in context.targets(Scope.ALL):
        objects = context.manifests[target.name]
        runtimes = [m for m in objects if is_kind(m, "ServingRuntime", KSERVE_GROUP)]
        for isvc in objects:
            if not is_kind(isvc, "InferenceService", KSERVE_GROUP):
                continue
            model = dig(isvc.data, "spec", "predictor", "model")
            if not isinstance(model, dict) or dig(model, "modelFormat", "name") is None:
                continue  # custom containers or 2.x framework predictors: nothing to resolve
            namespace = namespace_of(context, isvc)
            local = [r for r in runtimes if namespace_of(context, r) == namespace]
            fmt_name, fmt_version = dig(model, "modelFormat", "name"), dig(model, "modelFormat", "version")
            label = _format_label(fmt_name, fmt_version)
            shown = f"{fmt_name} version {fmt_version}" if fmt_version is not None else str(fmt_name)
            runtime_name = model.get("runtime")
            if runtime_name:
                runtime = next((r for r in local if r.name == runtime_name), None) or next(
                    (r for r in cluster_runtimes if r.name == runtime_name), None)
                if runtime is None:
                    available = ", ".join(sorted(r.name for r in local)) or "none"
                    yield Violation(
                        f"InferenceService {isvc.name} names runtime {runtime_name!r}, but no ServingRuntime of that "
                        f"name is in namespace {namespace or '?'} of {target.name} and no ClusterServingRuntime of "
                        f"that name is rendered (ServingRuntimes there: {available})",
                        isvc, "spec.predictor.model.runtime")
                elif dig(runtime.data, "spec", "disabled") is True:
                    yield Violation(f"InferenceService {isvc.name} names runtime {runtime_name!r}, which is disabled "
                                    "(spec.disabled: true); KServe refuses to use it", isvc,
                                    "spec.predictor.model.runtime")
                elif label not in _runtime_labels(runtime, False):
                    yield Violation(
                        f"InferenceService {isvc.name} serves model format {shown}, which {runtime.kind} "
                        f"{runtime_name} does not support (it supports {_describe_formats(runtime)})",
                        isvc, "spec.predictor.model.modelFormat",
                        fix=f"set modelFormat to one {runtime_name} lists in spec.supportedModelFormats, or add "
                            f"{shown} there")
                continue
            protocol = model.get("protocolVersion")
            candidates = [
                r for r in local + cluster_runtimes
                if dig(r.data, "spec", "disabled") is not True and dig(r.data, "spec", "multiModel") is not True
                and label in _runtime_labels(r, True)
                and (protocol is None or not dig(r.data, "spec", "protocolVersions")
                     or protocol in (dig(r.data, "spec", "protocolVersions") or []))
            ]
            if not candidates:
                yield Violation(
                    f"InferenceService {isvc.name} names no runtime, and no enabled ServingRuntime in namespace "
                    f"{namespace or '?'} of {target.name} (nor any ClusterServingRuntime) supports model format "
                    f"{shown} with autoSelect: true", isvc, "spec.predictor.model.modelFormat",
                    fix="name the runtime in spec.predictor.model.runtime, or set autoSelect: true on the "
                        "runtime's matching supportedModelFormats entry")


# --- isvc-storage-exists ---------------------------------------------------------------------------


def _check_storage(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.ALL):
        objects = context.manifests[target.name]
        secrets = secret_providers(context, objects)
        claims = named(objects, context, "PersistentVolumeClaim")
        for isvc in objects:
            if not is_kind(isvc, "InferenceService", KSERVE_GROUP):
                continue
            namespace = namespace_of(context, isvc)
            references = [(space, name, f"metadata.annotations.{CONNECTIONS_ANNOTATION}", CONNECTIONS_ANNOTATION)
                          for space, name in parse_connections(isvc.annotations.get(CONNECTIONS_ANNOTATION), namespace)]
            key = dig(isvc.data, "spec", "predictor", "model", "storage", "key")
            if isinstance(key, str) and key:
                references.append((namespace, key, "spec.predictor.model.storage.key", "storage.key"))
            for space, name, path, what in references:
                if space != namespace:
                    yield Violation(f"InferenceService {isvc.name}: {what} names connection {space}/{name} in another "
                                    f"namespace; a model server reads Secrets of its own namespace "
                                    f"{namespace or '?'} only", isvc, path)
                elif (namespace, name) not in secrets:
                    yield Violation(f"InferenceService {isvc.name}: {what} names connection Secret {name!r}, but no "
                                    f"Secret, ExternalSecret or SealedSecret creates it in namespace "
                                    f"{namespace or '?'} of {target.name}", isvc, path)
            uri = dig(isvc.data, "spec", "predictor", "model", "storageUri")
            if isinstance(uri, str) and uri.startswith("pvc://"):
                claim = uri.removeprefix("pvc://").split("/", 1)[0]
                if claim and (namespace, claim) not in claims:
                    yield Violation(f"InferenceService {isvc.name} loads the model from PersistentVolumeClaim "
                                    f"{claim!r} ({uri}), which is not rendered in namespace {namespace or '?'} of "
                                    f"{target.name}", isvc, "spec.predictor.model.storageUri",
                                    fix=f"add the PersistentVolumeClaim {claim} or fix the storageUri")


# --- monitor-selector-matches ----------------------------------------------------------------------

_TEMPLATE_LABELS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "metadata", "labels"),
    "StatefulSet": ("spec", "template", "metadata", "labels"),
    "DaemonSet": ("spec", "template", "metadata", "labels"),
    "ReplicaSet": ("spec", "template", "metadata", "labels"),
    "Job": ("spec", "template", "metadata", "labels"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "metadata", "labels"),
    "Notebook": ("spec", "template", "metadata", "labels"),
}


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _scrape_targets(context: PolicyContext, objects: list[Manifest]) -> tuple[
        list[tuple[str | None, dict[str, str]]], list[tuple[str | None, dict[str, str]]]]:
    """(namespace, labels) of every Service and every pod the target's objects will run."""
    services: list[tuple[str | None, dict[str, str]]] = []
    pods: list[tuple[str | None, dict[str, str]]] = []
    for manifest in objects:
        namespace = namespace_of(context, manifest)
        if is_kind(manifest, "Service", ""):
            services.append((namespace, manifest.labels))
        elif is_kind(manifest, "Pod", ""):
            pods.append((namespace, manifest.labels))
        elif is_kind(manifest, "InferenceService", KSERVE_GROUP):
            service_labels, pod_labels = predictor_labels(manifest, objects)
            services.append((namespace, service_labels))
            pods.append((namespace, pod_labels))
        elif manifest.kind in _TEMPLATE_LABELS and pod_spec(manifest) is not None:
            labels = _labels(dig(manifest.data, *_TEMPLATE_LABELS[manifest.kind]))
            if manifest.kind == "Notebook":  # the notebook controller's StatefulSet adds these
                labels = {**labels, "notebook-name": manifest.name, "statefulset": manifest.name}
            pods.append((namespace, labels))
    return services, pods


def _check_monitor(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.ALL):
        objects = context.manifests[target.name]
        monitors = [m for m in objects if m.group == MONITORING_GROUP and m.kind in ("ServiceMonitor", "PodMonitor")]
        if not monitors:
            continue
        services, pods = _scrape_targets(context, objects)
        for monitor in monitors:
            own = namespace_of(context, monitor)
            namespace_selector = dig(monitor.data, "spec", "namespaceSelector")
            any_namespace = dig(namespace_selector, "any") is True
            names = dig(namespace_selector, "matchNames")
            spaces = [str(n) for n in names] if isinstance(names, list) and names else [own]
            selector = dig(monitor.data, "spec", "selector")
            if selector is None:
                selector = {}
            candidates = services if monitor.kind == "ServiceMonitor" else pods
            if any((any_namespace or space in spaces) and selector_matches(selector, labels)
                   for space, labels in candidates):
                continue
            what = "Service" if monitor.kind == "ServiceMonitor" else "pod (workload template or model predictor)"
            scope = "any namespace" if any_namespace else "namespace " + ", ".join(str(s or "?") for s in spaces)
            yield Violation(f"{monitor.kind} {monitor.name} selects no {what} of {scope} in {target.name} "
                            f"(selector {_show_selector(selector)}); Prometheus scrapes nothing through it",
                            monitor, "spec.selector",
                            fix="make spec.selector match the labels of the Service/pods to scrape "
                                "(KServe predictors: serving.kserve.io/inferenceservice: <name>, component: predictor)")


def _show_selector(selector: Any) -> str:
    if not isinstance(selector, dict) or not selector:
        return "{} (everything)"
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        if isinstance(expression, dict):
            values = ",".join(str(v) for v in expression.get("values") or [])
            parts.append(f"{expression.get('key')} {expression.get('operator')} {values}".strip())
    return "{" + ", ".join(parts) + "}"


# --- hardware-profile-exists -----------------------------------------------------------------------


def _check_hardware_profile(context: PolicyContext) -> Iterator[Violation]:
    objects = list(context.objects(Scope.REPOSITORY))
    default_namespace = next((str(dig(m.data, "spec", "applicationsNamespace")) for m in objects
                              if m.kind == "DSCInitialization" and dig(m.data, "spec", "applicationsNamespace")),
                             DEFAULT_APPLICATIONS_NAMESPACE)
    profiles: set[tuple[str | None, str]] = set()
    legacy: dict[str, str] = {}
    for manifest in objects:
        if manifest.kind != "HardwareProfile":
            continue
        if manifest.group == HARDWARE_PROFILE_GROUP:
            profiles.add((namespace_of(context, manifest), manifest.name))
        else:
            legacy[manifest.name] = manifest.api_version
    for manifest in objects:
        name = manifest.annotations.get(PROFILE_ANNOTATION)
        if not isinstance(name, str) or not name.strip() or manifest.kind == "HardwareProfile":
            continue
        namespace = str(manifest.annotations.get(PROFILE_NAMESPACE_ANNOTATION) or default_namespace)
        if (namespace, name) in profiles:
            continue
        message = (f"{manifest.kind} {manifest.name} names hardware profile {namespace}/{name}, but no HardwareProfile "
                   f"({HARDWARE_PROFILE_GROUP}) {namespace}/{name} is rendered in any target; the OpenShift AI "
                   "webhook rejects the object")
        elsewhere = sorted(str(space) for space, profile in profiles if profile == name)
        if elsewhere:
            message += f" (one exists in namespace {', '.join(elsewhere)}: set {PROFILE_NAMESPACE_ANNOTATION})"
        elif name in legacy:
            message += f" (only a {legacy[name]} one, which OpenShift AI 3.x no longer serves)"
        else:
            message += f" (HardwareProfiles: {', '.join(sorted(where(s, p) for s, p in profiles)) or 'none'})"
        yield Violation(message, manifest, f"metadata.annotations.{PROFILE_ANNOTATION}")


RULES: list[Rule] = [
    Rule(
        id="isvc-runtime-exists",
        summary="An InferenceService names a ServingRuntime that exists and supports its model format",
        explanation=(
            "KServe resolves `spec.predictor.model.runtime` to a ServingRuntime in the model's namespace (or a "
            "ClusterServingRuntime) and checks that the runtime lists the model format in "
            "`spec.supportedModelFormats` (name, and version when the model gives one: `onnx` version `1` "
            "needs an entry `{name: onnx, version: \"1\"}`). When no runtime is named it picks an enabled, "
            "single-model runtime whose matching entry has `autoSelect: true`. Otherwise the InferenceService "
            "stays not ready with \"no runtime found\" and the dashboard shows a model that never serves; the "
            "mistake surfaces only after Argo CD reports the sync as successful."
        ),
        fix="name a ServingRuntime of the same namespace whose supportedModelFormats lists the model's format",
        check=_check_runtime,
    ),
    Rule(
        id="isvc-storage-exists",
        summary="The connection Secret or PVC an InferenceService loads its model from exists",
        explanation=(
            "The connection named by the annotation `opendatahub.io/connections` (3.x) or by "
            "`spec.predictor.model.storage.key` (a key of KServe's `storage-config`, which OpenShift AI builds "
            "from the data connection Secret of that name) must exist in the model's namespace: as a Secret, "
            "or as the target of an ExternalSecret (`spec.target.name`, default its own name) or SealedSecret. "
            "A `pvc://<claim>/...` storageUri needs the PersistentVolumeClaim. OpenShift AI 3.x admission "
            "webhooks reject an InferenceService whose connection does not exist, which fails the whole sync; "
            "without the webhook the storage initializer never gets the credentials and the pod crash-loops."
        ),
        fix="create the connection Secret (or ExternalSecret/SealedSecret) in the model's namespace, or fix the name",
        check=_check_storage,
    ),
    Rule(
        id="monitor-selector-matches",
        summary="Every ServiceMonitor/PodMonitor selects a Service or pod that exists",
        explanation=(
            "A monitor whose selector matches nothing is accepted by the API server and by Prometheus, and "
            "silently scrapes nothing: the alerts built on its metrics never fire. A ServiceMonitor's "
            "`spec.selector` must match the labels of a rendered Service, a PodMonitor's the pod template "
            "labels of a rendered workload, in the namespaces of `spec.namespaceSelector` (its own by default). "
            "KServe predictors (RawDeployment) count as both: their Service and pods carry the "
            "InferenceService's labels plus `serving.kserve.io/inferenceservice: <name>`, `component: "
            "predictor` and `app: isvc.<name>-predictor`; workbench pods carry the Notebook template's labels "
            "and `notebook-name: <name>`."
        ),
        fix="match spec.selector to the labels of the Service (ServiceMonitor) or pods (PodMonitor) to scrape",
        check=_check_monitor,
    ),
    Rule(
        id="hardware-profile-exists",
        summary="Every hardware profile an object names exists",
        explanation=(
            "OpenShift AI 3.x schedules workbenches and model servers through the HardwareProfile named by "
            "`opendatahub.io/hardware-profile-name` in `opendatahub.io/hardware-profile-namespace` (default: "
            "the DSCInitialization's applicationsNamespace, `redhat-ods-applications`). Its admission webhook "
            "rejects an object naming a profile that does not exist, which fails the sync. The profile must be "
            f"an `{HARDWARE_PROFILE_GROUP}` HardwareProfile rendered by some target (usually the platform); "
            "the 2.x `dashboard.opendatahub.io` profiles do not count."
        ),
        fix="add the HardwareProfile (infrastructure.opendatahub.io/v1) to the platform, or fix the name/namespace",
        check=_check_hardware_profile,
        scope=Scope.REPOSITORY,
    ),
]
