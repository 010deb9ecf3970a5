"""Hardening, secrets, remote inputs and API drift: one failing and one passing case per rule."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from mlops.findings import Severity
from mlops.kustomization import walk
from mlops.policies import apiversions, hardening, remote, secrets
from mlops.policies.base import PolicyContext, Rule
from policy_helpers import check, make_config, make_context
from repo_builder import write

DIGEST = "@sha256:" + "a" * 64
RULES = {rule.id: rule for rule in (*hardening.RULES, *secrets.RULES, *remote.RULES, *apiversions.RULES)}


def good_isvc(**spec_changes: Any) -> dict[str, Any]:
    isvc: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "fraud", "namespace": "ml-prod",
                     "annotations": {"security.opendatahub.io/enable-auth": "true"}},
        "spec": {"predictor": {"minReplicas": 2, "model": {
            "modelFormat": {"name": "onnx"}, "runtime": "ovms", "storageUri": "s3://b/fraud/1.0.0/",
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}}}},
    }
    isvc["spec"]["predictor"].update(spec_changes)
    return isvc


def deployment(container: dict[str, Any] | None = None, **pod: Any) -> dict[str, Any]:
    base = {"name": "web", "image": "registry.example/web" + DIGEST,
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ml-prod"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{**base, **(container or {})}], **pod}}}}


def run(rule_id: str, objects: list[dict[str, Any]], tmp_path: Path, env: str = "prod") -> list[Any]:
    context = make_context(tmp_path, {env: [copy.deepcopy(o) for o in objects]})
    return check(RULES[rule_id], context)


def one(findings: list[Any]) -> Any:
    assert len(findings) == 1, findings
    return findings[0]


CASES = [
    # rule, failing objects, JSON path, words, passing objects
    ("isvc-auth", [{**good_isvc(), "metadata": {"name": "fraud", "namespace": "ml-prod"}}],
     "metadata.annotations.security.opendatahub.io/enable-auth", "without a token", [good_isvc()]),
    ("isvc-min-replicas", [good_isvc(minReplicas=1)], "spec.predictor.minReplicas", "minReplicas 1", [good_isvc()]),
    ("container-resources", [deployment({"resources": {"requests": {"cpu": "1"}}})],
     "spec.template.spec.containers[0].resources", "requests.memory, limits.cpu, limits.memory", [deployment()]),
    ("image-digest", [deployment({"image": "quay.io/x/web:latest"})], "spec.template.spec.containers[0].image",
     ":latest", [deployment()]),
    ("pod-privileges", [deployment(hostNetwork=True)], "spec.template.spec.hostNetwork", "hostNetwork",
     [deployment()]),
    ("route-tls", [{"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "r"},
                    "spec": {"to": {"kind": "Service", "name": "s"}}}], "spec.tls", "plain HTTP",
     [{"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "r"},
       "spec": {"to": {"kind": "Service", "name": "s"}, "tls": {"termination": "edge",
                                                             "insecureEdgeTerminationPolicy": "Redirect"}}}]),
    ("gpu-scheduling", [deployment({"resources": {"requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": 1},
                                                  "limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": 1}}})],
     "spec.template.spec.containers[0].resources", "nvidia.com/gpu",
     [deployment({"resources": {"limits": {"nvidia.com/gpu": 1}}},
                 tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])]),
    ("secret-in-git", [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                        "stringData": {"AWS_SECRET_ACCESS_KEY": "x"}}], "stringData", "AWS_SECRET_ACCESS_KEY",
     [{"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "s"}, "spec": {}}]),
    ("k8s-api-removed", [{"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "c"}}],
     "apiVersion", "removed in Kubernetes 1.25",
     [{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}}]),
    ("rhoai-api-deprecated", [{"apiVersion": "datasciencecluster.opendatahub.io/v1", "kind": "DataScienceCluster",
                               "metadata": {"name": "default-dsc"}}], "apiVersion", "deprecated",
     [{"apiVersion": "datasciencecluster.opendatahub.io/v2", "kind": "DataScienceCluster",
       "metadata": {"name": "default-dsc"}}]),
    ("rhoai-2x-leftover", [{"apiVersion": "datasciencecluster.opendatahub.io/v2", "kind": "DataScienceCluster",
                            "metadata": {"name": "default-dsc"},
                            "spec": {"components": {"datasciencepipelines": {"managementState": "Managed"}}}}],
     "spec.components.datasciencepipelines", "gone in OpenShift AI 3.x",
     [{"apiVersion": "datasciencecluster.opendatahub.io/v2", "kind": "DataScienceCluster",
       "metadata": {"name": "default-dsc"}, "spec": {"components": {"aipipelines": {"managementState": "Managed"}}}}]),
]


@pytest.mark.parametrize(("rule_id", "failing", "path", "words", "passing"), CASES, ids=[c[0] for c in CASES])
def test_rule_fails_and_passes(rule_id: str, failing: list[dict[str, Any]], path: str, words: str,
                               passing: list[dict[str, Any]], tmp_path: Path) -> None:
    finding = one(run(rule_id, failing, tmp_path))
    assert finding.rule == rule_id and finding.environment == "prod" and finding.path == path
    assert words in finding.message
    assert finding.object is not None and finding.object.name == failing[0]["metadata"]["name"]
    assert finding.fix
    assert run(rule_id, passing, tmp_path) == []


def test_hardening_is_a_warning_before_production(tmp_path: Path) -> None:
    finding = one(run("isvc-min-replicas", [good_isvc(minReplicas=1)], tmp_path, env="dev"))
    assert finding.severity is Severity.WARNING
    assert one(run("isvc-min-replicas", [good_isvc(minReplicas=1)], tmp_path)).severity is Severity.ERROR


def test_waiver_marks_the_finding_waived(tmp_path: Path) -> None:
    waived = deployment({"image": "quay.io/x/web:1.0"})
    waived["metadata"]["annotations"] = {"waive.mlops.dev/image-digest": "vendor ships tags only"}
    assert one(run("image-digest", [waived], tmp_path)).waived == "vendor ships tags only"


def test_stopped_models_need_no_second_replica(tmp_path: Path) -> None:
    stopped = good_isvc(minReplicas=1)
    stopped["metadata"]["annotations"]["serving.kserve.io/stop"] = "true"
    assert run("isvc-min-replicas", [stopped], tmp_path) == []


def test_runtime_sized_by_its_models_needs_no_resources(tmp_path: Path) -> None:
    runtime = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
               "metadata": {"name": "ovms", "namespace": "ml-prod"},
               "spec": {"containers": [{"name": "kserve-container", "image": "r" + DIGEST}]}}
    assert run("container-resources", [runtime, good_isvc()], tmp_path) == []
    unsized = good_isvc()
    del unsized["spec"]["predictor"]["model"]["resources"]
    found = run("container-resources", [runtime, unsized], tmp_path)
    assert {f.object.kind for f in found} == {"ServingRuntime", "InferenceService"}


def test_oci_model_must_be_pinned(tmp_path: Path) -> None:
    by_tag = good_isvc()
    by_tag["spec"]["predictor"]["model"]["storageUri"] = "oci://quay.io/models/granite:1.0"
    assert one(run("image-digest", [by_tag], tmp_path)).path == "spec.predictor.model.storageUri"


def test_gpu_through_a_hardware_profile(tmp_path: Path) -> None:
    gpu = deployment({"resources": {"limits": {"nvidia.com/gpu": 1}}})
    gpu["metadata"]["annotations"] = {"opendatahub.io/hardware-profile-name": "nvidia-gpu"}
    profile = {"apiVersion": "infrastructure.opendatahub.io/v1", "kind": "HardwareProfile",
               "metadata": {"name": "nvidia-gpu", "namespace": "redhat-ods-applications"},
               "spec": {"scheduling": {"type": "Node", "node": {"tolerations": [{"key": "nvidia.com/gpu"}]}}}}
    context = make_context(tmp_path, {"prod": [gpu], "platform": [profile]}, targets=(("platform", "platform"),))
    assert check(RULES["gpu-scheduling"], context) == []


def test_removed_api_depends_on_the_kubernetes_version(tmp_path: Path) -> None:
    hpa = {"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}}
    assert run("k8s-api-removed", [hpa], tmp_path)  # the helpers configure 1.33
    context = make_context(tmp_path, {"prod": [hpa]})
    context.config = dataclasses.replace(make_config(tmp_path), kubernetes_version="1.25")
    assert check(RULES["k8s-api-removed"], context) == []


# --- credentials in files ---


@pytest.mark.parametrize(("line", "what"), [
    ("aws_access_key_id: AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
    ("aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS secret access key"),
    ("token: ghp_" + "a1B2" * 9, "GitHub token"),
    ("key: |\n  -----BEGIN RSA PRIVATE KEY-----", "private key"),
    ("password: Sup3r-Secret-Value!", "password or token value"),
])
def test_credentials_in_files_are_found(tmp_path: Path, line: str, what: str) -> None:
    write(tmp_path, {"config/leak.yaml": f"kind: Config\n{line}\n", "ok.yaml": "password: ${VAULT_PASSWORD}\n"})
    finding = one(check(RULES["credential-in-file"], make_context(tmp_path, {"prod": []})))
    assert finding.file == "config/leak.yaml" and finding.line == 2 + line.count("\n")
    assert what in finding.message
    assert finding.environment is None
    assert "EXAMPLE" not in finding.message and "Secret-Value" not in finding.message  # masked


def test_references_and_skipped_folders_are_not_credentials(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": "password: changeme\nsecretKey: AWS_SECRET_ACCESS_KEY\ntoken: {{ .token }}\n",
                     ".venv/lib/x.yaml": "aws_access_key_id: AKIAIOSFODNN7EXAMPLE\n"})
    assert check(RULES["credential-in-file"], make_context(tmp_path, {"prod": []})) == []


# --- remote inputs need kustomization files: walk real trees ---


def remote_context(tmp_path: Path, resource: str) -> PolicyContext:
    write(tmp_path, {"overlays/prod/kustomization.yaml": f"resources:\n  - {resource}\n"})
    context = make_context(tmp_path, {"prod": []})
    context.trees = {"prod": walk(tmp_path / "overlays/prod", tmp_path)}
    return context


@pytest.mark.parametrize("resource", [
    "https://github.com/org/repo//deploy?ref=main",
    "github.com/org/repo//deploy",
    "https://raw.githubusercontent.com/org/repo/main/dashboards/x.yaml",
])
def test_remote_on_a_moving_ref(tmp_path: Path, resource: str) -> None:
    finding = one(check(RULES["remote-unpinned"], remote_context(tmp_path, resource)))
    assert finding.file == "overlays/prod/kustomization.yaml" and finding.line == 2
    assert resource in finding.message


@pytest.mark.parametrize("resource", [
    "https://github.com/org/repo//deploy?ref=v1.4.2",
    "https://github.com/org/repo//deploy?ref=" + "0123456789abcdef" * 2 + "01234567",
    "https://raw.githubusercontent.com/org/repo/" + "a" * 40 + "/dashboards/x.yaml",
])
def test_remote_pinned(tmp_path: Path, resource: str) -> None:
    assert check(RULES["remote-unpinned"], remote_context(tmp_path, resource)) == []


def test_every_rule_here_has_a_case() -> None:
    covered = {case[0] for case in CASES} | {"credential-in-file", "remote-unpinned"}
    assert covered == set(RULES)
    assert all(isinstance(rule, Rule) for rule in RULES.values())
