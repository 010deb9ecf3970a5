"""platform and gitops_rbac families: components and instances, Auth, hardware profiles, the controller's grants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops.policies.gitops_rbac import RULES as RBAC_RULES
from mlops.policies.gitops_rbac import plural
from mlops.policies.platform import RULES
from policy_helpers import check, make_context
from template_defects import line_of, names, only_error, reintroduce, template, validate

INSTANCE, AUTH, VISIBILITY = RULES
(CONTROLLER_RBAC,) = RBAC_RULES
DSC_FILE = "base/rhoai/datasciencecluster.yaml"
AUTH_FILE = "base/rhoai/auth.yaml"
PROFILE = "platform/hardwareprofile-nvidia-gpu.yaml"


# --- the template, with each defect put back ------------------------------------------------------


def test_template_modelregistry_managed_without_a_registry(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, "platform/kustomization.yaml", "  - ../base/model-registry\n", "")
    code, findings = validate(repo, "platform")
    finding = only_error(findings, "rhoai-component-instance")
    assert code == 1 and names(finding) == "DataScienceCluster/default-dsc"
    assert finding["file"] == DSC_FILE
    assert finding["line"] == line_of(repo, DSC_FILE, "    modelregistry:\n      managementState") + 1
    assert "rhoai-model-registries" in finding["message"]


def test_template_without_auth(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, "base/rhoai/kustomization.yaml", "  - auth.yaml\n", "")
    code, findings = validate(repo, "platform")
    finding = only_error(findings, "rhoai-auth")
    assert code == 1 and names(finding) == "DataScienceCluster/default-dsc"
    assert (finding["file"], finding["line"]) == (DSC_FILE, line_of(repo, DSC_FILE, "  name: default-dsc"))
    assert "rhods-admins" in finding["message"]


def test_template_auth_that_lets_everyone_administer(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, AUTH_FILE, "  adminGroups:\n    - rhods-admins\n",
                "  adminGroups:\n    - system:authenticated\n")
    code, findings = validate(repo, "platform")
    finding = only_error(findings, "rhoai-auth")
    assert code == 1 and names(finding) == "Auth/auth"
    assert (finding["file"], finding["line"]) == (AUTH_FILE, line_of(repo, AUTH_FILE, "  adminGroups:\n"))


def test_template_hardware_profile_offered_in_pipelines(tmp_path: Path) -> None:
    repo = template(tmp_path)
    line = reintroduce(repo, PROFILE, """'["workbench","model-serving"]'""",
                       """'["workbench","model-serving","pipelines"]'""")
    code, findings = validate(repo, "platform")
    finding = only_error(findings, "hardware-profile-visibility")
    assert code == 1 and names(finding) == "HardwareProfile/redhat-ods-applications/nvidia-gpu"
    assert (finding["file"], finding["line"]) == (PROFILE, line)


def test_template_controller_without_its_platform_grant(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, "base/argocd/controller-rbac.yaml",
                "  - apiGroups: [datasciencecluster.opendatahub.io]\n    resources: [datascienceclusters]\n",
                "  - apiGroups: [datasciencecluster.opendatahub.io]\n    resources: [datasciencecluster]\n")
    code, findings = validate(repo)
    finding = only_error(findings, "argocd-controller-rbac")
    assert code == 1 and names(finding) == "DataScienceCluster/default-dsc"
    assert (finding["file"], finding["line"]) == (DSC_FILE, line_of(repo, DSC_FILE, "kind: DataScienceCluster"))
    assert "datascienceclusters.datasciencecluster.opendatahub.io" in finding["message"]


def test_template_controller_binding_to_another_account(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, "base/argocd/controller-rbac.yaml", "    name: openshift-gitops-argocd-application-controller\n",
                "    name: openshift-gitops-argocd-server\n")
    _code, findings = validate(repo)
    found = [f for f in findings if f["rule"] == "argocd-controller-rbac"]
    assert {names(f) for f in found} == {"DataScienceCluster/default-dsc", "DSCInitialization/default-dsci",
                                         "Auth/auth", "HardwareProfile/redhat-ods-applications/nvidia-gpu",
                                         "ModelRegistry/rhoai-model-registries/mlops-registry"}


# --- rhoai-component-instance ---------------------------------------------------------------------


def dsc(**components: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "datasciencecluster.opendatahub.io/v2", "kind": "DataScienceCluster",
            "metadata": {"name": "default-dsc"}, "spec": {"components": components}}


def registry(namespace: str = "rhoai-model-registries") -> dict[str, Any]:
    return {"apiVersion": "modelregistry.opendatahub.io/v1beta1", "kind": "ModelRegistry",
            "metadata": {"name": "registry", "namespace": namespace}, "spec": {"rest": {}}}


def isvc(name: str) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": name}}


def run(rule: Any, tmp_path: Path, objects: dict[str, list[dict[str, Any]]]) -> list[Any]:
    return check(rule, make_context(tmp_path, objects, targets=(("platform", "platform"),)))


@pytest.mark.parametrize("objects", [
    {"platform": [dsc(modelregistry={"managementState": "Managed"}), registry()]},
    {"platform": [dsc(modelregistry={"managementState": "Managed", "registriesNamespace": "regs"}),
                  registry("regs")]},
    {"platform": [dsc(modelregistry={"managementState": "Removed"})]},
    {"platform": [dsc(kserve={"managementState": "Managed"})], "dev": [isvc("a")]},
    {"platform": [dsc()], "dev": [isvc("a")]},  # a component left unset is not known to be off
])
def test_consistent_components(tmp_path: Path, objects: dict[str, list[dict[str, Any]]]) -> None:
    assert run(INSTANCE, tmp_path, objects) == []


def test_registry_outside_the_registries_namespace(tmp_path: Path) -> None:
    objects = {"platform": [dsc(modelregistry={"managementState": "Managed"}), registry("elsewhere")]}
    messages = [f.message for f in run(INSTANCE, tmp_path, objects)]
    assert len(messages) == 2
    assert "no ModelRegistry" in messages[0] and "outside the registries namespace" in messages[1]


def test_objects_of_a_removed_component(tmp_path: Path) -> None:
    objects = {"platform": [dsc(kserve={"managementState": "Removed"})], "dev": [isvc("a"), isvc("b")]}
    (finding,) = run(INSTANCE, tmp_path, objects)
    assert finding.object.name == "a" and finding.environment == "dev"
    assert "(and 1 more)" in finding.message and "kserve to Removed" in finding.message


# --- rhoai-auth -----------------------------------------------------------------------------------


def auth(name: str = "auth", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "services.platform.opendatahub.io/v1alpha1", "kind": "Auth", "metadata": {"name": name},
            "spec": {"adminGroups": ["rhods-admins"], "allowedGroups": ["system:authenticated"], **spec}}


OPERATOR = {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
            "metadata": {"name": "rhods-operator", "namespace": "redhat-ods-operator"},
            "spec": {"name": "rhods-operator", "channel": "stable-3.5"}}


def test_valid_auth(tmp_path: Path) -> None:
    assert run(AUTH, tmp_path, {"platform": [OPERATOR, dsc(), auth()]}) == []
    assert run(AUTH, tmp_path, {"platform": [auth()]}) == []  # no platform here: nothing required
    # a repository that configures the DataScienceCluster but does not install OpenShift AI leaves Auth to
    # whoever does
    assert run(AUTH, tmp_path, {"platform": [dsc()]}) == []


def test_platform_installed_without_auth(tmp_path: Path) -> None:
    (finding,) = run(AUTH, tmp_path, {"platform": [OPERATOR, dsc()]})
    assert finding.object.kind == "DataScienceCluster" and "renders no Auth" in finding.message


@pytest.mark.parametrize(("item", "path", "words"), [
    (auth(name="platform-auth"), "metadata.name", "not named 'auth'"),
    (auth(adminGroups=[]), "spec.adminGroups", "adminGroups is empty"),
    (auth(allowedGroups=["team", ""]), "spec.allowedGroups", "empty group"),
])
def test_auth_the_api_server_rejects(tmp_path: Path, item: dict[str, Any], path: str, words: str) -> None:
    (finding,) = run(AUTH, tmp_path, {"platform": [OPERATOR, dsc(), item]})
    assert finding.path == path and words in finding.message


# --- hardware-profile-visibility ------------------------------------------------------------------


def profile(visibility: str | None) -> dict[str, Any]:
    annotations = {} if visibility is None else {"opendatahub.io/dashboard-feature-visibility": visibility}
    return {"apiVersion": "infrastructure.opendatahub.io/v1", "kind": "HardwareProfile",
            "metadata": {"name": "gpu", "namespace": "redhat-ods-applications", "annotations": annotations}}


@pytest.mark.parametrize("visibility", [None, "[]", '["workbench"]', '["model-serving", "workbench"]'])
def test_visibility_the_dashboard_knows(tmp_path: Path, visibility: str | None) -> None:
    assert run(VISIBILITY, tmp_path, {"platform": [profile(visibility)]}) == []


@pytest.mark.parametrize(("visibility", "words"), [('["pipelines"]', "'pipelines'"),
                                                   ('["workbenches", "model-serving"]', "for model-serving only"),
                                                   ('["model-serving","pipelines"]', "for model-serving only"),
                                                   ("workbench", "not a JSON list")])
def test_visibility_the_dashboard_does_not_know(tmp_path: Path, visibility: str, words: str) -> None:
    (finding,) = run(VISIBILITY, tmp_path, {"platform": [profile(visibility)]})
    assert words in finding.message


# --- argocd-controller-rbac -----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "resource"), [("DataScienceCluster", "datascienceclusters"),
                                                ("ModelRegistry", "modelregistries"), ("Auth", "auths"),
                                                ("DSCInitialization", "dscinitializations"), ("Ingress", "ingresses")])
def test_plural(kind: str, resource: str) -> None:
    assert plural(kind) == resource


def application(name: str, path: str) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "openshift-gitops"},
            "spec": {"project": "p", "source": {"repoURL": "https://git.example/r.git", "path": path},
                     "destination": {"server": "https://kubernetes.default.svc"}}}


def grant(resources: list[str], verbs: list[str], subject: str = "openshift-gitops-argocd-application-controller",
          ) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "platform"},
         "rules": [{"apiGroups": ["datasciencecluster.opendatahub.io"], "resources": resources, "verbs": verbs}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "platform"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "platform"},
         "subjects": [{"kind": "ServiceAccount", "name": subject, "namespace": "openshift-gitops"}]},
    ]


def rbac_findings(tmp_path: Path, argocd: list[dict[str, Any]], platform: list[dict[str, Any]]) -> list[Any]:
    context = make_context(tmp_path, {"argocd": argocd, "platform": platform},
                           targets=(("argocd", "base/argocd"), ("platform", "platform")))
    return check(CONTROLLER_RBAC, context)


PLATFORM_APP = application("mlops-platform", "platform")
SUBSCRIPTION = {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
                "metadata": {"name": "rhods-operator", "namespace": "redhat-ods-operator"}}


@pytest.mark.parametrize("argocd", [
    [PLATFORM_APP, *grant(["datascienceclusters"], ["get", "list", "watch", "create", "update", "patch", "delete"])],
    [PLATFORM_APP, *grant(["*"], ["*"])],
])
def test_granted_platform(tmp_path: Path, argocd: list[dict[str, Any]]) -> None:
    assert rbac_findings(tmp_path, argocd, [dsc(), SUBSCRIPTION]) == []


def test_nothing_to_grant_without_an_application(tmp_path: Path) -> None:
    assert rbac_findings(tmp_path, [], [dsc()]) == []


@pytest.mark.parametrize("argocd", [
    [PLATFORM_APP],
    [PLATFORM_APP, *grant(["datascienceclusters"], ["get", "list", "watch"])],
    [PLATFORM_APP, *grant(["datascienceclusters"], ["*"], subject="someone-else")],
])
def test_ungranted_platform(tmp_path: Path, argocd: list[dict[str, Any]]) -> None:
    (finding,) = rbac_findings(tmp_path, argocd, [dsc(), SUBSCRIPTION])  # OLM objects are granted by default
    assert finding.object.kind == "DataScienceCluster" and "cluster-scoped" in finding.message


def binding_to(role: str, kind: str = "ClusterRoleBinding", namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": f"controller-{role}"}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "openshift-gitops-argocd-application-controller",
                          "namespace": "openshift-gitops"}]}


@pytest.mark.parametrize("binding", [
    binding_to("cluster-admin"),  # Kubernetes' default role: everything
    binding_to("rhoai-platform-writer"),  # a role the cluster keeps, which the repository cannot see
])
def test_granted_by_a_role_the_repository_does_not_declare(tmp_path: Path, binding: dict[str, Any]) -> None:
    assert rbac_findings(tmp_path, [PLATFORM_APP, binding], [dsc(), registry()]) == []


@pytest.mark.parametrize("binding", [binding_to("admin"), binding_to("edit"),
                                     binding_to("admin", "RoleBinding", "rhoai-model-registries")])
def test_admin_and_edit_write_namespaced_objects_only(tmp_path: Path, binding: dict[str, Any]) -> None:
    (finding,) = rbac_findings(tmp_path, [PLATFORM_APP, binding], [dsc(), registry()])
    assert finding.object.kind == "DataScienceCluster"


def test_admin_bound_in_another_namespace_does_not_grant(tmp_path: Path) -> None:
    findings = rbac_findings(tmp_path, [PLATFORM_APP, binding_to("admin", "RoleBinding", "elsewhere")],
                             [registry()])
    assert [f.object.kind for f in findings] == ["ModelRegistry"]
    assert "label rhoai-model-registries argocd.argoproj.io/managed-by" in (findings[0].fix or "")


def test_one_finding_per_missing_grant_across_targets(tmp_path: Path) -> None:
    context = make_context(tmp_path, {"argocd": [PLATFORM_APP, application("mlops-platform-b", "platform-b")],
                                      "platform": [dsc()], "platform-b": [dsc()]},
                           targets=(("argocd", "base/argocd"), ("platform", "platform"), ("platform-b", "platform-b")))
    (finding,) = check(CONTROLLER_RBAC, context)
    assert "synced by 2 targets" in finding.message and "datascienceclusters" in finding.message


def test_a_binding_kept_in_a_file_no_target_renders_counts(tmp_path: Path) -> None:
    # a bootstrap folder applied by hand, beside a remote base that does not render offline
    (tmp_path / "bootstrap").mkdir()
    (tmp_path / "bootstrap" / "controller-admin.yaml").write_text(yaml.safe_dump(binding_to("cluster-admin")))
    assert rbac_findings(tmp_path, [PLATFORM_APP], [dsc()]) == []
    (tmp_path / "bootstrap" / "controller-admin.yaml").write_text(yaml.safe_dump(binding_to("edit")))
    assert [f.object.kind for f in rbac_findings(tmp_path, [PLATFORM_APP], [dsc()])] == ["DataScienceCluster"]
