"""Zero-config discovery: without mlops.yaml, validate exactly what the repository's Argo CD syncs.

The fixture is shaped like public OpenShift AI GitOps repositories: an ApplicationSet with a
list generator, patched per cluster by two kustomize roots (one element pointing at a folder that
does not exist); a model base with an overlay that adds the Argo CD annotations and a component;
an RHOAI 2.25 and a 3.5 platform side by side, each synced by its own Application; a kustomize
root nobody syncs; a Helm source.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlops.cli import main
from repo_builder import write

REPO = "https://github.com/example-org/rhoai-gitops.git"

APPSET = f"""\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: models
  namespace: openshift-gitops
spec:
  goTemplate: true
  generators:
    - list:
        elements: []
  template:
    metadata:
      name: 'model-{{{{.cluster}}}}'
    spec:
      project: default
      source:
        repoURL: {REPO}
        targetRevision: main
        path: '{{{{.path}}}}'
      destination:
        server: https://kubernetes.default.svc
        namespace: ml-serving
"""

APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: openshift-gitops
spec:
  project: default
  source:
    repoURL: {repo}
    targetRevision: main
    {source}
  destination:
    server: https://kubernetes.default.svc
    namespace: {namespace}
"""


def cluster_patch(elements: list[dict[str, str]], platform: str) -> str:
    """One cluster's Argo CD objects: the shared ApplicationSet with this cluster's elements, its platform."""
    patch = [{"op": "replace", "path": "/spec/generators/0/list/elements", "value": elements}]
    return (f"resources:\n  - ../../base\n  - {platform}\n"
            "patches:\n  - target: {kind: ApplicationSet, name: models}\n"
            f"    patch: '{json.dumps(patch)}'\n")


def subscription(channel: str) -> str:
    return ("apiVersion: operators.coreos.com/v1alpha1\nkind: Subscription\nmetadata:\n  name: rhods-operator\n"
            "  namespace: redhat-ods-operator\n  annotations:\n    argocd.argoproj.io/sync-wave: \"-2\"\nspec:\n"
            f"  name: rhods-operator\n  channel: {channel}\n  installPlanApproval: Automatic\n"
            "  source: redhat-operators\n  sourceNamespace: openshift-marketplace\n")


DSC_2X = """\
apiVersion: datasciencecluster.opendatahub.io/v1
kind: DataScienceCluster
metadata:
  name: default-dsc
  annotations:
    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true
spec:
  components:
    kserve:
      managementState: Managed
      defaultDeploymentMode: RawDeployment
      serving:
        managementState: Removed
    modelmeshserving:
      managementState: Removed
"""

DSC_3X = """\
apiVersion: datasciencecluster.opendatahub.io/v2
kind: DataScienceCluster
metadata:
  name: default-dsc
  annotations:
    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true
spec:
  components:
    kserve:
      managementState: Managed
    aipipelines:
      managementState: Managed
"""

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  key: value\n"
#: The platform's access and what the Argo CD controller may write for it (rules rhoai-auth, argocd-controller-rbac).
AUTH = ("apiVersion: services.platform.opendatahub.io/v1alpha1\nkind: Auth\nmetadata:\n  name: auth\n"
        "  annotations:\n    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true\n"
        "spec:\n  adminGroups: [rhods-admins]\n  allowedGroups: [system:authenticated]\n")
CONTROLLER_RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: gitops-platform
rules:
  - apiGroups: [datasciencecluster.opendatahub.io, services.platform.opendatahub.io]
    resources: [datascienceclusters, auths]
    verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: gitops-platform
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gitops-platform}
subjects:
  - {kind: ServiceAccount, name: openshift-gitops-argocd-application-controller, namespace: openshift-gitops}
"""


def fixture(root: Path) -> Path:
    files = {
        "argocd/base/kustomization.yaml": "resources:\n  - applicationset.yaml\n  - helm.yaml\n  - rbac.yaml\n",
        "argocd/base/rbac.yaml": CONTROLLER_RBAC,
        "argocd/base/applicationset.yaml": APPSET,
        "argocd/base/helm.yaml": APPLICATION.format(name="grafana", repo="https://grafana.github.io/helm-charts",
                                                    source="chart: grafana", namespace="monitoring"),
        "argocd/clusters/east/kustomization.yaml": cluster_patch([
            {"cluster": "east", "path": "models/fraud/overlays/east"}], "platform-2x.yaml"),
        "argocd/clusters/east/platform-2x.yaml": APPLICATION.format(
            name="platform-2x", repo=REPO, source="path: platform/rhoai-2.25", namespace="redhat-ods-operator"),
        "argocd/clusters/west/platform-3x.yaml": APPLICATION.format(
            name="platform-3x", repo=REPO, source="path: platform/rhoai-3.5", namespace="redhat-ods-operator"),
        "argocd/clusters/west/kustomization.yaml": cluster_patch([
            {"cluster": "west", "path": "models/fraud/overlays/west"},
            {"cluster": "west-gpu", "path": "models/fraud/overlays/west-gpu"}], "platform-3x.yaml"),  # no such folder
        "models/fraud/base/kustomization.yaml": "resources:\n  - configmap.yaml\n",
        "models/fraud/base/configmap.yaml": CONFIGMAP.format(name="fraud-config"),
        "models/fraud/components/labels/kustomization.yaml":
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n  - pairs: {team: fraud}\n",
        "models/fraud/overlays/east/kustomization.yaml":
            "namespace: ml-serving\nresources:\n  - ../../base\ncomponents:\n  - ../../components/labels\n",
        "models/fraud/overlays/west/kustomization.yaml": "namespace: ml-serving\nresources:\n  - ../../base\n",
        "platform/rhoai-2.25/kustomization.yaml": "resources:\n  - subscription.yaml\n  - dsc.yaml\n",
        "platform/rhoai-2.25/subscription.yaml": subscription("stable-2.25"),
        "platform/rhoai-2.25/dsc.yaml": DSC_2X,
        "platform/rhoai-3.5/kustomization.yaml": "resources:\n  - subscription.yaml\n  - dsc.yaml\n  - auth.yaml\n",
        "platform/rhoai-3.5/auth.yaml": AUTH,
        "platform/rhoai-3.5/subscription.yaml": subscription("stable-3.5"),
        "platform/rhoai-3.5/dsc.yaml": DSC_3X,
        "sandbox/kustomization.yaml": "resources:\n  - configmap.yaml\n",
        "sandbox/configmap.yaml": CONFIGMAP.format(name="scratch"),
    }
    write(root, files)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def targets(root: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["targets", str(root), "--output", "json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))
    return fixture(tmp_path / "repo")


def test_the_targets_are_exactly_what_argo_cd_syncs(repo: Path) -> None:
    report = targets(repo)
    synced = {t["path"]: t for t in report["targets"] if t["synced"]}
    assert sorted(synced) == ["models/fraud/overlays/east", "models/fraud/overlays/west", "platform/rhoai-2.25",
                              "platform/rhoai-3.5"]
    # the per-cluster patches decide the elements: each overlay comes from its cluster's element
    [east] = synced["models/fraud/overlays/east"]["reasons"]
    assert "generated by ApplicationSet models" in east and "spec.generators[0].list.elements[0].path" in east
    bases = {t["path"] for t in report["targets"] if not t["synced"]}
    assert bases == {"sandbox", "argocd/clusters/east", "argocd/clusters/west"}  # nothing syncs them
    assert "models/fraud/components/labels" not in bases  # a Component is no root
    why = {s["application"]: s["why"] for s in report["notRendered"]}
    assert "Helm chart grafana" in why["Application grafana"]
    assert any("west-gpu" in s["path"] or "west-gpu" in s["why"] for s in report["notRendered"])


def test_validate_finds_the_missing_folder_at_its_element_and_nothing_on_the_correct_parts(repo: Path) -> None:
    for _ in range(2):  # the same finding every time, whatever the order of the targets
        result = CliRunner().invoke(main, ["validate", str(repo), "--output", "json"])
        findings = json.loads(result.stdout)["findings"]
        problems = [f for f in findings if f["severity"] == "error" and not f["waived"]]
        assert [(f["rule"], f["file"]) for f in problems] == [("argocd-source-path", "argocd/base/applicationset.yaml")]
        assert "models/fraud/overlays/west-gpu" in problems[0]["message"]
        assert problems[0]["path"] == "spec.generators[0].list.elements[1].path"
        assert result.exit_code == 1
        # the warnings are true too: the fixture's Applications use the default AppProject, and
        # no built-in schema exists for the 2.25 platform (said, not guessed with a 3.x schema)
        warnings = {(f["rule"], f["environment"]) for f in findings if f["severity"] == "warning"}
        assert {rule for rule, _ in warnings} == {"argocd-default-project", "schema-missing"}
        assert ("schema-missing", "platform-2x") in warnings


def test_the_2x_platform_is_judged_by_2x_facts_and_the_3x_one_by_3x_schemas(repo: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(repo), "--output", "json"])
    findings = json.loads(result.stdout)["findings"]
    assert not [f for f in findings if f["rule"] in ("rhoai-2x-leftover", "rhoai-api-deprecated")]
    summary = json.loads(result.stdout)["summary"]["schema_coverage"]
    assert summary["by_environment"]["platform-3x"]["checked"] == 3  # Subscription, DSC v2 and Auth (3.5)
    # the 3.x platform written with a 2.x field fails against the 3.5 schema
    leftover = DSC_3X + "    modelmeshserving:\n      managementState: Removed\n"
    (repo / "platform/rhoai-3.5/dsc.yaml").write_text(leftover, encoding="utf-8")
    again = json.loads(CliRunner().invoke(main, ["validate", str(repo), "--output", "json"]).stdout)["findings"]
    assert {f["environment"] for f in again if f["rule"] in ("schema", "rhoai-2x-leftover")} == {"platform-3x"}


def test_roots_render_with_the_build_options_of_the_argo_cd_instance(tmp_path: Path) -> None:
    """`kustomizeBuildOptions` of the ArgoCD instance in the repository apply to every discovered root."""
    shared = CONFIGMAP.format(name="shared")
    files = {
        "apps/web/kustomization.yaml": "resources:\n  - ../../common/shared.yaml\n",  # outside its folder
        "common/shared.yaml": shared,
        "argocd/web.yaml": APPLICATION.format(name="web", repo=REPO, source="path: apps/web", namespace="web"),
    }
    root = write(tmp_path / "repo", files)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    plain = CliRunner().invoke(main, ["validate", str(root), "--output", "json", "--no-policies"])
    assert plain.exit_code == 1 and "security" in plain.stdout  # kustomize's load restrictor refuses it
    write(root, {"argocd/argocd.yaml": "apiVersion: argoproj.io/v1beta1\nkind: ArgoCD\nmetadata:\n"
                                       "  name: openshift-gitops\n  namespace: openshift-gitops\nspec:\n"
                                       "  kustomizeBuildOptions: --load-restrictor LoadRestrictionsNone\n"})
    report = targets(root)
    assert report["buildOptions"] == ["--load-restrictor", "LoadRestrictionsNone"]
    assert report["buildOptionsFrom"] == "argocd/argocd.yaml"
    allowed = CliRunner().invoke(main, ["validate", str(root), "--output", "json", "--no-policies"])
    assert allowed.exit_code == 0, allowed.output


def test_a_repository_without_argo_cd_objects_is_checked_as_bases_only(tmp_path: Path) -> None:
    """Two roots rendering the same object: without Applications nothing says they share a cluster."""
    root = write(tmp_path / "repo", {
        "a/kustomization.yaml": "resources:\n  - ../shared\n",
        "b/kustomization.yaml": "resources:\n  - ../shared\n",
        "shared/kustomization.yaml": "resources:\n  - configmap.yaml\n",
        "shared/configmap.yaml": CONFIGMAP.format(name="same"),
    })
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    report = targets(root)
    assert {(t["path"], t["synced"]) for t in report["targets"]} == {("a", False), ("b", False)}
    result = CliRunner().invoke(main, ["validate", str(root), "--strict"])
    assert result.exit_code == 0, result.output  # no argocd-single-owner, no sync-level rule at all


def test_a_base_whose_overlay_adds_the_argo_cd_annotations_is_not_blamed(tmp_path: Path) -> None:
    dsc = DSC_3X.replace("  annotations:\n    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true\n", "")
    patch = ("apiVersion: datasciencecluster.opendatahub.io/v2\nkind: DataScienceCluster\nmetadata:\n"
             "  name: default-dsc\n  annotations:\n"
             "    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true\n")
    root = write(tmp_path / "repo", {
        "platform/base/kustomization.yaml": "resources:\n  - dsc.yaml\n", "platform/base/dsc.yaml": dsc,
        "platform/prod/kustomization.yaml": "resources:\n  - ../base\npatches:\n  - path: argocd.yaml\n",
        "platform/prod/argocd.yaml": patch,
        "argocd/platform.yaml": APPLICATION.format(name="platform", repo=REPO, source="path: platform/prod",
                                                   namespace="redhat-ods-operator"),
    })
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    result = CliRunner().invoke(main, ["validate", str(root), "--output", "json"])
    assert not [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "argocd-skip-dry-run"]


def test_sync_options_of_the_application_count_for_its_objects(tmp_path: Path) -> None:
    """SkipDryRunOnMissingResource in the Application's syncOptions covers every object it syncs."""
    app = APPLICATION.format(name="platform", repo=REPO, source="path: platform/prod", namespace="redhat-ods-operator")
    app += "  syncPolicy:\n    syncOptions:\n      - SkipDryRunOnMissingResource=true\n"
    dsc = DSC_3X.replace("  annotations:\n    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true\n", "")
    root = write(tmp_path / "repo", {"platform/prod/kustomization.yaml": "resources:\n  - dsc.yaml\n",
                                     "platform/prod/dsc.yaml": dsc, "argocd/platform.yaml": app})
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    rules = [f["rule"] for f in json.loads(CliRunner().invoke(main, ["validate", str(root), "--output", "json"])
                                           .stdout)["findings"]]
    assert "argocd-skip-dry-run" not in rules
    (root / "argocd/platform.yaml").write_text(app.replace("SkipDryRunOnMissingResource=true", "Validate=true"),
                                               encoding="utf-8")
    rules = [f["rule"] for f in json.loads(CliRunner().invoke(main, ["validate", str(root), "--output", "json"])
                                           .stdout)["findings"]]
    assert "argocd-skip-dry-run" in rules


def test_a_server_side_applied_or_co_owned_object_may_leave_out_required_fields(tmp_path: Path) -> None:
    """OdhDashboardConfig exists before Git patches it; an SSA patch is merged with the live object."""
    config = ("apiVersion: opendatahub.io/v1alpha\nkind: OdhDashboardConfig\nmetadata:\n  name: odh-dashboard-config\n"
              "  namespace: redhat-ods-applications\n  annotations:\n"
              "    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true\n"
              "spec:\n  notebookController:\n    pvcSize: 20Gi\n")
    root = write(tmp_path / "repo", {
        "dashboard/kustomization.yaml": "resources:\n  - config.yaml\n", "dashboard/config.yaml": config,
        "argocd/dashboard.yaml": APPLICATION.format(name="dashboard", repo=REPO, source="path: dashboard",
                                                    namespace="redhat-ods-applications"),
    })
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    result = CliRunner().invoke(main, ["validate", str(root), "--output", "json", "--no-policies"])
    assert result.exit_code == 0, result.output
    (root / "dashboard/config.yaml").write_text(config.replace("pvcSize: 20Gi", "pvcSize: 20"), encoding="utf-8")
    typed = CliRunner().invoke(main, ["validate", str(root), "--output", "json", "--no-policies"])
    assert typed.exit_code == 1  # a wrong type is still an error


def test_every_source_not_rendered_is_counted_in_the_report(repo: Path) -> None:
    report = json.loads(CliRunner().invoke(main, ["validate", str(repo), "--output", "json"]).stdout)
    [helm] = [f for f in report["findings"] if f["rule"] == "not-rendered"]
    assert helm["severity"] == "info" and "Helm chart grafana" in helm["message"]
    assert (helm["file"], helm["line"]) == ("argocd/base/helm.yaml", 8)
