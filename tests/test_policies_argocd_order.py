"""argocd_order family: integer sync waves, operator-first order, SkipDryRunOnMissingResource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops.findings import Finding, ObjectRef, Severity
from mlops.policies.argocd_order import OPERATOR_CRD_GROUPS, RULES, in_groups
from policy_helpers import check, make_context

INTEGER, ORDER, SKIP = RULES
SKIP_OPTION = {"argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true"}
WAVE_PATH = "metadata.annotations.argocd.argoproj.io/sync-wave"


def obj(api_version: str, kind: str, name: str, namespace: str | None = None, wave: str | None = None,
        **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    notes = dict(annotations)
    if wave is not None:
        notes["argocd.argoproj.io/sync-wave"] = wave
    if notes:
        metadata["annotations"] = notes
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": {}}


def platform(sub: str = "-10", dsci: str = "-5", dsc: str = "0", isvc: str = "5", namespace: str = "-20",
             group: str = "-15") -> list[dict[str, Any]]:
    subscription = obj("operators.coreos.com/v1alpha1", "Subscription", "rhods-operator", "redhat-ods-operator", sub)
    subscription["spec"] = {"name": "rhods-operator", "channel": "stable-3.x", "source": "redhat-operators",
                            "sourceNamespace": "openshift-marketplace"}
    return [
        obj("v1", "Namespace", "redhat-ods-operator", wave=namespace),
        obj("operators.coreos.com/v1", "OperatorGroup", "rhods-operator", "redhat-ods-operator", group),
        subscription,
        obj("dscinitialization.opendatahub.io/v2", "DSCInitialization", "default-dsci", wave=dsci, **SKIP_OPTION),
        obj("datasciencecluster.opendatahub.io/v2", "DataScienceCluster", "default-dsc", wave=dsc, **SKIP_OPTION),
        obj("serving.kserve.io/v1beta1", "InferenceService", "fraud", "ml-prod", isvc, **SKIP_OPTION),
        obj("monitoring.coreos.com/v1", "ServiceMonitor", "fraud", "ml-prod", "-30"),  # OpenShift's own CRD
    ]


def run(rule: Any, tmp_path: Path, objects: list[dict[str, Any]], env: str = "prod") -> list[Finding]:
    return check(rule, make_context(tmp_path, {env: objects}))


# --- argocd-sync-wave-integer ------------------------------------------------------------------


def test_non_integer_wave(tmp_path: Path) -> None:
    [finding] = run(INTEGER, tmp_path, [obj("v1", "ConfigMap", "settings", "ml-test", "1.5")], env="test")
    assert finding.rule == "argocd-sync-wave-integer"
    assert finding.severity is Severity.ERROR
    assert finding.object == ObjectRef("ConfigMap", "settings", "ml-test", "v1")
    assert finding.environment == "test"
    assert finding.path == WAVE_PATH
    assert "'1.5'" in finding.message


def test_integer_waves_pass(tmp_path: Path) -> None:
    objects = [obj("v1", "ConfigMap", name, wave=w) for name, w in (("a", "-3"), ("b", "0"), ("c", "12"), ("d", None))]
    assert run(INTEGER, tmp_path, objects) == []


# --- argocd-sync-order ------------------------------------------------------------------------


def test_correct_order_passes(tmp_path: Path) -> None:
    assert run(ORDER, tmp_path, platform()) == []
    # A Namespace may share its wave: Argo CD applies Namespaces first within a wave.
    assert run(ORDER, tmp_path, platform(namespace="-15")) == []
    without_group = [o for o in platform(namespace="-10") if o["kind"] != "OperatorGroup"]
    assert run(ORDER, tmp_path, without_group) == []
    # The DataScienceCluster and the objects of its components may share a wave.
    assert run(ORDER, tmp_path, platform(isvc="0")) == []


def test_dsci_in_the_operator_wave(tmp_path: Path) -> None:
    [finding] = run(ORDER, tmp_path, platform(sub="0", dsci="0", dsc="1", isvc="1"))
    assert finding.rule == "argocd-sync-order"
    assert finding.severity is Severity.ERROR
    assert finding.object == ObjectRef("DSCInitialization", "default-dsci", None, "dscinitialization.opendatahub.io/v2")
    assert finding.environment == "prod"
    assert finding.path == WAVE_PATH
    assert "Subscription redhat-ods-operator/rhods-operator (wave 0)" in finding.message
    assert finding.fix is not None and '"1"' in finding.fix


def test_dsc_before_dsci(tmp_path: Path) -> None:
    [finding] = run(ORDER, tmp_path, platform(dsci="2", dsc="1", isvc="3"))
    assert finding.object is not None and finding.object.kind == "DataScienceCluster"
    assert "DSCInitialization default-dsci (wave 2)" in finding.message


def test_component_object_before_the_dsc(tmp_path: Path) -> None:
    [finding] = run(ORDER, tmp_path, platform(isvc="-1"))
    assert finding.object == ObjectRef("InferenceService", "fraud", "ml-prod", "serving.kserve.io/v1beta1")
    assert "wave -1" in finding.message and "DataScienceCluster default-dsc (wave 0)" in finding.message


def test_missing_dsci_compares_dsc_with_the_operator(tmp_path: Path) -> None:
    objects = [o for o in platform(sub="0", dsc="0") if o["kind"] != "DSCInitialization"]
    [finding] = run(ORDER, tmp_path, objects)
    assert finding.object is not None and finding.object.kind == "DataScienceCluster"
    assert "operator must be installed" in finding.message


@pytest.mark.parametrize(("namespace", "group", "culprit"),
                         [("-5", "-15", "Namespace"), ("-20", "-5", "OperatorGroup")])
def test_namespace_and_operator_group_before_subscription(tmp_path: Path, namespace: str, group: str,
                                                          culprit: str) -> None:
    [finding] = run(ORDER, tmp_path, platform(namespace=namespace, group=group))
    assert finding.object is not None and finding.object.kind == "Subscription"
    assert culprit in finding.message


@pytest.mark.parametrize("group", ["-10", "-15"])
def test_operator_group_in_the_subscriptions_wave_or_earlier_passes(tmp_path: Path, group: str) -> None:
    """A wave is applied in one pass (gitops-engine sync_tasks.go): OLM finds the OperatorGroup either way."""
    assert run(ORDER, tmp_path, platform(group=group)) == []


def test_hooks_and_invalid_waves_are_left_alone(tmp_path: Path) -> None:
    hook = obj("serving.kserve.io/v1beta1", "InferenceService", "smoke", "ml-prod", "-50",
               **{"argocd.argoproj.io/hook": "PostSync"})
    bad = obj("serving.kserve.io/v1beta1", "InferenceService", "typo", "ml-prod", "later")
    assert run(ORDER, tmp_path, [*platform(), hook, bad]) == []


# --- argocd-skip-dry-run ----------------------------------------------------------------------


def test_operator_resource_without_skip_dry_run(tmp_path: Path) -> None:
    notebook = obj("kubeflow.org/v1", "Notebook", "lab", "ml-dev", "3",
                   **{"argocd.argoproj.io/sync-options": "ServerSideApply=true"})
    [finding] = run(SKIP, tmp_path, [notebook], env="dev")
    assert finding.rule == "argocd-skip-dry-run"
    assert finding.severity is Severity.ERROR
    assert finding.object == ObjectRef("Notebook", "lab", "ml-dev", "kubeflow.org/v1")
    assert finding.environment == "dev"
    assert finding.path == "metadata.annotations.argocd.argoproj.io/sync-options"
    assert "Notebook lab (kubeflow.org)" in finding.message


def test_skip_dry_run_among_other_options_passes(tmp_path: Path) -> None:
    dashboard = obj("grafana.integreatly.org/v1beta1", "GrafanaDashboard", "models", "ml-prod",
                    **{"argocd.argoproj.io/sync-options": "ServerSideApply=true, SkipDryRunOnMissingResource=true"})
    assert run(SKIP, tmp_path, [*platform(), dashboard]) == []


def test_groups_shipped_with_openshift_or_in_the_target_are_exempt(tmp_path: Path) -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "sealedsecrets.bitnami.com"}, "spec": {"group": "bitnami.com"}}
    objects = [crd, obj("bitnami.com/v1alpha1", "SealedSecret", "s3", "ml-prod"),
               obj("monitoring.coreos.com/v1", "PrometheusRule", "alerts", "ml-prod"),
               obj("argoproj.io/v1alpha1", "Application", "models", "openshift-gitops"),
               obj("route.openshift.io/v1", "Route", "ui", "ml-prod")]
    assert run(SKIP, tmp_path, objects) == []


def test_group_list() -> None:
    assert in_groups("datasciencepipelinesapplications.opendatahub.io", OPERATOR_CRD_GROUPS)
    assert in_groups("serving.kserve.io", OPERATOR_CRD_GROUPS)
    assert not in_groups("monitoring.coreos.com", OPERATOR_CRD_GROUPS)
    assert not in_groups("argoproj.io", OPERATOR_CRD_GROUPS)
    assert not in_groups("notopendatahub.io", OPERATOR_CRD_GROUPS)


def test_waiver(tmp_path: Path) -> None:
    notebook = obj("kubeflow.org/v1", "Notebook", "lab", "ml-dev",
                   **{"waive.mlops.dev/argocd-skip-dry-run": "synced by a later Application"})
    [finding] = run(SKIP, tmp_path, [notebook])
    assert finding.waived == "synced by a later Application"
