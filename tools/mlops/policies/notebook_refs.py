"""notebook-refs-exist: the PVCs, Secrets, ConfigMaps and connections a workbench uses exist.

A workbench pod whose volume names a missing claim stays Pending; one that reads a missing Secret
or ConfigMap never starts, and the dashboard shows it starting forever. What the platform and the
notebook controller provide in every project is not the repository's to declare.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..manifests import Manifest
from . import objects as shared
from .base import PolicyContext, Rule, Scope, Violation
from .objects import (
    containers,
    dig,
    is_kind,
    named,
    namespace_of,
    pod_spec,
)

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


@dataclass(frozen=True)
class _Ref:
    kind: str  # Secret, ConfigMap, PersistentVolumeClaim
    name: str
    path: str
    namespace: str | None = None  # None: the notebook's own


def _notebook_refs(notebook: Manifest) -> Iterator[_Ref]:
    for space, name in shared.parse_connections(notebook.annotations.get(shared.CONNECTIONS_ANNOTATION), None):
        yield _Ref("Secret", name, f"metadata.annotations.{shared.CONNECTIONS_ANNOTATION}", space)
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
            "Secret": set(shared.secret_providers(context, objects)),
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


RULES: list[Rule] = [
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
]
