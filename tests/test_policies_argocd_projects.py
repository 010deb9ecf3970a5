"""argocd-project-kinds and argocd-project-destinations: what an AppProject refuses is found before a sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops.findings import Finding, ObjectRef
from mlops.policies import rule_by_id
from mlops.policies.argocd_projects import kind_refusal, namespace_permitted
from policy_helpers import check, make_context
from test_policies_references import (
    ARGO_API,
    TARGETS,
    application,
    appset,
    argo_repo,
    env_list,
    obj,
    one,
    project,
)

IN_CLUSTER = {"server": "https://kubernetes.default.svc"}


def restricted(name: str = "mlops", kinds: list[tuple[str, str]] | None = None,
               namespaces: tuple[str, ...] = ("ml-*", "redhat-ods-operator"), **spec: Any) -> dict[str, Any]:
    """An AppProject that lists its namespaced kinds, its destinations and the Namespace kind."""
    data = project(name)
    data["spec"].update(
        destinations=[{**IN_CLUSTER, "namespace": namespace} for namespace in namespaces],
        clusterResourceWhitelist=[{"group": "", "kind": "Namespace"}],
        namespaceResourceWhitelist=[{"group": group, "kind": kind} for group, kind in
                                    (kinds if kinds is not None else [("", "ConfigMap")])],
        **spec)
    return data


def argo_with(rule_id: str, tmp_path: Path, the_project: dict[str, Any],
              environments: dict[str, list[dict[str, Any]]]) -> list[Finding]:
    argo_repo(tmp_path)
    # platform and Argo CD itself belong to a project this test does not render (not under test here)
    objects = [the_project, application("platform", "platform", project_name="admin"),
               application("argocd", "base/argocd", project_name="admin"), appset(env_list("dev", "test", "prod"))]
    context = make_context(tmp_path, {"argocd": objects, **environments}, targets=TARGETS)
    return check(rule_by_id(rule_id), context)


def env_objects(*extra: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {env: [obj("v1", "Namespace", f"ml-{env}", None), obj("v1", "ConfigMap", "settings", f"ml-{env}"),
                  *[{**item, "metadata": {**item["metadata"], "namespace": f"ml-{env}"}} for item in extra]]
            for env in ("dev", "test", "prod")}


def test_permitted_kinds_pass(tmp_path: Path) -> None:
    assert argo_with("argocd-project-kinds", tmp_path, restricted(), env_objects()) == []


def test_a_kind_missing_from_the_whitelist_is_found_once_per_environment(tmp_path: Path) -> None:
    cronjob = obj("batch/v1", "CronJob", "retrain", "ml-dev", spec={})
    findings = argo_with("argocd-project-kinds", tmp_path, restricted(),
                         env_objects(cronjob, {**cronjob, "metadata": {"name": "second"}}))
    assert sorted(f.environment or "" for f in findings) == ["dev", "prod", "test"]
    dev = next(f for f in findings if f.environment == "dev")
    assert dev.object == ObjectRef("CronJob", "retrain", "ml-dev", "batch/v1")
    assert dev.path == "kind"
    assert "does not permit batch/CronJob (spec.namespaceResourceWhitelist)" in dev.message
    assert "add {group: 'batch', kind: CronJob}" in (dev.fix or "")


def test_globs_blacklists_and_cluster_scoped_kinds(tmp_path: Path) -> None:
    globbed = restricted(kinds=[("*", "*")])
    assert argo_with("argocd-project-kinds", tmp_path, globbed,
                     env_objects(obj("batch/v1", "CronJob", "retrain", "ml-dev"))) == []
    black = restricted(kinds=[("*", "*")], namespaceResourceBlacklist=[{"group": "", "kind": "Secret"}])
    finding = one(argo_with("argocd-project-kinds", tmp_path, black,
                            {"dev": [obj("v1", "Secret", "creds", "ml-dev")]}), "argocd-project-kinds")
    assert "spec.namespaceResourceBlacklist" in finding.message
    cluster = one(argo_with("argocd-project-kinds", tmp_path, restricted(),
                            {"dev": [obj("rbac.authorization.k8s.io/v1", "ClusterRole", "reader", None)]}),
                  "argocd-project-kinds")
    assert "spec.clusterResourceWhitelist" in cluster.message


@pytest.mark.parametrize(("spec", "group", "kind", "namespaced", "expected"), [
    ({}, "batch", "CronJob", True, None),  # no namespace whitelist: every namespaced kind
    ({"namespaceResourceWhitelist": []}, "batch", "CronJob", True, "spec.namespaceResourceWhitelist"),  # empty: none
    ({}, "", "Namespace", False, "spec.clusterResourceWhitelist"),  # cluster kinds need a listing
    ({"clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}, "", "Namespace", False, None),
    ({"clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
      "clusterResourceBlacklist": [{"group": "", "kind": "Namespace"}]}, "", "Namespace", False,
     "spec.clusterResourceBlacklist"),
])
def test_kind_rules_as_argo_cd(spec: dict[str, Any], group: str, kind: str, namespaced: bool,
                               expected: str | None) -> None:
    assert kind_refusal({"spec": spec}, group, kind, namespaced) == expected


def test_a_namespace_outside_the_destinations_is_found(tmp_path: Path) -> None:
    findings = argo_with("argocd-project-destinations", tmp_path, restricted(namespaces=("ml-dev", "ml-test")),
                         env_objects())
    finding = one(findings, "argocd-project-destinations")
    assert finding.environment == "prod"
    assert "into namespace ml-prod" in finding.message and "AppProject mlops" in finding.message


def test_destination_globs_and_exclusions() -> None:
    data = {"spec": {"destinations": [{**IN_CLUSTER, "namespace": "ml-*"}, {**IN_CLUSTER, "namespace": "!ml-secret"},
                                      {"name": "hub", "namespace": "*"}]}}
    assert namespace_permitted(data, IN_CLUSTER, "ml-dev")
    assert not namespace_permitted(data, IN_CLUSTER, "ml-secret")
    assert not namespace_permitted(data, IN_CLUSTER, "other")
    assert namespace_permitted(data, {"name": "hub"}, "other")
    assert not namespace_permitted(data, {"server": "https://elsewhere:6443"}, "ml-dev")


def test_an_application_without_a_known_project_is_left_to_project_exists(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    objects = [project("other"), appset(env_list("dev"), project_name="missing")]
    context = make_context(tmp_path, {"argocd": objects, **env_objects(obj("batch/v1", "CronJob", "c", "ml-dev"))},
                           targets=TARGETS)
    assert check(rule_by_id("argocd-project-kinds"), context) == []
    assert ARGO_API  # the same Argo CD objects as the references tests
