"""Argo CD health decides when a sync wave is done: the repository's checks must mean what they say.

gitops-engine moves a multi-step sync (several waves, or hooks) to the next wave only when every
object of the current one is Healthy, and fails it when one is Degraded; Progressing, Suspended,
Missing, Unknown or no status keep the wave running (`pkg/sync/sync_context.go`, argo-cd issues
#19422 and #25054). So a health check is part of the deployment logic. These rules run the
repository's own Lua checks (`health_lua`) on the states the repository deliberately puts objects
in, with status shaped exactly as the controllers write it, and report where a wave would never
complete or would complete too early:

- stopped models and workbenches (KServe's `Stopped` condition, the notebook controller's
  `kubeflow-resource-stopped`) must be Healthy: stopped is their desired state;
- a DataScienceCluster must not be Healthy from the status of an older generation
  (opendatahub-operator only stamps `status.observedGeneration` once a generation reconciled);
- an operator Subscription must not keep a wave waiting for a manual InstallPlan approval.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from ..findings import Severity
from ..manifests import Manifest
from .argocd_order import HOOK_ANNOTATION, is_hook, wave
from .base import PolicyContext, Rule, Scope, Violation
from .health_lua import HealthCheck, HealthCheckError, HealthResult, lua_available, repository_health_checks
from .objects import dig, is_kind, namespace_of, where
from .patches import patched_location
from .secrets import repository_texts

STOP_ANNOTATION = "serving.kserve.io/stop"
NOTEBOOK_STOPPED = "kubeflow-resource-stopped"
ISVC = ("serving.kserve.io", "InferenceService")
NOTEBOOK = ("kubeflow.org", "Notebook")
DSC = ("datasciencecluster.opendatahub.io", "DataScienceCluster")
SUBSCRIPTION = ("operators.coreos.com", "Subscription")
#: What Argo CD's own checks say of a stopped object when the repository ships none: the built-in
#: InferenceService check (argo-cd `resource_customizations/serving.kserve.io/InferenceService/
#: health.lua`, every 3.x release) returns Suspended for the Stopped condition. Notebooks have no
#: built-in check (no health: never waited for).
BUILTIN_STOPPED: dict[tuple[str, str], HealthResult] = {
    ISVC: HealthResult("Suspended", "InferenceService is Stopped"),
}
_CHECKS_KEY = "health.checks"


def _checks(context: PolicyContext) -> dict[tuple[str, str], HealthCheck]:
    cached = context.cache.get(_CHECKS_KEY)
    if not isinstance(cached, dict):
        cached = repository_health_checks(context.root, repository_texts(context))
        context.cache[_CHECKS_KEY] = cached
    return cached


def _key(manifest: Manifest) -> tuple[str, str]:
    return manifest.group, manifest.kind


# --- the states, with status as the controllers write it -----------------------------------------


def stopped_inference_service(data: dict[str, Any]) -> dict[str, Any]:
    """A stopped InferenceService: KServe sets `Stopped` True and every readiness condition False with
    reason `Stopped` (kserve `pkg/apis/serving/v1beta1/inference_service_status.go`, StoppedISVCReason;
    the same shape as argo-cd's `serving.kserve.io/InferenceService/testdata/stopped.yaml`)."""
    state = copy.deepcopy(data)
    state.setdefault("metadata", {}).setdefault("annotations", {})[STOP_ANNOTATION] = "true"
    since = "2026-01-05T10:00:00Z"
    state["status"] = {"conditions": [
        *({"type": kind, "status": "False", "reason": "Stopped", "lastTransitionTime": since}
          for kind in ("IngressReady", "PredictorReady", "Ready")),
        {"type": "Stopped", "status": "True", "severity": "Info", "lastTransitionTime": since},
    ]}
    return state


def stopped_notebook(data: dict[str, Any]) -> dict[str, Any]:
    """A stopped (or culled) workbench: the dashboard or the idle culler sets the annotation
    `kubeflow-resource-stopped` to a timestamp, the controller scales its StatefulSet to zero, and
    the Notebook's status (kubeflow `components/notebook-controller/api/v1/notebook_types.go`:
    readyReplicas, containerState, conditions) has no ready replica and no container left."""
    state = copy.deepcopy(data)
    state.setdefault("metadata", {}).setdefault("annotations", {})[NOTEBOOK_STOPPED] = "2026-01-05T10:00:00Z"
    state["status"] = {"readyReplicas": 0, "containerState": {}, "conditions": []}
    return state


def reconciled_datasciencecluster(data: dict[str, Any], generation: int, observed: int) -> dict[str, Any]:
    """A DataScienceCluster whose last successful reconcile was generation `observed`.

    opendatahub-operator's reconciler (`pkg/controller/reconciler/reconciler.go`) sets phase Ready
    and `status.observedGeneration` only when every condition is happy, so after a spec change
    (generation > observed) the Ready condition still describes the previous spec.
    """
    state = copy.deepcopy(data)
    state.setdefault("metadata", {})["generation"] = generation
    conditions = [{"type": kind, "status": "True", "reason": kind, "observedGeneration": observed,
                   "lastTransitionTime": "2026-01-05T10:00:00Z"}
                  for kind in ("Ready", "ProvisioningSucceeded", "ComponentsReady")]
    state["status"] = {"phase": "Ready", "observedGeneration": observed, "conditions": conditions}
    return state


def subscription_upgrade_awaiting_approval(data: dict[str, Any]) -> dict[str, Any]:
    """An installed operator whose next InstallPlan waits for a person (OLM, Manual approval):
    `installedCSV` set, condition InstallPlanPending True with reason RequiresApproval, state
    UpgradePending (operator-framework `subscription_types.go`; the shape of argo-cd's
    `operators.coreos.com/Subscription/testdata/install_plan_manual_upgrade_pending.yaml`)."""
    state = copy.deepcopy(data)
    package = str(dig(data, "spec", "name") or "operator")
    state["status"] = {
        "conditions": [
            {"type": "CatalogSourcesUnhealthy", "status": "False", "reason": "AllCatalogSourcesHealthy"},
            {"type": "InstallPlanPending", "status": "True", "reason": "RequiresApproval"},
        ],
        "installedCSV": f"{package}.v3.5.0",
        "currentCSV": f"{package}.v3.5.1",
        "installPlanRef": {"kind": "InstallPlan", "name": "install-x7k2p"},
        "state": "UpgradePending",
    }
    return state


# --- sync steps --------------------------------------------------------------------------------


def _sync_steps(objects: list[Manifest]) -> tuple[list[int], list[Manifest]]:
    """(the waves of the sync, its hooks); more than one wave or any hook makes it multi-step."""
    waves = sorted({w for m in objects if not is_hook(m) and (w := wave(m)) is not None})
    hooks = [m for m in objects if is_hook(m) and str(m.annotations.get(HOOK_ANNOTATION, "")) != "Skip"]
    return waves, hooks


def _what_stalls(target: str, objects: list[Manifest], manifest: Manifest) -> str:
    waves, hooks = _sync_steps(objects)
    own = wave(manifest) or 0
    later = [w for w in waves if w > own]
    parts = [f"wave {own} of {target} never completes"]
    if later:
        parts.append(f"waves {', '.join(map(str, later))} never start" if len(later) > 1
                     else f"wave {later[0]} never starts")
    post = [f"{m.kind} {m.name}" for m in hooks if "PostSync" in str(m.annotations.get(HOOK_ANNOTATION, ""))]
    if post:
        parts.append(f"the PostSync hook {', '.join(post)} never runs")
    return ", ".join(parts)


def _evaluate(check: HealthCheck, state: dict[str, Any]) -> HealthResult | str:
    try:
        return check.evaluate(state)
    except HealthCheckError as error:
        return str(error)


def _check_unchecked(context: PolicyContext) -> Iterator[Violation]:
    if lua_available() or not _checks(context):
        return
    shown = ", ".join(sorted(f"{kind} ({check.where})" for (_, kind), check in _checks(context).items()))
    yield Violation(f"the repository's Argo CD health checks were not run: the Python package lupa (a Lua "
                    f"interpreter) is not installed next to mlops, so the rules argocd-health-stopped, "
                    f"argocd-health-generation and subscription-approval did not look at {shown}",
                    fix="install lupa where mlops runs (pip install lupa)")


# --- argocd-health-stopped -----------------------------------------------------------------------


_STOPPERS: dict[tuple[str, str], tuple[str, Any]] = {
    ISVC: ("stopped from the dashboard (serving.kserve.io/stop)", stopped_inference_service),
    NOTEBOOK: ("stopped from the dashboard or by the idle culler", stopped_notebook),
}


def _deployed_stopped(manifest: Manifest) -> bool:
    if _key(manifest) == ISVC:
        return str(manifest.annotations.get(STOP_ANNOTATION, "")).lower() == "true"
    return _key(manifest) == NOTEBOOK and NOTEBOOK_STOPPED in manifest.annotations


def _stall(context: PolicyContext, target: str, objects: list[Manifest], manifest: Manifest, how: str,
           others: int) -> Violation | None:
    key = _key(manifest)
    check = _checks(context).get(key)
    stopper = _STOPPERS[key][1]
    if check is None:
        builtin = BUILTIN_STOPPED.get(key)
        if builtin is None:
            return None
        result: HealthResult | str = builtin
        source = "Argo CD's built-in check (the repository ships none)"
    else:
        result = _evaluate(check, stopper(manifest.data))
        source = f"the health check at {check.where}"
    if isinstance(result, HealthResult) and result.status == "Healthy":
        return None
    said = f"fails ({result})" if isinstance(result, str) else f"reports it {result}"
    more = f" (and {others} more {manifest.kind}s of {target} alike)" if others else ""
    message = (f"{manifest.kind} {where(namespace_of(context, manifest), manifest.name)} is {how} in {target}{more}; "
               f"{source} {said}, and Argo CD moves on only when every object of a wave is Healthy: "
               f"{_what_stalls(target, objects, manifest)}")
    healthy = f"status \"Healthy\" for a stopped {manifest.kind} (stopped is its desired state; say so in the message)"
    if check is None:
        return Violation(message, manifest, f"metadata.annotations.{STOP_ANNOTATION}",
                         fix=f"ship a {manifest.kind} health check (bootstrap/, spec.resourceHealthChecks) that "
                             f"returns {healthy}")
    return Violation(message, manifest, fix=f"make the {manifest.kind} health check return {healthy}",
                     file=check.file, line=check.line)


def _check_stopped(context: PolicyContext) -> Iterator[Violation]:
    if not lua_available():
        return  # argocd-health-unchecked says so
    for target in context.targets(Scope.ALL):
        objects = context.manifests[target.name]
        waves, hooks = _sync_steps(objects)
        if len(waves) < 2 and not hooks:
            continue  # a single-step sync does not wait for health
        for key, (runtime_how, _) in _STOPPERS.items():
            candidates = [m for m in objects if _key(m) == key and not is_hook(m)]
            for manifest in candidates:
                if _deployed_stopped(manifest):
                    found = _stall(context, target.name, objects, manifest, "deployed stopped", 0)
                    if found:
                        yield found
            running = [m for m in candidates if not _deployed_stopped(m)]
            if running:
                found = _stall(context, target.name, objects, running[0], f"running, and may be {runtime_how}",
                               len(running) - 1)
                if found:
                    yield found


# --- argocd-health-generation ----------------------------------------------------------------------


def _check_generation(context: PolicyContext) -> Iterator[Violation]:
    check = _checks(context).get(DSC)
    if check is None:
        return
    if not lua_available():
        return  # argocd-health-unchecked says so
    seen: set[str] = set()
    for manifest in context.objects(Scope.ALL):
        if _key(manifest) != DSC or manifest.name in seen:
            continue
        seen.add(manifest.name)
        current = _evaluate(check, reconciled_datasciencecluster(manifest.data, 4, 4))
        stale = _evaluate(check, reconciled_datasciencecluster(manifest.data, 5, 4))
        if not (isinstance(current, HealthResult) and current.status == "Healthy"):
            yield Violation(f"DataScienceCluster {manifest.name}: the health check at {check.where} reports a cluster "
                            f"the operator reconciled and calls Ready as {current}; the waves after it never start",
                            manifest, file=check.file, line=check.line,
                            fix="return Healthy when status.observedGeneration equals metadata.generation and the "
                                "Ready condition is True")
        elif isinstance(stale, HealthResult) and stale.status == "Healthy":
            yield Violation(f"DataScienceCluster {manifest.name}: the health check at {check.where} reports Healthy "
                            "from status of generation 4 while the spec is at generation 5 (the operator has not "
                            "reconciled the change yet): right after a change, the next wave starts on the old "
                            "platform", manifest, file=check.file, line=check.line,
                            fix="report Progressing while status.observedGeneration is lower than "
                                "metadata.generation, before looking at the conditions")


# --- subscription-approval -------------------------------------------------------------------------


def _check_subscription(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.ALL):
        objects = context.manifests[target.name]
        waves, hooks = _sync_steps(objects)
        if len(waves) < 2 and not hooks:
            continue  # a single-step sync does not wait for health
        for subscription in objects:
            if not is_kind(subscription, "Subscription", SUBSCRIPTION[0]):
                continue
            if str(dig(subscription.data, "spec", "installPlanApproval") or "Automatic") == "Manual":
                found = _manual_approval(context, target.name, objects, subscription)
                if found:
                    yield found


def _manual_approval(context: PolicyContext, target: str, objects: list[Manifest],
                     subscription: Manifest) -> Violation | None:
    check = _checks(context).get(SUBSCRIPTION)
    stall = _what_stalls(target, objects, subscription)
    if check is None:
        file, line = patched_location(context, subscription, "spec", "installPlanApproval") or (None, None)
        return Violation(
            f"Subscription {subscription.name} approves InstallPlans manually; Argo CD before v3.5.0 reports a "
            "Subscription whose upgrade waits for approval as Progressing (argo-cd resource_customizations/"
            "operators.coreos.com/Subscription/health.lua, changed in v3.5.0 by #25923), so each pending upgrade "
            f"holds the sync until someone approves it outside Git: {stall}",
            subscription, "spec.installPlanApproval", file=file, line=line,
            fix="approve automatically on a channel pinned to one minor (installPlanApproval: Automatic, channel "
                "stable-X.Y), or ship a Subscription health check that reports an installed operator whose upgrade "
                "waits for approval as Healthy")
    if not lua_available():
        return None  # argocd-health-unchecked says so
    result = _evaluate(check, subscription_upgrade_awaiting_approval(subscription.data))
    if isinstance(result, HealthResult) and result.status == "Healthy":
        return None
    said = f"fails ({result})" if isinstance(result, str) else f"reports {result}"
    return Violation(
        f"Subscription {subscription.name} approves InstallPlans manually, and the health check at {check.where} "
        f"{said} for an installed operator whose upgrade waits for approval: {stall}",
        subscription, fix="report Healthy when installedCSV is set and the only pending condition is "
                          "InstallPlanPending with reason RequiresApproval (Argo CD v3.5.0 behaves so)",
        file=check.file, line=check.line)


_WAVES = (
    " gitops-engine (`pkg/sync/sync_context.go`) keeps a task of a multi-step sync (several waves or hooks) "
    "running until the object is Healthy, fails the sync when it is Degraded, and waits on every other status "
    "(Progressing, Suspended, Missing, Unknown, none): argo-cd #19422, #25054."
)

RULES: list[Rule] = [
    Rule(
        id="argocd-health-stopped",
        summary="Health checks report stopped models and workbenches as Healthy, so multi-wave syncs complete",
        explanation=(
            "Stopping is a desired state: dev deploys the LLM stopped (`serving.kserve.io/stop: \"true\"`), people "
            "stop models from the dashboard, and the idle culler stops workbenches (`kubeflow-resource-stopped`). "
            "The rule runs the repository's own Lua health check of each kind (found in any YAML file under "
            "`spec.resourceHealthChecks` of an ArgoCD resource or patch, or in `argocd-cm`) on the object in its "
            "stopped state, with status as KServe and the notebook controller write it, in every target whose "
            "sync has several waves or hooks. Anything but Healthy stalls the sync: later waves never start and "
            "PostSync hooks (the retraining schedule) never run. Without a repository check, Argo CD's built-in "
            "InferenceService check reports a stopped model as Suspended, which stalls the same way." + _WAVES
        ),
        fix="return status \"Healthy\" (message \"Stopped\") for a stopped InferenceService or Notebook",
        check=_check_stopped,
    ),
    Rule(
        id="argocd-health-generation",
        summary="The DataScienceCluster health check is Healthy only for the current generation",
        explanation=(
            "opendatahub-operator stamps `status.observedGeneration` (and phase Ready) only when a generation "
            "reconciled successfully (`pkg/controller/reconciler/reconciler.go`). Right after a change of the "
            "DataScienceCluster, its Ready condition still describes the previous spec. A health check that "
            "ignores the generation reports Healthy at once, and the next wave (hardware profiles, the model "
            "registry, the environments) starts before the components it needs were reconfigured; one that never "
            "reports Healthy stalls every later wave. The rule runs the repository's check on a reconciled "
            "status (must be Healthy) and on a stale one (must not be)." + _WAVES
        ),
        fix="compare status.observedGeneration with metadata.generation first and report Progressing while it is lower",
        check=_check_generation,
    ),
    Rule(
        id="subscription-approval",
        summary="Operator upgrades never wait in a sync wave for a manual approval",
        explanation=(
            "With `installPlanApproval: Manual`, OLM waits for a person to approve each InstallPlan. Argo CD's "
            "built-in Subscription health reports that as Progressing; before Argo CD v3.5.0 also for an upgrade of "
            "an installed operator (v3.5.0, argo-cd #25923, treats a pending upgrade approval as healthy once a CSV "
            "is installed). In a multi-wave sync every later wave then waits until someone approves outside Git. "
            "Either approve automatically on a channel pinned to one minor (`stable-3.5`: patch releases install "
            "by themselves, a minor upgrade is a reviewed pull request that changes the channel and the "
            "DataScienceCluster together), or ship a Subscription health check that behaves like v3.5.0; the rule "
            "runs such a check on an installed operator whose upgrade awaits approval. (A channel that spans "
            "minors, which automatic approval would follow, is `rhoai-channel-floating`'s finding.)" + _WAVES
        ),
        fix="installPlanApproval: Automatic with channel stable-X.Y (the minor the DataScienceCluster is written for)",
        check=_check_subscription,
    ),
    Rule(
        id="argocd-health-unchecked",
        summary="The repository's Argo CD health checks could be run (a Lua interpreter is installed)",
        explanation=(
            "The rules argocd-health-stopped, argocd-health-generation and subscription-approval run the "
            "repository's Lua health checks with `lupa`. Where mlops runs without it, those checks are not "
            "looked at; like a kind without a schema, that is a warning (an error with `--strict`), not a pass."
        ),
        fix="install lupa next to mlops (pip install lupa)",
        check=_check_unchecked,
        severity=Severity.WARNING,
        scope=Scope.REPOSITORY,
    ),
]
