"""Argo CD sync order: operators before the objects of their CRDs, and dry runs that wait for them.

The most common failure of a first sync of OpenShift AI from Git: Argo CD applies a
DataScienceCluster, an InferenceService or a Notebook in the same sync as the Subscription that
installs their CRDs. The dry run fails ("the server could not find the requested resource") and the
whole sync stops, or the objects are applied in the wrong order and the operator starts from a
half-built platform. Sync waves order the sync (Argo CD waits for every object of a wave to be
healthy before the next wave) and `SkipDryRunOnMissingResource=true` lets the dry run pass for
kinds whose CRD does not exist yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .objects import dig

WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"
HOOK_ANNOTATION = "argocd.argoproj.io/hook"
SKIP_DRY_RUN = "SkipDryRunOnMissingResource=true"
WAVE_PATH = f"metadata.annotations.{WAVE_ANNOTATION}"
OPTIONS_PATH = f"metadata.annotations.{OPTIONS_ANNOTATION}"
#: OLM package names of the OpenShift AI operator (Red Hat) and of Open Data Hub.
RHOAI_PACKAGES = ("rhods-operator", "opendatahub-operator")

#: API groups whose CRDs an operator installs after OpenShift and Argo CD are up, so their objects
#: need `SkipDryRunOnMissingResource=true` when they are synced together with the operator. A group
#: matches itself and its subgroups (`opendatahub.io` covers `datasciencecluster.opendatahub.io`).
#: Deliberately absent, because their CRDs exist before Argo CD syncs anything: monitoring.coreos.com
#: (shipped with OpenShift's monitoring stack), operators.coreos.com (OLM is part of OpenShift),
#: argoproj.io (Argo CD itself), route/image/console/config.openshift.io and gateway.networking.k8s.io
#: (OpenShift's own APIs).
OPERATOR_CRD_GROUPS: tuple[str, ...] = (
    "opendatahub.io",  # rhods-operator / opendatahub-operator and its components: DSC, DSCI, DSPA,
    #                    ModelRegistry, TrustyAIService, OdhDashboardConfig, HardwareProfile, Auth
    "kserve.io",  # KServe (DataScienceCluster component): InferenceService, ServingRuntime
    "kubeflow.org",  # workbenches and training (DataScienceCluster components): Notebook, PyTorchJob
    "ray.io",  # KubeRay (DataScienceCluster component)
    "kueue.x-k8s.io",  # Kueue (DataScienceCluster component in 2.x, Red Hat build of Kueue in 3.x)
    "feast.dev",  # Feast operator (DataScienceCluster component)
    "llamastack.io",  # Llama Stack operator (DataScienceCluster component)
    "leaderworkerset.x-k8s.io",  # LeaderWorkerSet operator (llm-d serving)
    "grafana.integreatly.org",  # grafana-operator, installed from OperatorHub
    "external-secrets.io",  # External Secrets Operator
    "bitnami.com",  # Sealed Secrets controller
    "tekton.dev",  # OpenShift Pipelines operator
    "keda.sh",  # Custom Metrics Autoscaler operator (KEDA), KServe autoscaling
    "nvidia.com",  # NVIDIA GPU operator (ClusterPolicy)
    "nfd.openshift.io",  # Node Feature Discovery operator
    "cert-manager.io",  # cert-manager Operator for Red Hat OpenShift
    "knative.dev",  # OpenShift Serverless (Serverless KServe of RHOAI 2.x)
    "maistra.io",  # OpenShift Service Mesh 2 (RHOAI 2.x)
    "kuadrant.io",  # Authorino (RHOAI 2.x model serving auth)
)

#: Groups whose CRDs exist only once the DataScienceCluster enabled the component that brings them.
DSC_COMPONENT_GROUPS: tuple[str, ...] = (
    "opendatahub.io", "kserve.io", "kubeflow.org", "ray.io", "kueue.x-k8s.io", "feast.dev", "llamastack.io",
)
_PLATFORM_KINDS = ("DSCInitialization", "DataScienceCluster")
_INTEGER = re.compile(r"^[+-]?\d+$")


@lru_cache(maxsize=1024)  # asked for every object of every target; a repository has a few dozen groups
def in_groups(group: str, groups: tuple[str, ...]) -> bool:
    return any(group == g or group.endswith("." + g) for g in groups)


def raw_wave(manifest: Manifest) -> str | None:
    value = manifest.annotations.get(WAVE_ANNOTATION)
    return None if value is None else str(value).strip()


def wave(manifest: Manifest) -> int | None:
    """The object's sync wave (0 when unset), or None when the annotation is not an integer."""
    value = raw_wave(manifest)
    if value is None or value == "":
        return 0
    return int(value) if _INTEGER.match(value) else None


def is_hook(manifest: Manifest) -> bool:
    return HOOK_ANNOTATION in manifest.annotations or "helm.sh/hook" in manifest.annotations


def _check_integer(context: PolicyContext) -> Iterator[Violation]:
    for manifest in context.objects(Scope.ALL):
        value = raw_wave(manifest)
        if value is not None and value != "" and not _INTEGER.match(value):
            yield Violation(f"{manifest.kind} {manifest.name} has sync wave {value!r}, which is not an integer; "
                            "Argo CD refuses to sync it", manifest, WAVE_PATH)


def _describe(manifest: Manifest, value: int) -> str:
    where = f"{manifest.namespace}/" if manifest.namespace else ""
    return f"{manifest.kind} {where}{manifest.name} (wave {value})"


def _too_early(later: Manifest, later_wave: int, earlier: Manifest, earlier_wave: int, why: str,
               strict: bool = True) -> Violation | None:
    """A violation on `later` when it does not sync after (or, not strict, with) `earlier`."""
    if later_wave > earlier_wave or (not strict and later_wave == earlier_wave):
        return None
    needed = earlier_wave + 1 if strict else earlier_wave
    relation = "after" if strict else "no earlier than"
    return Violation(
        f"{later.kind} {later.name} syncs in wave {later_wave}, not {relation} "
        f"{_describe(earlier, earlier_wave)}: {why}",
        later, WAVE_PATH,
        fix=f"set metadata.annotations.{WAVE_ANNOTATION}: \"{needed}\" (or higher) on {later.kind} {later.name}, "
            f"or lower the wave of {earlier.kind} {earlier.name}",
    )


def _order_in_target(objects: list[Manifest]) -> Iterator[Violation]:
    waves = {id(m): wave(m) for m in objects}
    ordered = [m for m in objects if waves[id(m)] is not None and not is_hook(m)]

    def w(manifest: Manifest) -> int:
        value = waves[id(manifest)]
        assert value is not None
        return value

    subscriptions = [m for m in ordered if m.kind == "Subscription" and m.group == "operators.coreos.com"]
    for subscription in subscriptions:
        for other in ordered:
            if other.kind == "Namespace" and other.name == subscription.namespace:
                # Same wave is fine: within a wave Argo CD applies Namespaces before everything else.
                found = _too_early(subscription, w(subscription), other, w(other),
                                   "the operator's namespace must exist first", strict=False)
            elif other.kind == "OperatorGroup" and other.namespace == subscription.namespace:
                # Same wave is fine: Argo CD applies every object of a wave in one pass and waits for
                # health only between waves (gitops-engine pkg/sync/sync_tasks.go, sync_context.go),
                # and OLM installs once the OperatorGroup appears. An earlier wave deadlocks: the
                # Subscription never becomes healthy, so the OperatorGroup's wave never starts.
                found = _too_early(subscription, w(subscription), other, w(other),
                                   "OLM installs nothing in a namespace without an OperatorGroup, and Argo CD "
                                   "waits for the Subscription before it applies the later wave", strict=False)
            else:
                continue
            if found is not None:
                yield found
    # The OpenShift AI chain: operator, DSCInitialization, DataScienceCluster, then component objects.
    stages: list[list[Manifest]] = [
        [m for m in subscriptions if str(dig(m.data, "spec", "name")) in RHOAI_PACKAGES],
        [m for m in ordered if m.kind == "DSCInitialization" and m.group.endswith("opendatahub.io")],
        [m for m in ordered if m.kind == "DataScienceCluster" and m.group.endswith("opendatahub.io")],
    ]
    previous: Manifest | None = None
    for stage in stages:
        for manifest in stage:
            if previous is not None:
                reason = (f"the operator must be installed before its {manifest.kind} is applied"
                          if previous.kind == "Subscription" else
                          "the DSCInitialization must be ready before the DataScienceCluster")
                found = _too_early(manifest, w(manifest), previous, w(previous), reason)
                if found is not None:
                    yield found
        if stage:
            previous = max(stage, key=w)
    dsc = stages[2]
    if not dsc:
        return
    latest = max(dsc, key=w)
    for manifest in ordered:
        if manifest.kind in _PLATFORM_KINDS or not in_groups(manifest.group, DSC_COMPONENT_GROUPS):
            continue
        found = _too_early(manifest, w(manifest), latest, w(latest),
                           "its CRD is installed by a component the DataScienceCluster enables", strict=False)
        if found is not None:
            yield found


def _check_order(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.ALL):
        yield from _order_in_target(context.manifests[target.name])


def _application_skips_dry_run(context: PolicyContext, path: str) -> bool:
    """Every Application that syncs `path` sets the option for all its objects (spec.syncPolicy.syncOptions)."""
    apps = context.argocd.syncing(path)
    return bool(apps) and all(SKIP_DRY_RUN in [str(o).strip() for o in dig(app.spec, "syncPolicy", "syncOptions") or []]
                              for app in apps)


def _check_skip_dry_run(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.ALL):
        if _application_skips_dry_run(context, target.path):
            continue  # Argo CD applies the Application's sync options to every object it syncs
        objects = context.manifests[target.name]
        shipped = {str(dig(m.data, "spec", "group")) for m in objects if m.kind == "CustomResourceDefinition"}
        for manifest in objects:
            group = manifest.group
            if not group or group in shipped or not in_groups(group, OPERATOR_CRD_GROUPS):
                continue
            options = [o.strip() for o in str(manifest.annotations.get(OPTIONS_ANNOTATION, "")).split(",")]
            if SKIP_DRY_RUN not in options:
                yield Violation(
                    f"{manifest.kind} {manifest.name} ({group}) lacks {OPTIONS_ANNOTATION}: {SKIP_DRY_RUN}; "
                    "its CRD comes from an operator, so the first sync fails its dry run", manifest, OPTIONS_PATH)


RULES: list[Rule] = [
    Rule(
        id="argocd-sync-wave-integer",
        summary="argocd.argoproj.io/sync-wave is an integer",
        explanation=(
            "Argo CD reads the sync wave as an integer (negative allowed, unset means 0); any other "
            "value makes the sync of the whole Application fail with an error about the annotation, "
            "so one typo stops every object of the environment."
        ),
        fix=f"write the wave as a quoted integer, e.g. {WAVE_ANNOTATION}: \"2\"",
        check=_check_integer,
    ),
    Rule(
        id="argocd-sync-order",
        summary="Sync waves install the operator, then DSCInitialization, then DataScienceCluster, then its objects",
        explanation=(
            "Argo CD applies wave by wave and waits for each wave to be healthy. Within one target: "
            "the operator's Namespace and its OperatorGroup sync no later than its Subscription (a "
            "wave is applied in one pass, Namespaces first; an OperatorGroup in a later wave than the "
            "Subscription never comes, because the Subscription never becomes healthy); the Subscription of "
            "`rhods-operator` (or `opendatahub-operator`) before the DSCInitialization, the "
            "DSCInitialization before the DataScienceCluster, and the DataScienceCluster no later than "
            "any object of the groups its components install (`*.opendatahub.io`, `serving.kserve.io`, "
            "`kubeflow.org`, `ray.io`, `kueue.x-k8s.io`, `feast.dev`, `llamastack.io`). Otherwise the "
            "first sync of a new cluster applies objects whose CRDs do not exist yet, or configures "
            "components before the platform is initialised. Hooks are not ordered by waves and are "
            "skipped; a missing wave counts as 0."
        ),
        fix=f"set {WAVE_ANNOTATION} so that each stage has a higher wave than the one it needs",
        check=_check_order,
    ),
    Rule(
        id="argocd-skip-dry-run",
        summary="Objects of operator-installed CRDs carry SkipDryRunOnMissingResource=true",
        explanation=(
            "Before applying anything, Argo CD dry-runs every object of the sync; when the CRD of a "
            "kind does not exist yet (its operator is installed by the same sync) the dry run fails "
            "and nothing is applied. `argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true` "
            "on the object lets Argo CD skip it until the CRD is there (with sync waves and retries "
            "doing the rest). It applies to the groups an operator installs after OpenShift and Argo CD "
            "are up: " + ", ".join(f"`{g}`" for g in OPERATOR_CRD_GROUPS) + " (and their subgroups). "
            "`monitoring.coreos.com`, `operators.coreos.com`, `argoproj.io` and OpenShift's own "
            "`*.openshift.io` APIs exist before the first sync and are not listed. A group whose "
            "CustomResourceDefinition is part of the same target is exempt."
        ),
        fix=f"add the annotation {OPTIONS_ANNOTATION}: {SKIP_DRY_RUN} (comma-separate other options)",
        check=_check_skip_dry_run,
    ),
]
