"""The Argo CD fact layer expands ApplicationSets the way the ApplicationSet controller does.

Each case is written from the controller's behaviour (argo-cd `applicationset/generators/*.go`):
list, git directories, git files (one object or a list per file, flattened for fasttemplate),
matrix, merge, and where each generated Application's parameters were written.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops.manifests import Manifest
from mlops.policies.facts.argocd import ArgoCDFacts
from mlops.policies.facts.argocd_params import pathspec_match, sanitize_name
from repo_builder import write

REPO = "https://github.com/example-org/gitops.git"


def appset(generators: list[dict[str, Any]], path: str, go: bool = False, name: str = "app-{{env}}") -> Manifest:
    data = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": "set", "namespace": "openshift-gitops"},
            "spec": {"goTemplate": go, "generators": generators, "template": {
                "metadata": {"name": name},
                "spec": {"project": "default", "source": {"repoURL": REPO, "path": path},
                         "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"}}}}}
    return Manifest(data, "argocd")


def expand(root: Path, *sets: Manifest) -> ArgoCDFacts:
    return ArgoCDFacts(root, [], list(sets))


def paths(facts: ArgoCDFacts) -> list[str]:
    return sorted(source["path"] for app in facts.applications for _, source in app.sources())


def test_list_elements_and_where_a_value_was_written(tmp_path: Path) -> None:
    facts = expand(tmp_path, appset([{"list": {"elements": [{"env": "dev", "dir": "overlays/dev"},
                                                             {"env": "prod", "dir": "overlays/prod"}]}}],
                                    "{{dir}}"))
    assert [app.name for app in facts.applications] == ["app-dev", "app-prod"]
    assert paths(facts) == ["overlays/dev", "overlays/prod"]
    second = facts.applications[1]
    assert second.where("spec.template.spec.source", "path") == "spec.generators[0].list.elements[1].dir"
    assert second.where("spec.template.spec.source", "repoURL") == "spec.template.spec.source.repoURL"
    assert facts.incompletely_known == []


def test_git_directories_use_go_path_match_and_excludes(tmp_path: Path) -> None:
    write(tmp_path, {"apps/a/k.yaml": "", "apps/b/k.yaml": "", "apps/b/nested/k.yaml": "", "apps/skip/k.yaml": ""})
    generator = {"git": {"repoURL": REPO, "directories": [{"path": "apps/*"}, {"path": "apps/skip", "exclude": True}]}}
    facts = expand(tmp_path, appset([generator], "{{path}}", name="{{path.basename}}"))
    assert paths(facts) == ["apps/a", "apps/b"]  # `*` stays in one segment: apps/b/nested is not listed
    assert [app.name for app in facts.applications] == ["a", "b"]


def test_git_files_flatten_for_fasttemplate_and_list_one_set_per_object(tmp_path: Path) -> None:
    write(tmp_path, {
        "clusters/east/config.json": '{"cluster": {"name": "east", "env": "prod"}}',
        "clusters/west/config.yaml": "- cluster: {name: west-a, env: dev}\n- cluster: {name: west-b, env: dev}\n",
    })
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    generator = {"git": {"repoURL": REPO, "files": [{"path": "clusters/**/config.*"}]}}
    facts = expand(tmp_path, appset([generator], "overlays/{{cluster.env}}", name="{{cluster.name}}-{{path.basename}}"))
    assert sorted(app.name for app in facts.applications) == ["east-east", "west-a-west", "west-b-west"]
    assert paths(facts) == ["overlays/dev", "overlays/dev", "overlays/prod"]
    assert all(app.origin == "spec.generators[0].git.files[0]" for app in facts.applications)


def test_git_files_with_go_templates_keep_the_structure(tmp_path: Path) -> None:
    write(tmp_path, {"envs/dev.yaml": "namespace: ml-dev\noverlay: overlays/dev\n"})
    generator = {"git": {"repoURL": REPO, "files": [{"path": "envs/*.yaml"}]}}
    facts = expand(tmp_path, appset([generator], "{{ .overlay }}", go=True,
                                    name="{{ .path.filenameNormalized }}-{{ index .path.segments 0 }}"))
    [app] = facts.applications
    assert app.name == "dev.yaml-envs" and paths(facts) == ["overlays/dev"]


def test_matrix_and_merge(tmp_path: Path) -> None:
    matrix = {"matrix": {"generators": [{"list": {"elements": [{"env": "dev"}, {"env": "prod"}]}},
                                        {"list": {"elements": [{"region": "eu"}, {"region": "us"}]}}]}}
    facts = expand(tmp_path, appset([matrix], "overlays/{{env}}-{{region}}", name="{{env}}-{{region}}"))
    assert paths(facts) == ["overlays/dev-eu", "overlays/dev-us", "overlays/prod-eu", "overlays/prod-us"]
    merge = {"merge": {"mergeKeys": ["env"], "generators": [
        {"list": {"elements": [{"env": "dev", "dir": "overlays/dev"}, {"env": "prod", "dir": "overlays/prod"}]}},
        {"list": {"elements": [{"env": "prod", "dir": "overlays/prod-eu"}]}}]}}
    merged = expand(tmp_path, appset([merge], "{{dir}}"))
    assert paths(merged) == ["overlays/dev", "overlays/prod-eu"]


@pytest.mark.parametrize("generator", [
    {"clusters": {}}, {"scmProvider": {}}, {"pullRequest": {}}, {"plugin": {}},
    {"list": {"elementsYaml": "{{ .x }}"}}, {"matrix": {"generators": [{"clusters": {}}, {"list": {"elements": []}}]}},
])
def test_generators_that_need_a_cluster_make_the_set_incompletely_known(tmp_path: Path,
                                                                      generator: dict[str, Any]) -> None:
    facts = expand(tmp_path, appset([generator], "overlays/{{env}}"))
    assert [m.name for m in facts.incompletely_known] == ["set"]


def test_sanitize_name_is_argo_cds() -> None:
    assert sanitize_name("My_App.v2") == "my-app.v2"
    assert sanitize_name("-Leading.and.trailing-.") == "leading.and.trailing"


def test_git_pathspec_stars_cross_slashes() -> None:
    assert pathspec_match("clusters/*.json", "clusters/east/config.json")
    assert pathspec_match("clusters/**/config.json", "clusters/east/config.json")
    assert not pathspec_match("clusters/*.yaml", "clusters/east/config.json")
