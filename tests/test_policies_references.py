"""references family: runtimes, connections, notebook volumes, monitors, Argo CD, hardware profiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlops.findings import Finding, ObjectRef, Severity
from mlops.policies import argocd_sources, notebook_refs, references
from mlops.policies.base import Rule
from mlops.policies.facts.argocd_params import path_match, render_template
from policy_helpers import check, make_context
from repo_builder import write

RULES = [*references.RULES, *notebook_refs.RULES, *argocd_sources.RULES]

RULE = {rule.id: rule for rule in RULES}
ISVC_API = "serving.kserve.io/v1beta1"
RUNTIME_API = "serving.kserve.io/v1alpha1"
ARGO_API = "argoproj.io/v1alpha1"
REPO = "https://github.com/example-org/mlops.git"


def obj(api_version: str, kind: str, name: str, namespace: str | None = "ml-dev", *,
        labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
        **fields: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def isvc(name: str = "fraud", runtime: str | None = "ovms", fmt: str = "onnx", version: str | None = None,
         namespace: str = "ml-dev", annotations: dict[str, str] | None = None, **model: Any) -> dict[str, Any]:
    model_format: dict[str, Any] = {"name": fmt}
    if version is not None:
        model_format["version"] = version
    body: dict[str, Any] = {"modelFormat": model_format, **model}
    if runtime is not None:
        body["runtime"] = runtime
    return obj(ISVC_API, "InferenceService", name, namespace, labels={"app.kubernetes.io/name": name},
               annotations=annotations, spec={"predictor": {"model": body}})


def serving_runtime(name: str = "ovms", formats: list[dict[str, Any]] | None = None, namespace: str = "ml-dev",
                    kind: str = "ServingRuntime", **spec: Any) -> dict[str, Any]:
    formats = formats if formats is not None else [{"name": "onnx", "version": "1", "autoSelect": True}]
    return obj(RUNTIME_API, kind, name, namespace if kind == "ServingRuntime" else None,
               spec={"supportedModelFormats": formats, "containers": [{"name": "kserve-container", "image": "x"}],
                     **spec})


def run(rule_id: str, tmp_path: Path, objects: dict[str, list[dict[str, Any]]], **config: Any) -> list[Finding]:
    return check(RULE[rule_id], make_context(tmp_path, objects, **config))


def one(findings: list[Finding], rule_id: str, severity: Severity = Severity.ERROR) -> Finding:
    assert len(findings) == 1, findings
    finding = findings[0]
    assert finding.rule == rule_id
    assert finding.severity is severity
    return finding


def test_every_rule_is_documented() -> None:
    for rule in RULES:
        assert isinstance(rule, Rule)
        assert rule.summary and rule.explanation and rule.fix
        assert rule.id == rule.id.lower() and " " not in rule.id


# --- isvc-runtime-exists -----------------------------------------------------------------------


def test_runtime_that_supports_the_format_passes(tmp_path: Path) -> None:
    objects = [serving_runtime(), isvc(version="1"), isvc("plain")]
    assert run("isvc-runtime-exists", tmp_path, {"dev": objects}) == []


def test_auto_selected_runtime_passes(tmp_path: Path) -> None:
    assert run("isvc-runtime-exists", tmp_path, {"dev": [serving_runtime(), isvc(runtime=None)]}) == []


def test_cluster_serving_runtime_of_another_target_passes(tmp_path: Path) -> None:
    objects = {"dev": [isvc(runtime="shared")],
               "platform": [serving_runtime("shared", kind="ClusterServingRuntime")]}
    assert run("isvc-runtime-exists", tmp_path, objects, targets=(("platform", "platform"),)) == []


def test_missing_runtime(tmp_path: Path) -> None:
    finding = one(run("isvc-runtime-exists", tmp_path, {"prod": [serving_runtime(namespace="ml-prod"),
                                                                 isvc(runtime="ovms-rest", namespace="ml-prod")]}),
                  "isvc-runtime-exists")
    assert finding.object == ObjectRef("InferenceService", "fraud", "ml-prod", ISVC_API)
    assert finding.environment == "prod"
    assert finding.path == "spec.predictor.model.runtime"
    assert "'ovms-rest'" in finding.message and "ml-prod" in finding.message and "ovms" in finding.message


def test_runtime_in_another_namespace_does_not_count(tmp_path: Path) -> None:
    objects = [serving_runtime(namespace="other"), isvc()]
    finding = one(run("isvc-runtime-exists", tmp_path, {"dev": objects}), "isvc-runtime-exists")
    assert finding.path == "spec.predictor.model.runtime"


def test_runtime_without_the_format_version(tmp_path: Path) -> None:
    finding = one(run("isvc-runtime-exists", tmp_path, {"dev": [serving_runtime(), isvc(version="2")]}),
                  "isvc-runtime-exists")
    assert finding.path == "spec.predictor.model.modelFormat"
    assert "onnx version 2" in finding.message and "onnx:1" in finding.message


def test_runtime_without_the_format(tmp_path: Path) -> None:
    finding = one(run("isvc-runtime-exists", tmp_path, {"test": [serving_runtime(), isvc(fmt="vLLM")]}),
                  "isvc-runtime-exists")
    assert finding.environment == "test"
    assert "vLLM" in finding.message and "ovms" in finding.message


def test_disabled_runtime(tmp_path: Path) -> None:
    finding = one(run("isvc-runtime-exists", tmp_path, {"dev": [serving_runtime(disabled=True), isvc()]}),
                  "isvc-runtime-exists")
    assert "disabled" in finding.message


def test_no_runtime_auto_selects_the_format(tmp_path: Path) -> None:
    runtime = serving_runtime(formats=[{"name": "onnx", "version": "1", "autoSelect": False}])
    finding = one(run("isvc-runtime-exists", tmp_path, {"dev": [runtime, isvc(runtime=None)]}),
                  "isvc-runtime-exists")
    assert finding.path == "spec.predictor.model.modelFormat"
    assert "autoSelect" in finding.message and "onnx" in finding.message


# --- isvc-storage-exists -----------------------------------------------------------------------

CONNECTIONS = "opendatahub.io/connections"


def external_secret(name: str, target: str | None = None, namespace: str = "ml-dev") -> dict[str, Any]:
    spec: dict[str, Any] = {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"}}
    if target:
        spec["target"] = {"name": target}
    return obj("external-secrets.io/v1", "ExternalSecret", name, namespace, spec=spec)


@pytest.mark.parametrize("provider", [
    obj("v1", "Secret", "s3"),
    external_secret("s3"),
    external_secret("es-for-s3", target="s3"),
    obj("bitnami.com/v1alpha1", "SealedSecret", "sealed", spec={"template": {"metadata": {"name": "s3"}}}),
])
def test_connection_that_exists_passes(tmp_path: Path, provider: dict[str, Any]) -> None:
    model = isvc(annotations={CONNECTIONS: "s3"}, storage={"key": "s3", "path": "fraud/1"})
    assert run("isvc-storage-exists", tmp_path, {"dev": [provider, model]}) == []


def test_missing_connection_annotation(tmp_path: Path) -> None:
    objects = [external_secret("mlops-s3"), isvc(annotations={CONNECTIONS: "mlops-s4"}, namespace="ml-dev")]
    finding = one(run("isvc-storage-exists", tmp_path, {"dev": objects}), "isvc-storage-exists")
    assert finding.object == ObjectRef("InferenceService", "fraud", "ml-dev", ISVC_API)
    assert finding.environment == "dev"
    assert finding.path == f"metadata.annotations.{CONNECTIONS}"
    assert "'mlops-s4'" in finding.message


def test_missing_storage_key(tmp_path: Path) -> None:
    finding = one(run("isvc-storage-exists", tmp_path, {"dev": [isvc(storage={"key": "minio"})]}),
                  "isvc-storage-exists")
    assert finding.path == "spec.predictor.model.storage.key"
    assert "'minio'" in finding.message


def test_connection_in_another_namespace(tmp_path: Path) -> None:
    objects = [obj("v1", "Secret", "s3", "team"), isvc(annotations={CONNECTIONS: "team/s3"})]
    finding = one(run("isvc-storage-exists", tmp_path, {"dev": objects}), "isvc-storage-exists")
    assert "team/s3" in finding.message


def test_missing_pvc_of_pvc_storage_uri(tmp_path: Path) -> None:
    model = isvc(storageUri="pvc://models/fraud/1")
    finding = one(run("isvc-storage-exists", tmp_path, {"dev": [model]}), "isvc-storage-exists")
    assert finding.path == "spec.predictor.model.storageUri"
    assert "'models'" in finding.message
    claim = obj("v1", "PersistentVolumeClaim", "models", spec={})
    assert run("isvc-storage-exists", tmp_path, {"dev": [claim, isvc(storageUri="pvc://models/fraud/1")]}) == []


# --- notebook-refs-exist -----------------------------------------------------------------------


def notebook(volumes: list[dict[str, Any]] | None = None, env_from: list[dict[str, Any]] | None = None,
             annotations: dict[str, str] | None = None, extra_containers: list[dict[str, Any]] | None = None,
             ) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "lab", "image": "lab:1"}
    if env_from is not None:
        container["envFrom"] = env_from
    spec = {"containers": [container, *(extra_containers or [])], "volumes": volumes or []}
    return obj("kubeflow.org/v1", "Notebook", "lab", annotations=annotations,
               spec={"template": {"spec": spec}})


def test_notebook_with_existing_objects_passes(tmp_path: Path) -> None:
    volumes = [
        {"name": "home", "persistentVolumeClaim": {"claimName": "lab-home"}},
        {"name": "cfg", "configMap": {"name": "lab-settings"}},
        {"name": "opt", "secret": {"secretName": "maybe", "optional": True}},
        {"name": "ca", "configMap": {"name": "workbench-trusted-ca-bundle"}},  # the platform's
        {"name": "oauth-config", "secret": {"secretName": "lab-oauth-config"}},  # injected by the controller
        {"name": "shm", "emptyDir": {"medium": "Memory"}},
    ]
    proxy = {"name": "oauth-proxy", "image": "proxy", "envFrom": [{"secretRef": {"name": "lab-oauth-client"}}]}
    objects = [
        obj("v1", "PersistentVolumeClaim", "lab-home", spec={}),
        obj("v1", "ConfigMap", "lab-settings", data={}),
        external_secret("s3-es", target="s3"),
        notebook(volumes, [{"secretRef": {"name": "s3"}}], {CONNECTIONS: "ml-dev/s3"}, [proxy]),
    ]
    assert run("notebook-refs-exist", tmp_path, {"dev": objects}) == []


def test_notebook_missing_pvc(tmp_path: Path) -> None:
    nb = notebook([{"name": "home", "persistentVolumeClaim": {"claimName": "lab-homee"}}])
    finding = one(run("notebook-refs-exist", tmp_path, {"test": [nb]}), "notebook-refs-exist")
    assert finding.object == ObjectRef("Notebook", "lab", "ml-dev", "kubeflow.org/v1")
    assert finding.environment == "test"
    assert finding.path == "spec.template.spec.volumes[0].persistentVolumeClaim.claimName"
    assert "PersistentVolumeClaim 'lab-homee'" in finding.message


def test_notebook_missing_secret_and_config_map(tmp_path: Path) -> None:
    nb = notebook([{"name": "creds", "secret": {"secretName": "creds"}}],
                  [{"configMapRef": {"name": "settings"}}])
    findings = run("notebook-refs-exist", tmp_path, {"dev": [nb]})
    assert [(f.path, f.message.split(",")[0]) for f in findings] == [
        ("spec.template.spec.volumes[0].secret.secretName",
         "Notebook lab uses Secret 'creds'"),
        ("spec.template.spec.containers[0].envFrom[0].configMapRef.name",
         "Notebook lab uses ConfigMap 'settings'"),
    ]


def test_notebook_connection_of_another_namespace(tmp_path: Path) -> None:
    objects = [obj("v1", "Secret", "s3", "other"), notebook(annotations={CONNECTIONS: "other/s3"})]
    finding = one(run("notebook-refs-exist", tmp_path, {"dev": objects}), "notebook-refs-exist")
    assert finding.path == f"metadata.annotations.{CONNECTIONS}"
    assert "other/s3" in finding.message


# --- monitor-selector-matches ------------------------------------------------------------------


def monitor(kind: str, selector: dict[str, Any], namespace: str = "ml-dev", **spec: Any) -> dict[str, Any]:
    return obj("monitoring.coreos.com/v1", kind, "scrape", namespace, spec={"selector": selector, **spec})


@pytest.mark.parametrize("scrape", [
    monitor("ServiceMonitor", {"matchLabels": {"serving.kserve.io/inferenceservice": "fraud"}}),
    monitor("PodMonitor", {"matchLabels": {"component": "predictor"},
                           "matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]}),
    monitor("PodMonitor", {"matchLabels": {"app": "web"}}),
    monitor("ServiceMonitor", {"matchLabels": {"app": "web"}}, "monitoring",
            namespaceSelector={"matchNames": ["ml-dev"]}),
    monitor("ServiceMonitor", {"matchLabels": {"app.kubernetes.io/name": "fraud"}}),
])
def test_monitor_that_selects_something_passes(tmp_path: Path, scrape: dict[str, Any]) -> None:
    web = obj("apps/v1", "Deployment", "web", spec={
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "w", "image": "w"}]}}})
    service = obj("v1", "Service", "web", labels={"app": "web"}, spec={"selector": {"app": "web"}})
    assert run("monitor-selector-matches", tmp_path, {"dev": [web, service, isvc(), scrape]}) == []


def test_service_monitor_that_selects_nothing(tmp_path: Path) -> None:
    scrape = monitor("ServiceMonitor", {"matchLabels": {"serving.kserve.io/inferenceservice": "fraud-detection"}},
                     "ml-prod")
    finding = one(run("monitor-selector-matches", tmp_path, {"prod": [isvc(namespace="ml-prod"), scrape]}),
                  "monitor-selector-matches")
    assert finding.object == ObjectRef("ServiceMonitor", "scrape", "ml-prod", "monitoring.coreos.com/v1")
    assert finding.environment == "prod"
    assert finding.path == "spec.selector"
    assert "serving.kserve.io/inferenceservice=fraud-detection" in finding.message


def test_pod_monitor_in_another_namespace(tmp_path: Path) -> None:
    scrape = monitor("PodMonitor", {"matchLabels": {"component": "predictor"}}, "monitoring")
    finding = one(run("monitor-selector-matches", tmp_path, {"dev": [isvc(), scrape]}), "monitor-selector-matches")
    assert "namespace monitoring" in finding.message


# --- Argo CD -----------------------------------------------------------------------------------

ENV_DIRS = {f"overlays/{env}/kustomization.yaml": "resources: []\n" for env in ("dev", "test", "prod")}
TARGETS = (("platform", "platform"), ("argocd", "base/argocd"))


def argo_repo(tmp_path: Path, extra: dict[str, str] | None = None) -> Path:
    return write(tmp_path, {**ENV_DIRS, "platform/kustomization.yaml": "resources: []\n",
                            "base/argocd/kustomization.yaml": "resources: []\n", **(extra or {})})


def project(name: str = "mlops", repos: list[str] | None = None) -> dict[str, Any]:
    return obj(ARGO_API, "AppProject", name, "openshift-gitops", spec={"sourceRepos": repos or [REPO]})


def application(name: str, path: str, project_name: str = "mlops", repo: str = REPO,
                namespace: str = "redhat-ods-operator") -> dict[str, Any]:
    return obj(ARGO_API, "Application", name, "openshift-gitops", spec={
        "project": project_name,
        "source": {"repoURL": repo, "targetRevision": "main", "path": path},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace}})


def appset(generators: list[dict[str, Any]], path: str = "{{.path}}", go: bool = True,
           namespace: str = "ml-{{.env}}", project_name: str = "mlops") -> dict[str, Any]:
    return obj(ARGO_API, "ApplicationSet", "envs", "openshift-gitops", spec={
        "goTemplate": go, "generators": generators,
        "template": {"metadata": {"name": "mlops-{{.env}}" if go else "mlops-{{env}}"}, "spec": {
            "project": project_name,
            "source": {"repoURL": REPO, "targetRevision": "main", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace}}}})


def env_list(*envs: str) -> list[dict[str, Any]]:
    return [{"list": {"elements": [{"env": env, "path": f"overlays/{env}"} for env in envs]}}]


def argo_objects(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [project(), application("platform", "platform"), application("argocd", "base/argocd"),
            appset(env_list("dev", "test", "prod")), *extra]


def argo(rule_id: str, tmp_path: Path, objects: list[dict[str, Any]],
         others: dict[str, list[dict[str, Any]]] | None = None) -> list[Finding]:
    return run(rule_id, tmp_path, {"argocd": objects, **(others or {})}, targets=TARGETS)


ARGO_RULES = ["argocd-source-path", "argocd-generator-path", "argocd-appset-environments", "argocd-project-exists",
              "argocd-default-project", "argocd-single-owner", "argocd-repo-url"]


@pytest.mark.parametrize("rule_id", ARGO_RULES)
def test_consistent_argo_cd_setup_passes(tmp_path: Path, rule_id: str) -> None:
    argo_repo(tmp_path)
    others = {env: [obj("v1", "Namespace", f"ml-{env}", None)] for env in ("dev", "test", "prod")}
    others["platform"] = [obj("v1", "Namespace", "redhat-ods-operator", None)]
    assert argo(rule_id, tmp_path, argo_objects(), others) == []


def test_source_path_that_does_not_exist(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    finding = one(argo("argocd-source-path", tmp_path, argo_objects(application("extra", "platfrom"))),
                  "argocd-source-path")
    assert finding.object == ObjectRef("Application", "extra", "openshift-gitops", ARGO_API)
    assert finding.environment == "argocd"
    assert finding.path == "spec.source.path"
    assert "'platfrom'" in finding.message and "does not exist" in finding.message


def test_source_path_that_is_no_target(tmp_path: Path) -> None:
    argo_repo(tmp_path, {"tenants/a/kustomization.yaml": "resources: []\n"})
    extra = application("tenant", "./tenants/a/")
    extra["spec"]["sources"] = [extra["spec"].pop("source")]
    finding = one(argo("argocd-source-path", tmp_path, argo_objects(extra)), "argocd-source-path")
    assert finding.path == "spec.sources[0].path"
    assert "tenants/a" in finding.message and "mlops.yaml" in finding.message


def test_generated_source_path_that_does_not_exist(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    objects = [project(), appset([{"list": {"elements": [{"env": "dev", "path": "overlays/develop"}]}}])]
    finding = one(argo("argocd-source-path", tmp_path, objects), "argocd-source-path")
    assert finding.object == ObjectRef("ApplicationSet", "envs", "openshift-gitops", ARGO_API)
    # the value came from the generator element: reported there, not at the template line
    assert finding.path == "spec.generators[0].list.elements[0].path"
    assert "mlops-dev" in finding.message and "'overlays/develop'" in finding.message


def test_other_repositories_are_not_looked_into(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    foreign = application("foreign", "charts/x", repo="https://github.com/else/where.git")
    assert argo("argocd-source-path", tmp_path, argo_objects(foreign)) == []


def test_git_directory_generator(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    good = appset([{"git": {"repoURL": REPO, "revision": "main",
                            "directories": [{"path": "overlays/*"}, {"path": "overlays/test", "exclude": True}]}}],
                  path="{{.path.path}}", namespace="ml-{{.path.basename}}")
    findings = argo("argocd-appset-environments", tmp_path, [project(), good])
    finding = one(findings, "argocd-appset-environments")
    assert "environment test (overlays/test)" in finding.message
    assert argo("argocd-generator-path", tmp_path, [project(), good]) == []


def test_git_generator_glob_that_matches_nothing(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    bad = appset([{"git": {"repoURL": REPO, "revision": "main", "directories": [{"path": "overlay/*"}]}}],
                 path="{{path}}", go=False, namespace="ml-{{path.basename}}")
    finding = one(argo("argocd-generator-path", tmp_path, [project(), bad]), "argocd-generator-path")
    assert finding.object == ObjectRef("ApplicationSet", "envs", "openshift-gitops", ARGO_API)
    assert finding.path == "spec.generators[0].git.directories[0].path"
    assert "'overlay/*'" in finding.message


def test_path_match_is_go_path_match() -> None:
    assert path_match("overlays/*", "overlays/dev")
    assert not path_match("overlays/*", "overlays/dev/patches")
    assert not path_match("*", "overlays/dev")
    assert path_match("overlays/[dt]*", "overlays/test")
    assert render_template("{{ .path.basename }}-{{index .path.segments 0}}",
                           {"path": {"basename": "dev", "segments": ["overlays", "dev"]}}, True) == "dev-overlays"
    assert render_template("{{missing}}", {}, False) is None


def test_appset_missing_an_environment(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    finding = one(argo("argocd-appset-environments", tmp_path, [project(), appset(env_list("dev", "test"))]),
                  "argocd-appset-environments")
    assert finding.object == ObjectRef("ApplicationSet", "envs", "openshift-gitops", ARGO_API)
    assert finding.environment == "argocd"
    assert finding.path == "spec.generators"
    assert "environment prod (overlays/prod)" in finding.message


def test_appset_namespace_and_extra_folder(tmp_path: Path) -> None:
    argo_repo(tmp_path, {"overlays/staging/kustomization.yaml": "resources: []\n"})
    objects = [project(), appset(env_list("dev", "test", "prod", "staging"), namespace="mlops-{{.env}}")]
    findings = argo("argocd-appset-environments", tmp_path, objects)
    messages = sorted(f.message for f in findings)
    assert len(messages) == 4, messages
    assert "namespace 'mlops-dev', but mlops.yaml says 'ml-dev'" in messages[0]
    assert "overlays/staging, which is no environment" in messages[3]


def test_project_that_does_not_exist(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    objects = argo_objects(application("extra", "platform", project_name="mlops-platfrm"))
    finding = one(argo("argocd-project-exists", tmp_path, objects), "argocd-project-exists")
    assert finding.object == ObjectRef("Application", "extra", "openshift-gitops", ARGO_API)
    assert finding.path == "spec.project"
    assert "'mlops-platfrm'" in finding.message and "mlops" in finding.message
    templated = [project(), appset(env_list("dev", "test", "prod"), project_name="team-{{.env}}")]
    findings = argo("argocd-project-exists", tmp_path, templated)
    assert [f.path for f in findings] == ["spec.template.spec.project"] * 3
    assert "'team-prod'" in findings[2].message


def test_default_project_is_a_warning(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    objects = argo_objects(application("extra", "platform", project_name="default"))
    finding = one(argo("argocd-default-project", tmp_path, objects), "argocd-default-project", Severity.WARNING)
    assert finding.path == "spec.project" and "'default'" in finding.message
    assert argo("argocd-project-exists", tmp_path, objects) == []
    assert argo("argocd-default-project", tmp_path, [*objects, project("default")]) == []


def test_object_owned_by_two_applications(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    namespace = obj("v1", "Namespace", "redhat-ods-operator", None)
    others = {"dev": [dict(namespace)], "platform": [namespace]}
    finding = one(argo("argocd-single-owner", tmp_path, argo_objects(), others), "argocd-single-owner")
    assert finding.object == ObjectRef("Namespace", "redhat-ods-operator", None, "v1")
    assert finding.environment == "dev"  # the environment is blamed, not the platform
    assert finding.path == "metadata.name"
    assert "mlops-dev" in finding.message and "platform" in finding.message


def test_same_name_in_other_namespaces_is_not_shared(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    others = {env: [obj("v1", "ConfigMap", "settings", None, data={})] for env in ("dev", "test", "prod")}
    assert argo("argocd-single-owner", tmp_path, argo_objects(), others) == []


def test_two_applications_syncing_one_path(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    objects = argo_objects(application("platform-again", "platform"))
    others = {"platform": [obj("v1", "Namespace", "redhat-ods-operator", None)]}
    finding = one(argo("argocd-single-owner", tmp_path, objects, others), "argocd-single-owner")
    assert finding.object == ObjectRef("Application", "platform-again", "openshift-gitops", ARGO_API)
    assert finding.path == "spec.source.path"
    assert "Application platform-again and Application platform both sync platform" in finding.message


def test_repository_without_argo_cd_compares_targets(tmp_path: Path) -> None:
    role = obj("rbac.authorization.k8s.io/v1", "ClusterRole", "reader", None, rules=[])
    findings = run("argocd-single-owner", tmp_path, {"dev": [role], "test": [dict(role)]})
    assert [(f.environment, f.object.name if f.object else None) for f in findings] == [("test", "reader")]


def test_repository_url_that_differs(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    objects = argo_objects(application("extra", "platform", repo="https://github.com/example-org/mlops"),
                           project("other", ["https://github.com/Example-Org/*"]),
                           application("fork", "platform", repo="https://github.com/me/mlops.git"))
    finding = one(argo("argocd-repo-url", tmp_path, objects), "argocd-repo-url")
    assert finding.object == ObjectRef("Application", "fork", "openshift-gitops", ARGO_API)
    assert finding.path == "spec.source.repoURL"
    assert "'https://github.com/me/mlops.git'" in finding.message and f"'{REPO}'" in finding.message


def test_project_source_repos_that_differ(tmp_path: Path) -> None:
    argo_repo(tmp_path)
    objects = argo_objects(project("old", ["https://gitlab.com/old/gitops.git", "https://gitlab.com/old/*"]))
    findings = argo("argocd-repo-url", tmp_path, objects)
    assert [f.path for f in findings] == ["spec.sourceRepos[0]", "spec.sourceRepos[1]"]
    assert findings[0].object == ObjectRef("AppProject", "old", "openshift-gitops", ARGO_API)


def test_a_project_may_permit_other_repositories_besides_this_one(tmp_path: Path) -> None:
    """Remote bases and charts from a catalog repository are a normal reason for a second entry."""
    argo_repo(tmp_path)
    objects = argo_objects(project("platform", [REPO, "https://github.com/redhat-cop/gitops-catalog.git"]))
    assert argo("argocd-repo-url", tmp_path, objects) == []


# --- hardware-profile-exists -------------------------------------------------------------------

PROFILE = "opendatahub.io/hardware-profile-name"
PROFILE_NS = "opendatahub.io/hardware-profile-namespace"


def profile(name: str = "gpu", namespace: str = "redhat-ods-applications",
            api: str = "infrastructure.opendatahub.io/v1") -> dict[str, Any]:
    return obj(api, "HardwareProfile", name, namespace, spec={"identifiers": []})


def test_hardware_profile_that_exists_passes(tmp_path: Path) -> None:
    objects = {"prod": [isvc(annotations={PROFILE: "gpu", PROFILE_NS: "redhat-ods-applications"}),
                        isvc("cpu", annotations={PROFILE: ""}),
                        notebook(annotations={PROFILE: "gpu"})],
               "platform": [profile()]}
    assert run("hardware-profile-exists", tmp_path, objects, targets=(("platform", "platform"),)) == []


def test_hardware_profile_default_namespace_follows_dsci(tmp_path: Path) -> None:
    dsci = obj("dscinitialization.opendatahub.io/v2", "DSCInitialization", "default-dsci", None,
               spec={"applicationsNamespace": "opendatahub"})
    objects = {"dev": [isvc(annotations={PROFILE: "gpu"})], "platform": [dsci, profile(namespace="opendatahub")]}
    assert run("hardware-profile-exists", tmp_path, objects, targets=(("platform", "platform"),)) == []


def test_missing_hardware_profile(tmp_path: Path) -> None:
    objects = {"prod": [isvc(namespace="ml-prod", annotations={PROFILE: "nvidia-gpu"})],
               "platform": [profile()]}
    finding = one(run("hardware-profile-exists", tmp_path, objects, targets=(("platform", "platform"),)),
                  "hardware-profile-exists")
    assert finding.object == ObjectRef("InferenceService", "fraud", "ml-prod", ISVC_API)
    assert finding.environment == "prod"
    assert finding.path == f"metadata.annotations.{PROFILE}"
    assert "redhat-ods-applications/nvidia-gpu" in finding.message and "redhat-ods-applications/gpu" in finding.message


def test_hardware_profile_in_another_namespace_or_group(tmp_path: Path) -> None:
    objects = {"dev": [isvc(annotations={PROFILE: "gpu"}), isvc("old", annotations={PROFILE: "legacy"})],
               "platform": [profile(namespace="ml-dev"), profile("legacy", api="dashboard.opendatahub.io/v1alpha1")]}
    findings = run("hardware-profile-exists", tmp_path, objects, targets=(("platform", "platform"),))
    assert len(findings) == 2
    assert f"one exists in namespace ml-dev: set {PROFILE_NS}" in findings[0].message
    assert "dashboard.opendatahub.io/v1alpha1" in findings[1].message


# --- waivers ---------------------------------------------------------------------------------------


def test_waiver_marks_the_finding_waived(tmp_path: Path) -> None:
    reason = "runtime comes from a Helm chart"
    waived = isvc(runtime="custom", annotations={"waive.mlops.dev/isvc-runtime-exists": reason})
    finding = one(run("isvc-runtime-exists", tmp_path, {"prod": [waived]}), "isvc-runtime-exists")
    assert finding.waived == reason


# --- end to end: kustomize renders, findings point at the source files ------------------------------


@pytest.fixture
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)  # the built-in catalog answers
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.usefixtures("_offline")
def test_validate_reports_argo_cd_references_at_their_source_lines(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo, {
        "mlops.yaml": ("environments:\n  - name: dev\n    namespace: ml-dev\n"
                       "    destination: {server: https://kubernetes.default.svc}\n"
                       "  - name: prod\n    namespace: ml-prod\n"
                       "    destination: {server: https://kubernetes.default.svc}\n"
                       "targets:\n  - name: argocd\n    path: base/argocd\n"),
        "overlays/dev/kustomization.yaml": "namespace: ml-dev\nresources: [configmap.yaml]\n",
        "overlays/dev/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {}\n",
        "overlays/prod/kustomization.yaml": "namespace: ml-prod\nresources: [configmap.yaml]\n",
        "overlays/prod/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {}\n",
        "base/argocd/kustomization.yaml": "namespace: openshift-gitops\nresources: [project.yaml, apps.yaml]\n",
        "base/argocd/project.yaml": f"""\
            apiVersion: {ARGO_API}
            kind: AppProject
            metadata:
              name: mlops
            spec:
              sourceRepos: [{REPO}]
              destinations: [{{server: https://kubernetes.default.svc, namespace: '*'}}]
            """,
        "base/argocd/apps.yaml": f"""\
            apiVersion: {ARGO_API}
            kind: ApplicationSet
            metadata:
              name: envs
            spec:
              goTemplate: true
              generators:
                - git:
                    repoURL: {REPO}
                    revision: main
                    directories:
                      - path: overlays/*
              template:
                metadata:
                  name: 'mlops-{{{{.path.basename}}}}'
                spec:
                  project: mlops
                  source:
                    repoURL: {REPO}
                    targetRevision: main
                    path: '{{{{.path.path}}}}'
                  destination:
                    server: https://kubernetes.default.svc
                    namespace: 'ml-{{{{.path.basename}}}}'
            ---
            apiVersion: {ARGO_API}
            kind: Application
            metadata:
              name: argocd
            spec:
              project: mlops-admin
              source:
                repoURL: {REPO}
                targetRevision: main
                path: base/argo
              destination:
                server: https://kubernetes.default.svc
                namespace: openshift-gitops
            """,
    })
    from mlops.cli import main

    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--output", "json"])
    assert result.exit_code == 1, result.output
    found = {(f["rule"], f["file"], f["line"], f["path"]) for f in json.loads(result.stdout)["findings"]
             if f["rule"].startswith("argocd-")}
    assert found == {
        ("argocd-source-path", "base/argocd/apps.yaml", 35, "spec.source.path"),
        ("argocd-project-exists", "base/argocd/apps.yaml", 31, "spec.project"),
    }
