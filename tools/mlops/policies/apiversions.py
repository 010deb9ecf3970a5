"""API drift: apiVersions the cluster no longer serves, and RHOAI 2.x leftovers on RHOAI 3.x.

Kubernetes removes beta APIs on a schedule, and RHOAI 3.x removed ModelMesh, Serverless KServe,
`datasciencepipelines` (now `aipipelines`), CodeFlare and the dashboard's profile CRDs. A
manifest written for an older cluster fails at sync time, or worse, half-applies; these rules
find it before the merge (facts from the Kubernetes deprecation guide and the RHOAI operator).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Severity
from ..manifests import Manifest
from ..releases import is_2x
from .base import PolicyContext, Rule, Scope, Violation
from .objects import dig

#: (apiVersion, kind or "*") -> (Kubernetes minor that removed it, replacement)
REMOVED: dict[tuple[str, str], tuple[tuple[int, int], str]] = {
    ("extensions/v1beta1", "*"): ((1, 22), "apps/v1 or networking.k8s.io/v1"),
    ("apps/v1beta1", "*"): ((1, 16), "apps/v1"),
    ("apps/v1beta2", "*"): ((1, 16), "apps/v1"),
    ("networking.k8s.io/v1beta1", "*"): ((1, 22), "networking.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "*"): ((1, 22), "rbac.authorization.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "*"): ((1, 22), "admissionregistration.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", "*"): ((1, 22), "apiextensions.k8s.io/v1"),
    ("certificates.k8s.io/v1beta1", "*"): ((1, 22), "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "*"): ((1, 22), "coordination.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "*"): ((1, 22), "scheduling.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIDriver"): ((1, 22), "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "StorageClass"): ((1, 22), "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): ((1, 27), "storage.k8s.io/v1"),
    ("batch/v1beta1", "CronJob"): ((1, 25), "batch/v1"),
    ("policy/v1beta1", "PodDisruptionBudget"): ((1, 25), "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy"): ((1, 25), "Pod Security Admission (no replacement object)"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): ((1, 25), "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "Event"): ((1, 25), "events.k8s.io/v1"),
    ("node.k8s.io/v1beta1", "RuntimeClass"): ((1, 25), "node.k8s.io/v1"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): ((1, 25), "autoscaling/v2"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): ((1, 26), "autoscaling/v2"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "*"): ((1, 26), "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "*"): ((1, 29), "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "*"): ((1, 32), "flowcontrol.apiserver.k8s.io/v1"),
}

#: apiVersions still served by RHOAI 3.x but deprecated: (apiVersion, kind) -> replacement
RHOAI_DEPRECATED: dict[tuple[str, str], str] = {
    ("datasciencecluster.opendatahub.io/v1", "DataScienceCluster"): "datasciencecluster.opendatahub.io/v2",
    ("dscinitialization.opendatahub.io/v1", "DSCInitialization"): "dscinitialization.opendatahub.io/v2",
    ("modelregistry.opendatahub.io/v1alpha1", "ModelRegistry"): "modelregistry.opendatahub.io/v1beta1",
    ("infrastructure.opendatahub.io/v1alpha1", "HardwareProfile"): "infrastructure.opendatahub.io/v1",
}

#: gone in RHOAI 3.x: (apiVersion or group, kind) -> what to use instead
RHOAI_REMOVED: dict[tuple[str, str], str] = {
    ("dashboard.opendatahub.io/v1", "AcceleratorProfile"): "an infrastructure.opendatahub.io/v1 HardwareProfile",
    ("dashboard.opendatahub.io/v1alpha", "AcceleratorProfile"): "an infrastructure.opendatahub.io/v1 HardwareProfile",
    ("dashboard.opendatahub.io/v1alpha1", "HardwareProfile"): "an infrastructure.opendatahub.io/v1 HardwareProfile",
    ("datasciencepipelinesapplications.opendatahub.io/v1alpha1", "DataSciencePipelinesApplication"):
        "datasciencepipelinesapplications.opendatahub.io/v1",
    ("serving.knative.dev/v1", "Service"): "KServe RawDeployment (Serverless mode is gone in 3.x)",
}

#: DataScienceCluster v2 components that RHOAI 3.x no longer has
REMOVED_COMPONENTS = {"modelmeshserving": "kserve", "codeflare": "ray and trainer",
                      "datasciencepipelines": "aipipelines"}


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def _check_kubernetes(context: PolicyContext) -> Iterator[Violation]:
    cluster = _minor(context.config.kubernetes_version)
    for manifest in context.objects(Scope.ALL):
        entry = REMOVED.get((manifest.api_version, manifest.kind)) or REMOVED.get((manifest.api_version, "*"))
        if entry is None:
            continue
        removed_in, replacement = entry
        if cluster >= removed_in:
            yield Violation(f"{manifest.kind} {manifest.api_version} was removed in Kubernetes "
                            f"{removed_in[0]}.{removed_in[1]} (this repository targets "
                            f"{context.config.kubernetes_version})", manifest, "apiVersion",
                            fix=f"use {replacement}")


def _on_3x(context: PolicyContext, manifest: Manifest) -> bool:
    """Only targets written for 3.x are judged by 3.x facts (a 2.x configuration may sit beside them)."""
    return not is_2x(context.config.release_of(manifest.environment))


def _replaced(manifest: Manifest, table: dict[tuple[str, str], str], what: str) -> Iterator[Violation]:
    """The object's apiVersion if `table` (deprecated or removed in 3.x) names its replacement."""
    replacement = table.get((manifest.api_version, manifest.kind))
    if replacement:
        yield Violation(f"{manifest.kind} {manifest.api_version} {what} in OpenShift AI 3.x", manifest, "apiVersion",
                        fix=f"use {replacement}")


def _on_3x_objects(context: PolicyContext) -> Iterator[Manifest]:
    return (manifest for manifest in context.objects(Scope.ALL) if _on_3x(context, manifest))


def _check_deprecated(context: PolicyContext) -> Iterator[Violation]:
    for manifest in _on_3x_objects(context):
        yield from _replaced(manifest, RHOAI_DEPRECATED, "is deprecated")


def _check_removed(context: PolicyContext) -> Iterator[Violation]:
    for manifest in _on_3x_objects(context):
        yield from _replaced(manifest, RHOAI_REMOVED, "does not exist")
        yield from _removed_fields(manifest)


def _removed_fields(manifest: Manifest) -> Iterator[Violation]:
    if manifest.kind == "DataScienceCluster":
        components = dig(manifest.data, "spec", "components") or {}
        for name, replacement in REMOVED_COMPONENTS.items():
            if isinstance(components, dict) and name in components:
                yield Violation(f"DataScienceCluster component {name} is gone in OpenShift AI 3.x",
                                manifest, f"spec.components.{name}", fix=f"use {replacement}")
        kserve = components.get("kserve") if isinstance(components, dict) else None
        for field_name in ("serving", "defaultDeploymentMode"):
            if isinstance(kserve, dict) and field_name in kserve:
                yield Violation(f"DataScienceCluster kserve.{field_name} (Serverless KServe) is gone in 3.x",
                                manifest, f"spec.components.kserve.{field_name}",
                                fix="remove it: 3.x KServe runs in RawDeployment (Standard) mode")
    if manifest.kind == "DSCInitialization" and dig(manifest.data, "spec", "serviceMesh") is not None:
        yield Violation("DSCInitialization spec.serviceMesh is gone in OpenShift AI 3.x", manifest,
                        "spec.serviceMesh", fix="remove serviceMesh; 3.x needs no Service Mesh for KServe")
    if manifest.kind == "InferenceService":
        mode = manifest.annotations.get("serving.kserve.io/deploymentMode")
        if mode in ("ModelMesh", "Serverless"):
            yield Violation(f"InferenceService deploymentMode {mode} is gone in OpenShift AI 3.x", manifest,
                            "metadata.annotations", fix="use serving.kserve.io/deploymentMode: RawDeployment")
        if "sidecar.istio.io/inject" in manifest.annotations:
            yield Violation("InferenceService asks for an Istio sidecar (2.x Serverless); 3.x has none",
                            manifest, "metadata.annotations", fix="remove sidecar.istio.io/inject")
    if manifest.kind == "Namespace" and manifest.labels.get("modelmesh-enabled") == "true":
        yield Violation("Namespace enables ModelMesh (modelmesh-enabled: \"true\"), which 3.x removed",
                        manifest, "metadata.labels", fix="set modelmesh-enabled: \"false\" (single-model serving)")


RULES: list[Rule] = [
    Rule("k8s-api-removed", "No apiVersion the configured Kubernetes version has removed",
         "The API server of the configured version (`kubernetesVersion` in mlops.yaml) does not serve "
         "these apiVersions any more: Argo CD fails the whole sync.",
         "move the object to the replacement apiVersion", _check_kubernetes),
    Rule("rhoai-api-deprecated", "No apiVersion that OpenShift AI 3.x only serves as deprecated",
         "DataScienceCluster and DSCInitialization v1, ModelRegistry v1alpha1 and HardwareProfile "
         "v1alpha1 are still converted by 3.x, but new fields exist only in the current versions and "
         "the old ones go away in a later release.",
         "move the object to the current apiVersion", _check_deprecated,
         severity=Severity.WARNING, scope=Scope.ALL),
    Rule("rhoai-2x-leftover", "No RHOAI 2.x-only API, component or setting on RHOAI 3.x",
         "3.x removed ModelMesh, Serverless KServe (and its Istio sidecars), `datasciencepipelines` "
         "(now `aipipelines`), CodeFlare, DSCInitialization `serviceMesh`, the dashboard's "
         "AcceleratorProfile/HardwareProfile CRDs and DSPA v1alpha1. Objects using them fail to apply "
         "or silently do nothing.",
         "use the 3.x equivalent named in the finding", _check_removed),
]
