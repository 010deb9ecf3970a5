"""Cross-references: every name an object uses points at something that exists and fits.

Kubernetes accepts an object that names a missing Secret, runtime or AppProject; the failure comes
later and somewhere else: a model server pod stuck in `ContainerCreating`, an InferenceService whose
predictor never appears, an Application Argo CD refuses to sync, an OpenShift AI 3.x admission
webhook that rejects the whole sync because a connection or hardware profile does not exist. These
rules resolve the names inside the rendered objects (one target at a time, or the whole repository
for Argo CD) so the mistake is reported on the line that makes it.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..config import Target
from ..findings import Severity
from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .monitoring import predictor_labels
from .objects import (
    CLUSTER_SCOPED_KINDS,
    containers,
    dig,
    is_kind,
    namespace_of,
    pod_spec,
    selector_matches,
    unique_objects,
    where,
)

KSERVE_GROUP = "serving.kserve.io"
MONITORING_GROUP = "monitoring.coreos.com"
HARDWARE_PROFILE_GROUP = "infrastructure.opendatahub.io"
CONNECTIONS_ANNOTATION = "opendatahub.io/connections"
PROFILE_ANNOTATION = "opendatahub.io/hardware-profile-name"
PROFILE_NAMESPACE_ANNOTATION = "opendatahub.io/hardware-profile-namespace"
#: Where OpenShift AI keeps global hardware profiles unless DSCInitialization says otherwise.
DEFAULT_APPLICATIONS_NAMESPACE = "redhat-ods-applications"
IN_CLUSTER = "https://kubernetes.default.svc"

#: ConfigMaps OpenShift or OpenShift AI creates in every project (CA bundles, Elyra runtime images),
#: which Notebooks copied from a cluster mount without the repository declaring them.
PLATFORM_CONFIGMAPS = frozenset({
    "kube-root-ca.crt", "openshift-service-ca.crt", "odh-trusted-ca-bundle", "odh-kserve-custom-ca-bundle",
    "workbench-trusted-ca-bundle", "pipeline-runtime-images",
})
#: Secrets the notebook controller creates for the Elyra pipeline runtime.
PLATFORM_SECRETS = frozenset({"ds-pipeline-config"})
#: Containers and volumes the notebook controller injects (auth sidecar, CA bundle, Elyra); their
#: Secrets and ConfigMaps are the controller's, not the repository's.
_INJECTED_CONTAINERS = frozenset({"oauth-proxy", "kube-rbac-proxy"})
_INJECTED_VOLUME = re.compile(r"^(trusted-ca|runtime-images|elyra-dsp-details)$|oauth|kube-rbac-proxy|-tls$")
#: Directories never listed by Argo CD's git generator (not in Git, or tool caches).
_SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "venv"})
_TEMPLATE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")


# --- shared helpers --------------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


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


# --- notebook-refs-exist ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ref:
    kind: str  # Secret, ConfigMap, PersistentVolumeClaim
    name: str
    path: str
    namespace: str | None = None  # None: the notebook's own


def _notebook_refs(notebook: Manifest) -> Iterator[_Ref]:
    for space, name in parse_connections(notebook.annotations.get(CONNECTIONS_ANNOTATION), None):
        yield _Ref("Secret", name, f"metadata.annotations.{CONNECTIONS_ANNOTATION}", space)
    found = pod_spec(notebook)
    if found is None:
        return
    base, spec = found
    for index, volume in enumerate(spec.get("volumes") or []):
        if not isinstance(volume, dict) or _INJECTED_VOLUME.search(str(volume.get("name", ""))):
            continue
        at = f"{base}.volumes[{index}]"
        claim = dig(volume, "persistentVolumeClaim", "claimName")
        if claim:
            yield _Ref("PersistentVolumeClaim", str(claim), f"{at}.persistentVolumeClaim.claimName")
        secret = volume.get("secret")
        if isinstance(secret, dict) and secret.get("secretName") and secret.get("optional") is not True:
            yield _Ref("Secret", str(secret["secretName"]), f"{at}.secret.secretName")
        config_map = volume.get("configMap")
        if isinstance(config_map, dict) and config_map.get("name") and config_map.get("optional") is not True:
            yield _Ref("ConfigMap", str(config_map["name"]), f"{at}.configMap.name")
        for source_index, source in enumerate(dig(volume, "projected", "sources") or []):
            for field_name, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                item = source.get(field_name) if isinstance(source, dict) else None
                if isinstance(item, dict) and item.get("name") and item.get("optional") is not True:
                    yield _Ref(kind, str(item["name"]), f"{at}.projected.sources[{source_index}].{field_name}.name")
    for at, container in containers(notebook):
        if container.get("name") in _INJECTED_CONTAINERS:
            continue
        for index, source in enumerate(container.get("envFrom") or []):
            for field_name, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                item = source.get(field_name) if isinstance(source, dict) else None
                if isinstance(item, dict) and item.get("name") and item.get("optional") is not True:
                    yield _Ref(kind, str(item["name"]), f"{at}.envFrom[{index}].{field_name}.name")
        for index, variable in enumerate(container.get("env") or []):
            for field_name, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                item = dig(variable, "valueFrom", field_name)
                if isinstance(item, dict) and item.get("name") and item.get("optional") is not True:
                    yield _Ref(kind, str(item["name"]), f"{at}.env[{index}].valueFrom.{field_name}.name")


def _check_notebook(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.ALL):
        objects = context.manifests[target.name]
        existing = {
            "Secret": set(secret_providers(context, objects)),
            "ConfigMap": named(objects, context, "ConfigMap"),
            "PersistentVolumeClaim": named(objects, context, "PersistentVolumeClaim"),
        }
        for notebook in objects:
            if not is_kind(notebook, "Notebook", "kubeflow.org"):
                continue
            namespace = namespace_of(context, notebook)
            for ref in _notebook_refs(notebook):
                if ref.kind == "ConfigMap" and ref.name in PLATFORM_CONFIGMAPS:
                    continue
                if ref.kind == "Secret" and ref.name in PLATFORM_SECRETS:
                    continue
                space = ref.namespace or namespace
                if space != namespace:
                    yield Violation(f"Notebook {notebook.name} names {ref.kind} {space}/{ref.name} in another "
                                    f"namespace; a workbench can only use objects of its own namespace "
                                    f"{namespace or '?'}", notebook, ref.path)
                    continue
                if (namespace, ref.name) in existing[ref.kind]:
                    continue
                creators = "a Secret, ExternalSecret or SealedSecret" if ref.kind == "Secret" else f"a {ref.kind}"
                yield Violation(f"Notebook {notebook.name} uses {ref.kind} {ref.name!r}, but {creators} of that name "
                                f"is not rendered in namespace {namespace or '?'} of {target.name}; the workbench "
                                "pod would not start", notebook, ref.path,
                                fix=f"add the {ref.kind} {ref.name} to the overlay (or fix the name)")


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


# --- Argo CD: Applications, generated Applications, repository URL ---------------------------------


@dataclass(frozen=True)
class App:
    """An Application, rendered or generated by an ApplicationSet (then `manifest` is the set)."""

    manifest: Manifest
    name: str
    prefix: str  # JSON path of the Application spec inside `manifest`
    spec: dict[str, Any]

    @property
    def generated(self) -> bool:
        return self.manifest.kind == "ApplicationSet"

    @property
    def label(self) -> str:
        return (f"Application {self.name} (generated by ApplicationSet {self.manifest.name})" if self.generated
                else f"Application {self.name}")

    def sources(self) -> Iterator[tuple[str, dict[str, Any]]]:
        source = self.spec.get("source")
        if isinstance(source, dict):
            yield f"{self.prefix}.source", source
        for index, item in enumerate(self.spec.get("sources") or []):
            if isinstance(item, dict):
                yield f"{self.prefix}.sources[{index}]", item

    @property
    def destination(self) -> dict[str, str]:
        destination = self.spec.get("destination")
        return {str(k): str(v) for k, v in destination.items()} if isinstance(destination, dict) else {}


def _lookup(params: dict[str, Any], expression: str) -> Any:
    if expression in params:  # fasttemplate keys are flat: `path.basename`, `path[1]`
        return params[expression]
    value: Any = params
    for part in expression.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def render_template(text: str, params: dict[str, Any], go: bool) -> str | None:
    """Substitute ApplicationSet parameters into one string; None when something stays unknown."""
    unresolved = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal unresolved
        expression = match.group(1).strip()
        value: Any = None
        if go:
            index = re.fullmatch(r"index\s+\.([\w.]+)\s+(\d+)", expression)
            if index:
                items = _lookup(params, index.group(1))
                value = items[int(index.group(2))] if isinstance(items, list) and int(index.group(2)) < len(items) \
                    else None
            elif expression.startswith("."):
                value = _lookup(params, expression[1:])
        else:
            value = _lookup(params, expression)
        if _str(value) is None:
            unresolved = True
            return match.group(0)
        return str(value)

    result = _TEMPLATE.sub(substitute, text)
    return None if unresolved else result


def _render_tree(value: Any, params: dict[str, Any], go: bool) -> Any:
    if isinstance(value, dict):
        return {k: _render_tree(v, params, go) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_tree(v, params, go) for v in value]
    if isinstance(value, str) and "{{" in value:
        rendered = render_template(value, params, go)
        return value if rendered is None else rendered
    return value


def repo_dirs(context: PolicyContext) -> list[str]:
    """Every folder of the repository (relative, POSIX), as Argo CD's git generator lists them."""
    cached = context.cache.get("references.repo_dirs")
    if isinstance(cached, list):
        return cached
    root = context.root
    found: list[str] = []
    for folder, subfolders, _ in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d not in _SKIPPED_DIRS)
        relative = Path(folder).relative_to(root).as_posix()
        if relative != ".":
            found.append(relative)
    context.cache["references.repo_dirs"] = found
    return found


def path_match(pattern: str, path: str) -> bool:
    """Go's `path.Match`, which Argo CD's git generator uses: `*` never crosses a `/`."""
    pattern_parts, path_parts = pattern.strip("/").split("/"), path.strip("/").split("/")
    if len(pattern_parts) != len(path_parts):
        return False
    return all(fnmatch.fnmatchcase(part, glob.replace("[^", "[!"))
               for glob, part in zip(pattern_parts, path_parts, strict=True))


def _git_directories(context: PolicyContext, directories: list[Any]) -> list[str]:
    entries = [d for d in directories if isinstance(d, dict) and d.get("path")]
    includes = [str(d["path"]) for d in entries if not d.get("exclude")]
    excludes = [str(d["path"]) for d in entries if d.get("exclude")]
    return [p for p in repo_dirs(context)
            if any(path_match(g, p) for g in includes) and not any(path_match(g, p) for g in excludes)]


def _git_params(path: str, go: bool) -> dict[str, Any]:
    segments = path.split("/")
    basename = segments[-1]
    normalized = re.sub(r"[^a-zA-Z0-9-]", "-", basename).lower()
    if go:
        return {"path": {"path": path, "basename": basename, "basenameNormalized": normalized, "segments": segments}}
    params: dict[str, Any] = {"path": path, "path.basename": basename, "path.basenameNormalized": normalized}
    params.update({f"path[{i}]": s for i, s in enumerate(segments)})
    return params


def generator_params(context: PolicyContext, generator: Any, go: bool) -> tuple[list[dict[str, Any]], bool]:
    """Parameter sets a generator produces, and whether they are all known (list, git directories, matrix)."""
    if not isinstance(generator, dict):
        return [], False
    if isinstance(generator.get("list"), dict):
        elements = generator["list"].get("elements")
        if not isinstance(elements, list) or generator["list"].get("elementsYaml"):
            return [], False
        return [dict(e) for e in elements if isinstance(e, dict)], True
    if isinstance(generator.get("git"), dict):
        directories = generator["git"].get("directories")
        if not isinstance(directories, list) or generator["git"].get("files"):
            return [], False
        return [_git_params(p, go) for p in _git_directories(context, directories)], True
    if isinstance(generator.get("matrix"), dict):
        children = generator["matrix"].get("generators") or []
        results = [generator_params(context, child, go) for child in children]
        if len(results) != 2:
            return [], False
        combined = [{**a, **b} for a, b in itertools.product(results[0][0], results[1][0])]
        return combined, results[0][1] and results[1][1]
    return [], False


def appset_params(context: PolicyContext, appset: Manifest) -> tuple[list[dict[str, Any]], bool]:
    go = dig(appset.data, "spec", "goTemplate") is True
    params: list[dict[str, Any]] = []
    complete = True
    for generator in dig(appset.data, "spec", "generators") or []:
        found, known = generator_params(context, generator, go)
        params += found
        complete = complete and known
    return params, complete


def applications(context: PolicyContext) -> tuple[list[App], list[Manifest]]:
    """Every Application (rendered or generated), and ApplicationSets whose output is not fully known."""
    cached = context.cache.get("references.applications")
    if isinstance(cached, tuple):
        return cached
    apps: list[App] = []
    unknown: list[Manifest] = []
    for manifest in unique_objects(context, "Application"):
        spec = dig(manifest.data, "spec")
        if isinstance(spec, dict):
            apps.append(App(manifest, manifest.name, "spec", spec))
    for appset in unique_objects(context, "ApplicationSet"):
        template = dig(appset.data, "spec", "template")
        if not isinstance(template, dict):
            continue
        go = dig(appset.data, "spec", "goTemplate") is True
        params, complete = appset_params(context, appset)
        if not complete:
            unknown.append(appset)
        for param in params:
            rendered = _render_tree(template, param, go)
            spec = rendered.get("spec")
            if isinstance(spec, dict):
                name = dig(rendered, "metadata", "name")
                apps.append(App(appset, str(name) if name else appset.name, "spec.template.spec", spec))
        if not params and not complete:
            spec = template.get("spec")
            if isinstance(spec, dict):  # unknown generator: the template as written still tells something
                apps.append(App(appset, appset.name, "spec.template.spec", spec))
    result = (apps, unknown)
    context.cache["references.applications"] = result
    return result


def normalize_repo(url: str) -> str:
    """Argo CD compares repository URLs case-insensitively and without `.git` or a trailing `/`."""
    url = url.strip().lower().rstrip("/")
    return url.removesuffix(".git")


def _is_glob(value: str) -> bool:
    return any(c in value for c in "*?[")


@dataclass(frozen=True)
class _RepoUse:
    manifest: Manifest
    path: str
    url: str


def _repo_uses(context: PolicyContext) -> list[_RepoUse]:
    uses: list[_RepoUse] = []

    def from_generators(manifest: Manifest, generators: Any, base: str) -> None:
        for index, generator in enumerate(generators if isinstance(generators, list) else []):
            if not isinstance(generator, dict):
                continue
            url = dig(generator, "git", "repoURL")
            if isinstance(url, str):
                uses.append(_RepoUse(manifest, f"{base}[{index}].git.repoURL", url))
            for nested in ("matrix", "merge"):
                if isinstance(generator.get(nested), dict):
                    from_generators(manifest, generator[nested].get("generators"),
                                    f"{base}[{index}].{nested}.generators")

    for kind, prefix in (("Application", "spec"), ("ApplicationSet", "spec.template.spec")):
        for manifest in unique_objects(context, kind):
            spec = dig(manifest.data, *prefix.split("."))
            if not isinstance(spec, dict):
                continue
            app = App(manifest, manifest.name, prefix, spec)
            for path, source in app.sources():
                url = source.get("repoURL")
                if isinstance(url, str) and not source.get("chart") and "{{" not in url:
                    uses.append(_RepoUse(manifest, f"{path}.repoURL", url))
            if kind == "ApplicationSet":
                from_generators(manifest, dig(manifest.data, "spec", "generators"), "spec.generators")
    for project in unique_objects(context, "AppProject"):
        for index, url in enumerate(dig(project.data, "spec", "sourceRepos") or []):
            if isinstance(url, str):
                uses.append(_RepoUse(project, f"spec.sourceRepos[{index}]", url))
    return uses


def repository_url(context: PolicyContext) -> str | None:
    """The repository's own URL: the one most places name (first named on a tie)."""
    uses = [u for u in _repo_uses(context) if not _is_glob(u.url) and "{{" not in u.url]
    if not uses:
        return None
    counts = Counter(normalize_repo(u.url) for u in uses)
    best = max(counts.values())
    return next(u.url for u in uses if counts[normalize_repo(u.url)] == best)


def _own_repo(context: PolicyContext, url: Any) -> bool:
    own = repository_url(context)
    return own is None or not isinstance(url, str) or normalize_repo(url) == normalize_repo(own)


def _clean_path(path: str) -> str:
    cleaned = PurePosixPath(path.strip()).as_posix()
    return "" if cleaned == "." else cleaned.removeprefix("./").rstrip("/")


def _target_paths(context: PolicyContext) -> dict[str, Target]:
    return {_clean_path(t.path): t for t in context.config.all_targets}


def _check_source_path(context: PolicyContext) -> Iterator[Violation]:
    apps, _ = applications(context)
    targets = _target_paths(context)
    known = ", ".join(sorted(targets)) or "none"
    for app in apps:
        for at, source in app.sources():
            path = source.get("path")
            if not isinstance(path, str) or source.get("chart") or "{{" in path:
                continue
            if not _own_repo(context, source.get("repoURL")):
                continue
            cleaned = _clean_path(path)
            folder = context.root / cleaned
            if not folder.is_dir():
                yield Violation(f"{app.label} syncs path {path!r}, which does not exist in the repository",
                                app.manifest, f"{at}.path")
            elif cleaned not in targets:
                yield Violation(f"{app.label} syncs path {path!r}, which is no environment or target of mlops.yaml "
                                f"({known}), so `mlops validate` never renders what Argo CD applies",
                                app.manifest, f"{at}.path",
                                fix=f"add {{name: ..., path: {cleaned}}} under targets in mlops.yaml, or point the "
                                    "Application at one of its targets")


def _generator_globs(generators: Any, base: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(JSON path, entry, kind) of every git directory/file entry, nested generators included."""
    for index, generator in enumerate(generators if isinstance(generators, list) else []):
        if not isinstance(generator, dict):
            continue
        git = generator.get("git")
        if isinstance(git, dict):
            for field_name in ("directories", "files"):
                for item_index, entry in enumerate(git.get(field_name) or []):
                    if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                        yield f"{base}[{index}].git.{field_name}[{item_index}].path", {**entry, "repoURL":
                                                                                         git.get("repoURL")}, field_name
        for nested in ("matrix", "merge"):
            if isinstance(generator.get(nested), dict):
                yield from _generator_globs(generator[nested].get("generators"), f"{base}[{index}].{nested}.generators")


def _repo_files(context: PolicyContext) -> list[str]:
    cached = context.cache.get("references.repo_files")
    if isinstance(cached, list):
        return cached
    found: list[str] = []
    for folder in ["", *repo_dirs(context)]:
        base = context.root / folder
        try:
            names = sorted(n for n in os.listdir(base) if (base / n).is_file())
        except OSError:
            continue
        found += [f"{folder}/{n}" if folder else n for n in names]
    context.cache["references.repo_files"] = found
    return found


def _check_generator_path(context: PolicyContext) -> Iterator[Violation]:
    for appset in unique_objects(context, "ApplicationSet"):
        for at, entry, field_name in _generator_globs(dig(appset.data, "spec", "generators"), "spec.generators"):
            if entry.get("exclude") or not _own_repo(context, entry.get("repoURL")) or "{{" in entry["path"]:
                continue
            pattern = entry["path"]
            candidates = repo_dirs(context) if field_name == "directories" else _repo_files(context)
            if any(path_match(pattern, candidate) for candidate in candidates):
                continue
            what = "folder" if field_name == "directories" else "file"
            yield Violation(f"ApplicationSet {appset.name}: git generator path {pattern!r} matches no {what} of the "
                            "repository, so it generates no Application", appset, at,
                            fix=f"fix the glob (`*` matches one path segment, as Go's path.Match) to match the "
                                f"{what}s to deploy")


def _same_cluster(first: dict[str, str], second: dict[str, str]) -> bool:
    return _cluster(first) == _cluster(second)


def _cluster(destination: dict[str, str]) -> str:
    server = destination.get("server", "").rstrip("/")
    if server:
        return server
    name = destination.get("name", "")
    return IN_CLUSTER if name in ("", "in-cluster") else f"name:{name}"


def _check_appset_environments(context: PolicyContext) -> Iterator[Violation]:
    apps, unknown = applications(context)
    environments = {_clean_path(env.path): env for env in context.config.environments}
    parents = {str(PurePosixPath(p).parent) for p in environments}
    for appset in unique_objects(context, "ApplicationSet"):
        if appset in unknown:
            continue  # generators we cannot expand (clusters, SCM, pull requests): nothing to compare
        generated: dict[str, App] = {}
        for app in apps:
            if app.manifest is not appset:
                continue
            for _, source in app.sources():
                path = source.get("path")
                if isinstance(path, str) and "{{" not in path and _own_repo(context, source.get("repoURL")):
                    generated.setdefault(_clean_path(path), app)
        if not any(p in environments or str(PurePosixPath(p).parent) in parents for p in generated):
            continue  # an ApplicationSet for something else than the environments
        for path, env in environments.items():
            found = generated.get(path)
            if found is None:
                yield Violation(f"ApplicationSet {appset.name} generates no Application for environment {env.name} "
                                f"({path}), so Argo CD never deploys it", appset, "spec.generators",
                                fix=f"add an element for {env.name} (path {path}) to the generator")
                continue
            app = found
            destination = app.destination
            namespace = destination.get("namespace")
            if env.namespace and namespace and "{{" not in namespace and namespace != env.namespace:
                yield Violation(f"{app.label} deploys environment {env.name} into namespace {namespace!r}, but "
                                f"mlops.yaml says {env.namespace!r}", appset, "spec.template.spec.destination",
                                fix="use the same namespace in the generator and in mlops.yaml")
            if env.destination and destination and not any("{{" in v for v in destination.values()) \
                    and not _same_cluster(env.destination, destination):
                yield Violation(f"{app.label} deploys environment {env.name} to cluster {_cluster(destination)}, but "
                                f"mlops.yaml's destination is {_cluster(env.destination)}", appset,
                                "spec.template.spec.destination",
                                fix="use the same destination in the generator and in mlops.yaml")
        for path, app in generated.items():
            if path not in environments and (context.root / path).is_dir():
                yield Violation(f"ApplicationSet {appset.name} generates {app.label.split(' (')[0]} for {path}, which "
                                "is no environment of mlops.yaml", appset, "spec.generators",
                                fix=f"remove {path} from the generator, or add it as an environment to mlops.yaml")


# --- Argo CD: projects, owners, repository URL -----------------------------------------------------


def _project_refs(context: PolicyContext) -> Iterator[tuple[App, str]]:
    apps, _ = applications(context)
    seen: set[tuple[int, str]] = set()
    for app in apps:
        project = app.spec.get("project")
        if not isinstance(project, str) or "{{" in project:
            continue
        key = (id(app.manifest), project)
        if key in seen:
            continue
        seen.add(key)
        yield app, project


def _check_project(context: PolicyContext) -> Iterator[Violation]:
    projects = {m.name for m in unique_objects(context, "AppProject")}
    for app, project in _project_refs(context):
        if project == "default" or project in projects:
            continue
        known = ", ".join(sorted(projects)) or "none"
        yield Violation(f"{app.label} names AppProject {project!r}, which no target renders (AppProjects: {known}); "
                        "Argo CD refuses to sync it", app.manifest, f"{app.prefix}.project")


def _check_default_project(context: PolicyContext) -> Iterator[Violation]:
    projects = {m.name for m in unique_objects(context, "AppProject")}
    if "default" in projects:
        return  # the repository restricts the default project itself
    for app, project in _project_refs(context):
        if project == "default":
            yield Violation(f"{app.label} uses the AppProject 'default', which allows any repository, destination "
                            "and kind", app.manifest, f"{app.prefix}.project")


def owners(context: PolicyContext) -> dict[str, list[tuple[App, str]]]:
    """Target name -> the Applications that sync it (from this repository), with their source's path."""
    apps, _ = applications(context)
    targets = _target_paths(context)
    by_target: dict[str, list[tuple[App, str]]] = {}
    for app in apps:
        for at, source in app.sources():
            path = source.get("path")
            if not isinstance(path, str) or source.get("chart") or not _own_repo(context, source.get("repoURL")):
                continue
            target = targets.get(_clean_path(path))
            if target is not None and target.name in context.manifests:
                by_target.setdefault(target.name, []).append((app, at))
    return by_target


def _check_single_owner(context: PolicyContext) -> Iterator[Violation]:
    apps, _ = applications(context)
    # Without Argo CD objects in the repository, each target stands for the Application that syncs it.
    owners_by_target = owners(context) if apps else {}
    names: dict[str, list[str]] = {}
    for target in context.targets(Scope.REPOSITORY):
        found = owners_by_target.get(target.name, [])
        if apps and not found:
            continue  # nothing in the repository syncs it
        names[target.name] = sorted({app.name for app, _ in found}) or [f"target {target.name}"]
        by_cluster: dict[str, App] = {}
        for app, at in found:
            earlier = by_cluster.setdefault(_cluster(app.destination), app)
            if earlier.name != app.name:
                yield Violation(f"{app.label} and {earlier.label} both sync {target.path} to "
                                f"{_cluster(app.destination)}, so every object of it has two owners that overwrite "
                                "each other", app.manifest, f"{at}.path",
                                fix="let exactly one Application sync each path per cluster")
    seen: dict[tuple[str, str, str | None, str, str], tuple[Target, Manifest]] = {}
    for target in context.targets(Scope.REPOSITORY):
        if target.name not in names:
            continue
        found = owners_by_target.get(target.name, [])
        app_destination = found[0][0].destination if found else {}
        cluster = _cluster(target.destination or app_destination)
        default_namespace = target.namespace or app_destination.get("namespace")
        for manifest in context.manifests[target.name]:
            namespace = None if manifest.kind in CLUSTER_SCOPED_KINDS else (manifest.namespace or default_namespace)
            key = (manifest.group, manifest.kind, namespace, manifest.name, cluster)
            first, first_manifest = seen.setdefault(key, (target, manifest))
            if first.name == target.name or names[first.name] == names[target.name]:
                continue
            # Blame the environment when a platform-level target owns the object too: environments
            # should not carry cluster-level objects; otherwise blame the later target.
            if first.is_environment and not target.is_environment:
                culprit, owner, other = first_manifest, first, target
            else:
                culprit, owner, other = manifest, target, first
            yield Violation(
                f"{manifest.kind} {where(namespace, manifest.name)} is rendered by {owner.name} "
                f"({', '.join(names[owner.name])}) and by {other.name} ({', '.join(names[other.name])}) for "
                "the same cluster: two Applications own it, overwrite each other and prune it when either drops it",
                culprit, "metadata.name",
                fix=f"declare the {manifest.kind} in one of the two targets only (e.g. in a base only one of them "
                    "includes)")


def _check_repo_url(context: PolicyContext) -> Iterator[Violation]:
    own = repository_url(context)
    if own is None:
        return
    canonical = normalize_repo(own)
    for use in _repo_uses(context):
        if "{{" in use.url:
            continue
        if _is_glob(use.url):
            if fnmatch.fnmatchcase(canonical, normalize_repo(use.url)):
                continue
        elif normalize_repo(use.url) == canonical:
            continue
        yield Violation(f"{use.manifest.kind} {use.manifest.name} names repository {use.url!r}, but the rest of the "
                        f"repository uses {own!r}", use.manifest, use.path,
                        fix=f"write {own} here (or change every other place), ideally from one kustomize replacement")


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


_REPOSITORY_NOTE = (
    " The check looks at every target of mlops.yaml together, and names only this repository's paths "
    "(sources of other repositories are left alone, and reported by `argocd-repo-url`)."
)

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
        id="notebook-refs-exist",
        summary="The PVCs, Secrets, ConfigMaps and connections a Notebook uses exist",
        explanation=(
            "A workbench pod whose volume names a missing PersistentVolumeClaim stays Pending, and one that "
            "mounts or reads a missing Secret or ConfigMap (volumes, projected volumes, envFrom, env "
            "valueFrom; unless marked `optional`) never starts; the dashboard shows it as starting forever. "
            "Secrets may come from an ExternalSecret or SealedSecret. The `opendatahub.io/connections` "
            "annotation (`<namespace>/<secret>`) must name connections of the workbench's own namespace. "
            "Objects the platform creates in every project (CA bundles, `pipeline-runtime-images`, "
            "`ds-pipeline-config`) and volumes and sidecars the notebook controller injects are not checked."
        ),
        fix="add the missing object to the overlay, or fix the name in the Notebook",
        check=_check_notebook,
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
        id="argocd-source-path",
        summary="Every Argo CD source path exists and is an environment or target of mlops.yaml",
        explanation=(
            "`spec.source.path` and every `spec.sources[].path` of an Application (and of the Applications an "
            "ApplicationSet generates) must be a folder of the repository, or Argo CD reports "
            "\"app path does not exist\" and syncs nothing. It must also be an environment or target of "
            "`mlops.yaml`: otherwise `mlops validate` never renders what Argo CD applies, and nothing checks it."
            + _REPOSITORY_NOTE
        ),
        fix="point the Application at an environment or target of mlops.yaml, or add the path to its targets",
        check=_check_source_path,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-generator-path",
        summary="Every git generator path of an ApplicationSet matches a folder (or file) of the repository",
        explanation=(
            "The git directory generator lists the repository's folders and keeps those matching "
            "`directories[].path` with Go's `path.Match` (`*` matches one path segment, never a `/`; `**` is "
            "not special). A glob that matches nothing generates no Application, and the ApplicationSet stays "
            "healthy: the environment simply never exists. Excluded entries are not checked."
            + _REPOSITORY_NOTE
        ),
        fix="fix the glob so that it matches the folders to deploy",
        check=_check_generator_path,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-appset-environments",
        summary="The environment ApplicationSet generates exactly the environments of mlops.yaml",
        explanation=(
            "An ApplicationSet whose generated paths include an environment path (or a sibling folder such as "
            "`overlays/<x>`) must generate one Application for every environment of `mlops.yaml` (by its "
            "path), with the same destination namespace and cluster, and none for a folder that is no "
            "environment. Otherwise `mlops promote` pins a version in an environment Argo CD never deploys, "
            "or Argo CD deploys an overlay nobody promotes to. List and git-directory generators (and a matrix "
            "of them) are expanded; ApplicationSets with other generators are not checked."
            + _REPOSITORY_NOTE
        ),
        fix="make the generator list exactly the environments of mlops.yaml, with their paths and namespaces",
        check=_check_appset_environments,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-project-exists",
        summary="Every Application names an AppProject the repository renders",
        explanation=(
            "Argo CD does not sync an Application whose `spec.project` (or an ApplicationSet template's) "
            "names a missing AppProject (\"application references project X which does not exist\"). The "
            "AppProject must be rendered by one of the targets, so that it exists whenever the Application "
            "does. `default` is reported by `argocd-default-project` instead."
        ),
        fix="name an AppProject rendered by the repository (e.g. in base/argocd), or add it",
        check=_check_project,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-default-project",
        summary="Applications use a dedicated AppProject, not `default`",
        explanation=(
            "The `default` AppProject allows every source repository, every destination and every kind, so an "
            "Application in it can deploy anything anywhere, and a mistake in one overlay can overwrite "
            "cluster objects. A dedicated AppProject limits what each Application may touch. Unless the "
            "repository renders its own, restricted `default` AppProject."
        ),
        fix="create an AppProject for these Applications and name it in spec.project",
        check=_check_default_project,
        severity=Severity.WARNING,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-single-owner",
        summary="No object is synced by two Applications",
        explanation=(
            "When two Applications render the same object for the same cluster (a cluster-scoped object, or a "
            "namespaced object with the same kind, namespace and name), they overwrite each other on every "
            "sync, Argo CD marks it as shared and out of sync, and when either Application stops rendering it, "
            "its pruning deletes the object under the other. Targets are matched to Applications by source "
            "path; the cluster and default namespace come from the target's `destination`/`namespace` in "
            "`mlops.yaml`, else from the Application. Two Applications syncing the same path to the same "
            "cluster are reported too."
        ),
        fix="declare each object in exactly one target",
        check=_check_single_owner,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-repo-url",
        summary="The Git repository URL is the same in every Application, ApplicationSet and AppProject",
        explanation=(
            "A fork changes the repository URL; one place left behind makes an Application sync from the "
            "original repository (or fail, when an AppProject's `sourceRepos` no longer allows it). Every "
            "`repoURL` of Application and ApplicationSet sources and git generators, and every AppProject "
            "`sourceRepos` entry (globs must match it), must name the repository most of them name (compared "
            "as Argo CD does: case-insensitive, without `.git`). Helm chart sources are other repositories and "
            "are not compared."
        ),
        fix="set the URL once (e.g. a kustomize replacement from one ConfigMap) and use it everywhere",
        check=_check_repo_url,
        scope=Scope.REPOSITORY,
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
