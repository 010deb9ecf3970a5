"""Shared ways of looking into rendered objects, so every rule reads pods and selectors alike.

Workloads hide their pod spec in different places (a Deployment's `spec.template.spec`, a
Notebook's `spec.template.spec`, an InferenceService's predictor, a ServingRuntime's `spec`);
rules ask here instead of knowing each shape. The same goes for an object's identity and place:
its kind and group, whether it has a namespace, the namespace its environment gives it, and the
Argo CD objects of the whole repository, each counted once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..manifests import Manifest
from .base import PolicyContext, Scope

#: kind -> dotted path of the pod spec (or pod-spec-like object) inside the object.
_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Notebook": ("spec", "template", "spec"),
    "ServingRuntime": ("spec",),
    "ClusterServingRuntime": ("spec",),
    "InferenceService": ("spec", "predictor"),
}


def dig(data: Any, *keys: str | int) -> Any:
    """`data[k1][k2]...`, or None when any step is missing or of the wrong type."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(data, list) or key >= len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[key] if isinstance(key, int) else data.get(key)
    return data


def pod_spec(manifest: Manifest) -> tuple[str, dict[str, Any]] | None:
    """(dotted path, pod spec) of a workload, or None for other kinds."""
    path = _POD_SPEC_PATHS.get(manifest.kind)
    if path is None:
        return None
    spec = dig(manifest.data, *path)
    return (".".join(path), spec) if isinstance(spec, dict) else None


def containers(manifest: Manifest) -> Iterator[tuple[str, dict[str, Any]]]:
    """(dotted path, container) for every container and init container of a workload.

    For an InferenceService the predictor's `model` block counts as a container too: KServe
    merges it into the runtime's container, and its resources apply to the model server.
    """
    found = pod_spec(manifest)
    if found is None:
        return
    base, spec = found
    for field_name in ("initContainers", "containers"):
        items = spec.get(field_name)
        if isinstance(items, list):
            for index, container in enumerate(items):
                if isinstance(container, dict):
                    yield f"{base}.{field_name}[{index}]", container
    if manifest.kind == "InferenceService" and isinstance(spec.get("model"), dict):
        yield f"{base}.model", spec["model"]


def selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    """Kubernetes label selector semantics (matchLabels and matchExpressions)."""
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels") or {}
    if any(labels.get(key) != str(value) for key, value in match_labels.items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = [str(v) for v in expression.get("values") or []]
        present = key in labels
        if operator == "In" and (not present or labels[key] not in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def by_kind(manifests: Iterable[Manifest], *kinds: str) -> list[Manifest]:
    return [m for m in manifests if m.kind in kinds]


def index(manifests: Iterable[Manifest]) -> dict[tuple[str, str | None, str], Manifest]:
    """Objects by (kind, namespace, name) for reference checks."""
    return {(m.kind, m.namespace, m.name): m for m in manifests}


#: id of a target's object list -> (the list, its length, its first object of each kind by namespace
#: and name). Rules look objects up by name once per InferenceService of a target: a scan of the list
#: each time grew with models times objects (44,000 steps per target and rule at 100 models).
_FIRST_BY_NAME: dict[int, tuple[list[Manifest], int, dict[tuple[str, str | None, str], Manifest]]] = {}


def first_named(objects: list[Manifest], kind: str, namespace: str | None, name: object) -> Manifest | None:
    """The first object of `objects` with this kind, namespace and name (a scan's answer, from an index).

    The index is kept for the last few lists, while each is the same list of the same length
    (a target's rendered objects do not change once delivered).
    """
    if not isinstance(name, str):
        return None  # a name that is no string names nothing
    entry = _FIRST_BY_NAME.get(id(objects))
    if entry is None or entry[0] is not objects or entry[1] != len(objects):
        found: dict[tuple[str, str | None, str], Manifest] = {}
        for manifest in objects:
            found.setdefault((manifest.kind, manifest.namespace, manifest.name), manifest)
        if len(_FIRST_BY_NAME) >= 16:
            _FIRST_BY_NAME.clear()
        entry = _FIRST_BY_NAME[id(objects)] = (objects, len(objects), found)
    return entry[2].get((kind, namespace, name))


# --- identity and placement, shared by the rule families ----------------------------------------

ARGO_GROUP = "argoproj.io"


def mapping(value: Any) -> dict[str, Any]:
    """`value` if it is a mapping, else an empty one: rendered YAML may hold anything anywhere."""
    return value if isinstance(value, dict) else {}

#: Kinds without a namespace, so the same name in two targets is the same object.
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Project", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
    "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration", "APIService", "SecurityContextConstraints", "ClusterResourceQuota",
    "DataScienceCluster", "DSCInitialization", "ClusterServingRuntime", "ClusterSecretStore",
    "ClusterExternalSecret", "ClusterIssuer", "GatewayClass", "ConsoleLink", "ConsolePlugin",
    "ConsoleNotification", "ClusterQueue", "ResourceFlavor", "ClusterPolicy", "Auth",
})


def is_kind(manifest: Manifest, kind: str, group: str) -> bool:
    """Kind and API group both match (a kind name alone is ambiguous across groups)."""
    return manifest.kind == kind and manifest.group == group


def where(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def namespace_of(context: PolicyContext, manifest: Manifest) -> str | None:
    """The object's namespace, or the one its environment's overlay puts it in."""
    if manifest.namespace:
        return manifest.namespace
    targets = {target.name: target for target in context.config.all_targets}
    target = targets.get(manifest.environment)
    return target.namespace if target else None


def unique_objects(context: PolicyContext, kind: str, group: str = ARGO_GROUP) -> list[Manifest]:
    """Objects of a kind across all targets, once each (the first target that renders it wins)."""
    seen: dict[tuple[str | None, str], Manifest] = {}
    for manifest in context.objects(Scope.REPOSITORY):
        if is_kind(manifest, kind, group):
            seen.setdefault((manifest.namespace, manifest.name), manifest)
    return list(seen.values())


# --- names objects give each other, shared by the reference, connection and dashboard rules --------

KSERVE_GROUP = "serving.kserve.io"
CONNECTIONS_ANNOTATION = "opendatahub.io/connections"


def secret_providers(context: PolicyContext, objects: Iterable[Manifest]) -> dict[tuple[str | None, str], Manifest]:
    """(namespace, Secret name) -> the object that makes the Secret exist.

    A Secret exists when it is rendered itself, or when an ExternalSecret (target name, by default
    its own) or a SealedSecret (template name, by default its own) will create it.
    """
    found: dict[tuple[str | None, str], Manifest] = {}
    for manifest in objects:
        if is_kind(manifest, "Secret", ""):
            name: Any = manifest.name
        elif is_kind(manifest, "ExternalSecret", "external-secrets.io"):
            name = dig(manifest.data, "spec", "target", "name") or manifest.name
        elif is_kind(manifest, "SealedSecret", "bitnami.com"):
            name = dig(manifest.data, "spec", "template", "metadata", "name") or manifest.name
        else:
            continue
        found.setdefault((namespace_of(context, manifest), str(name)), manifest)
    return found


def named(objects: Iterable[Manifest], context: PolicyContext, kind: str,
          group: str = "") -> set[tuple[str | None, str]]:
    return {(namespace_of(context, m), m.name) for m in objects if is_kind(m, kind, group)}


def parse_connections(value: Any, namespace: str | None) -> list[tuple[str | None, str]]:
    """Entries of `opendatahub.io/connections`: `<secret>` or `<namespace>/<secret>`, comma-separated."""
    if not isinstance(value, str):
        return []
    result: list[tuple[str | None, str]] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        space, _, name = item.rpartition("/")
        result.append((space or namespace, name))
    return result
