"""Production hardening: what a model service needs before real traffic reaches it.

Each rule is an error in the last environment of `mlops.yaml` (production) and a warning before
it, so development stays cheap while every gap is visible long before prod. A team that runs dev
on purpose with one replica says so once in `mlops.yaml` (`rules:`), not by ignoring warnings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..findings import Severity
from .base import PolicyContext, Rule, Scope, Violation
from .objects import containers, dig, mapping, pod_spec

AUTH_ANNOTATION = "security.opendatahub.io/enable-auth"
VISIBILITY_LABEL = "networking.kserve.io/visibility"
STOP_ANNOTATION = "serving.kserve.io/stop"
HARDWARE_PROFILE = "opendatahub.io/hardware-profile-name"
HARDWARE_PROFILE_NAMESPACE = "opendatahub.io/hardware-profile-namespace"
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "habana.ai/gaudi", "intel.com/gpu")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_DANGEROUS_CAPABILITIES = {"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE"}


def _isvcs(context: PolicyContext) -> Iterator[Any]:
    for manifest in context.objects(Scope.ENVIRONMENTS):
        if manifest.kind == "InferenceService" and manifest.group == "serving.kserve.io":
            yield manifest


def _check_auth(context: PolicyContext) -> Iterator[Violation]:
    for isvc in _isvcs(context):
        if str(isvc.annotations.get(AUTH_ANNOTATION, "")).lower() != "true":
            exposed = isvc.labels.get(VISIBILITY_LABEL) == "exposed"
            where = "exposed outside the cluster " if exposed else ""
            yield Violation(
                f"InferenceService {isvc.name} answers {where}without a token "
                f"(annotation {AUTH_ANNOTATION} is {isvc.annotations.get(AUTH_ANNOTATION)!r})",
                isvc, f"metadata.annotations.{AUTH_ANNOTATION}")


def _check_replicas(context: PolicyContext) -> Iterator[Violation]:
    for isvc in _isvcs(context):
        if str(isvc.annotations.get(STOP_ANNOTATION, "")).lower() == "true":
            continue  # a stopped model serves nothing, so it needs no spare replica
        replicas = dig(isvc.data, "spec", "predictor", "minReplicas")
        count = replicas if isinstance(replicas, int) else 1
        if count < 2:
            shown = "not set (1)" if replicas is None else str(replicas)
            yield Violation(f"InferenceService {isvc.name} has minReplicas {shown}: one pod restart or node drain "
                            "takes the model offline", isvc, "spec.predictor.minReplicas")


def _check_resources(context: PolicyContext) -> Iterator[Violation]:
    runtimes_with_model_resources = _runtimes_sized_by_models(context)
    for manifest in context.objects(Scope.ENVIRONMENTS):
        for path, container in containers(manifest):
            if manifest.kind in ("ServingRuntime", "ClusterServingRuntime") and (
                    (manifest.namespace, manifest.name) in runtimes_with_model_resources):
                continue
            resources = mapping(container.get("resources"))
            missing = [f"{kind}.{resource}" for kind in ("requests", "limits") for resource in ("cpu", "memory")
                       if dig(resources, kind, resource) is None]
            if missing:
                name = container.get("name", "model" if path.endswith(".model") else "?")
                yield Violation(f"{manifest.kind} {manifest.name} container {name} has no {', '.join(missing)}",
                                manifest, f"{path}.resources")


def _runtimes_sized_by_models(context: PolicyContext) -> set[tuple[str | None, str]]:
    """Runtimes whose every InferenceService sizes the model container itself (KServe merges it in)."""
    users: dict[tuple[str | None, str], list[bool]] = {}
    for isvc in _isvcs(context):
        runtime = dig(isvc.data, "spec", "predictor", "model", "runtime")
        if isinstance(runtime, str):
            resources = dig(isvc.data, "spec", "predictor", "model", "resources") or {}
            sized = all(dig(resources, kind, res) is not None for kind in ("requests", "limits")
                        for res in ("cpu", "memory"))
            users.setdefault((isvc.namespace, runtime), []).append(sized)
    return {key for key, sized in users.items() if sized and all(sized)}


def _check_digest(context: PolicyContext) -> Iterator[Violation]:
    for manifest in context.objects(Scope.ENVIRONMENTS):
        for path, container in containers(manifest):
            image = container.get("image")
            if not isinstance(image, str) or _DIGEST.search(image):
                continue
            reason = "uses :latest" if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1] else \
                "is pinned by tag only"
            yield Violation(f"{manifest.kind} {manifest.name} image {image} {reason}; a tag can move under a "
                            "running model", manifest, f"{path}.image")
        if manifest.kind == "InferenceService":
            uri = dig(manifest.data, "spec", "predictor", "model", "storageUri")
            if isinstance(uri, str) and uri.startswith("oci://") and not _DIGEST.search(uri):
                yield Violation(f"InferenceService {manifest.name} loads the model image {uri} by tag",
                                manifest, "spec.predictor.model.storageUri",
                                fix="pin the modelcar image by digest: oci://IMAGE@sha256:...")


def _check_privileges(context: PolicyContext) -> Iterator[Violation]:
    for manifest in context.objects(Scope.ENVIRONMENTS):
        found = pod_spec(manifest)
        if found is not None:
            base, spec = found
            for flag in ("hostNetwork", "hostPID", "hostIPC"):
                if spec.get(flag) is True:
                    yield Violation(f"{manifest.kind} {manifest.name} sets {flag}: true", manifest, f"{base}.{flag}")
            for index, volume in enumerate(spec.get("volumes") or []):
                if isinstance(volume, dict) and "hostPath" in volume:
                    yield Violation(f"{manifest.kind} {manifest.name} mounts hostPath volume {volume.get('name')}",
                                    manifest, f"{base}.volumes[{index}].hostPath")
        for path, container in containers(manifest):
            security = mapping(container.get("securityContext"))
            if security.get("privileged") is True:
                yield Violation(f"{manifest.kind} {manifest.name} container {container.get('name')} is privileged",
                                manifest, f"{path}.securityContext.privileged")
            added = {str(c).upper() for c in dig(security, "capabilities", "add") or []}
            dangerous = sorted(added & _DANGEROUS_CAPABILITIES)
            if dangerous:
                yield Violation(f"{manifest.kind} {manifest.name} container {container.get('name')} adds "
                                f"capabilities {', '.join(dangerous)}", manifest,
                                f"{path}.securityContext.capabilities.add")


def _check_routes(context: PolicyContext) -> Iterator[Violation]:
    for route in context.objects(Scope.ENVIRONMENTS):
        if route.kind != "Route" or route.group != "route.openshift.io":
            continue
        termination = dig(route.data, "spec", "tls", "termination")
        if not termination:
            yield Violation(f"Route {route.name} serves plain HTTP (no spec.tls)", route, "spec.tls")
        elif str(dig(route.data, "spec", "tls", "insecureEdgeTerminationPolicy")) == "Allow":
            yield Violation(f"Route {route.name} also serves plain HTTP (insecureEdgeTerminationPolicy: Allow)",
                            route, "spec.tls.insecureEdgeTerminationPolicy")


def _hardware_profiles(context: PolicyContext) -> dict[tuple[str, str], Any]:
    return {(m.namespace or "", m.name): m for m in context.objects(Scope.ALL)
            if m.kind == "HardwareProfile" and m.group == "infrastructure.opendatahub.io"}


def _check_gpu(context: PolicyContext) -> Iterator[Violation]:
    profiles = _hardware_profiles(context)
    for manifest in context.objects(Scope.ENVIRONMENTS):
        found = pod_spec(manifest)
        if found is None:
            continue
        spec = found[1]
        for path, container in containers(manifest):
            resources = mapping(container.get("resources"))
            requested = sorted({name for kind in ("requests", "limits") for name in (resources.get(kind) or {})
                                if name in GPU_RESOURCES})
            for resource in requested:
                tolerations = spec.get("tolerations") or []
                if any(isinstance(t, dict) and (t.get("key") == resource or (t.get("operator") == "Exists"
                                                                            and not t.get("key")))
                       for t in tolerations):
                    continue
                profile_name = manifest.annotations.get(HARDWARE_PROFILE)
                namespace = manifest.annotations.get(HARDWARE_PROFILE_NAMESPACE, "redhat-ods-applications")
                profile = profiles.get((str(namespace), str(profile_name))) if profile_name else None
                if profile is not None and (dig(profile.data, "spec", "scheduling", "node", "tolerations")
                                            or dig(profile.data, "spec", "scheduling", "kueue")):
                    continue
                yield Violation(f"{manifest.kind} {manifest.name} requests {resource} but neither tolerates the "
                                "GPU nodes' taint nor names a hardware profile that does: it stays Pending",
                                manifest, f"{path}.resources")


def _rule(rule_id: str, summary: str, explanation: str, fix: str, check: Any) -> Rule:
    return Rule(rule_id, summary, explanation, fix, check, severity=Severity.ERROR, scope=Scope.ENVIRONMENTS,
                escalates_to_production=True)


RULES: list[Rule] = [
    _rule("isvc-auth", "Inference endpoints require a token",
          "Without `security.opendatahub.io/enable-auth: \"true\"` anyone who reaches the service (or its "
          "Route) can call the model: no audit, no rate of abuse you can trace, data exfiltration by query.",
          "set the annotation security.opendatahub.io/enable-auth: \"true\" on the InferenceService",
          _check_auth),
    _rule("isvc-min-replicas", "InferenceServices run at least two replicas",
          "One replica means every node drain, eviction or rollout is an outage. Stopped models "
          "(`serving.kserve.io/stop: \"true\"`) are exempt.",
          "set spec.predictor.minReplicas: 2 (or more) for this environment", _check_replicas),
    _rule("container-resources", "Every container has CPU and memory requests and limits",
          "Without requests the scheduler packs model servers onto busy nodes; without limits one model "
          "can starve its neighbours. A ServingRuntime container may leave them to the InferenceServices "
          "when every InferenceService using it sizes its `model` block (KServe merges those in).",
          "add resources.requests and resources.limits for cpu and memory", _check_resources),
    _rule("image-digest", "Images (and OCI model images) are pinned by digest",
          "A tag (worse, `:latest`) can point at other bytes tomorrow: a node that pulls again runs a "
          "model server nobody reviewed. A digest makes the deployment reproducible and auditable.",
          "reference the image as REGISTRY/IMAGE@sha256:DIGEST", _check_digest),
    _rule("pod-privileges", "No privileged container, host namespaces or hostPath",
          "Model servers and workbenches need none of privileged mode, added kernel capabilities, "
          "hostNetwork, hostPID, hostIPC or hostPath; each one turns a compromised model into a "
          "compromised node (and OpenShift's restricted SCC rejects them anyway).",
          "remove the privileged setting, the host namespace or the hostPath volume", _check_privileges),
    _rule("route-tls", "Routes use TLS and never allow plain HTTP",
          "Inference requests carry customer data and tokens; a Route without TLS, or one that allows "
          "insecure edge traffic, sends both in clear text.",
          "set spec.tls.termination (edge or reencrypt) and insecureEdgeTerminationPolicy: Redirect",
          _check_routes),
    _rule("gpu-scheduling", "GPU requests come with the toleration or hardware profile that lets them schedule",
          "GPU nodes are tainted; a pod that requests `nvidia.com/gpu` without tolerating the taint, or "
          "without a hardware profile (infrastructure.opendatahub.io) that adds the toleration, stays "
          "Pending forever and the model never comes up.",
          "name a HardwareProfile with scheduling tolerations (opendatahub.io/hardware-profile-name) or "
          "add the toleration", _check_gpu),
]
