"""Argo CD rules: every Application syncs a path of this repository that exists, once, in a known project.

The facts come from `facts/argocd.py` (Applications, expanded ApplicationSets, the repository's own
URL); these rules judge them against mlops.yaml's targets: a source path that does not exist or is
never rendered, a git generator glob that matches nothing, an ApplicationSet that leaves out an
environment, an AppProject that does not exist, two Applications owning one object, a repository
URL that differs from the rest.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from ..config import Target
from ..findings import Severity
from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .facts.argocd import App
from .facts.argocd_params import clean_path, cluster_of, is_glob, normalize_repo, path_match, pathspec_match
from .objects import CLUSTER_SCOPED_KINDS, dig, where

_REPOSITORY_NOTE = (
    " The check looks at every target of mlops.yaml together, and names only this repository's paths "
    "(sources of other repositories are left alone, and reported by `argocd-repo-url`)."
)


def _target_paths(context: PolicyContext) -> dict[str, Target]:
    return {clean_path(t.path): t for t in context.config.all_targets}


def _check_source_path(context: PolicyContext) -> Iterator[Violation]:
    apps = context.argocd.applications
    targets = _target_paths(context)
    known = ", ".join(sorted(targets)) or "none"
    for app in apps:
        for at, source in app.sources():
            path = source.get("path")
            if not isinstance(path, str) or source.get("chart") or "{{" in path:
                continue
            if not context.argocd.is_own_repo(source.get("repoURL")):
                continue
            cleaned = clean_path(path)
            folder = context.root / cleaned
            if not folder.is_dir():
                yield Violation(f"{app.label} syncs path {path!r}, which does not exist in the repository",
                                app.manifest, app.where(at, "path"))
            elif cleaned not in targets:
                yield Violation(f"{app.label} syncs path {path!r}, which is no environment or target of mlops.yaml "
                                f"({known}), so `mlops validate` never renders what Argo CD applies",
                                app.manifest, f"{at}.path",
                                fix=f"add {{name: ..., path: {cleaned}}} under targets in mlops.yaml, or point the "
                                    "Application at one of its targets")


def _generator_globs(generators: Any, base: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(JSON path, entry, kind) of every git directory/file entry, nested generators included."""
    for index, generator in enumerate(generators if isinstance(generators, list) else []):
        if not isinstance(generator, dict):
            continue
        git = generator.get("git")
        if isinstance(git, dict):
            for field_name in ("directories", "files"):
                for item_index, entry in enumerate(git.get(field_name) or []):
                    if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                        yield f"{base}[{index}].git.{field_name}[{item_index}].path", {**entry, "repoURL":
                                                                                         git.get("repoURL")}, field_name
        for nested in ("matrix", "merge"):
            if isinstance(generator.get(nested), dict):
                yield from _generator_globs(generator[nested].get("generators"), f"{base}[{index}].{nested}.generators")


def _check_generator_path(context: PolicyContext) -> Iterator[Violation]:
    for appset in context.argocd.application_sets:
        for at, entry, field_name in _generator_globs(dig(appset.data, "spec", "generators"), "spec.generators"):
            if entry.get("exclude") or not context.argocd.is_own_repo(entry.get("repoURL")) or "{{" in entry["path"]:
                continue
            pattern = entry["path"]
            if field_name == "directories":
                matched = any(path_match(pattern, folder) for folder in context.argocd.repo_dirs)
            else:  # git ls-files globbing, Argo CD's default for git file generators: `*` crosses `/`
                matched = any(pathspec_match(pattern, name) for name in context.argocd.repo_files)
            if matched:
                continue
            what = "folder" if field_name == "directories" else "file"
            yield Violation(f"ApplicationSet {appset.name}: git generator path {pattern!r} matches no {what} of the "
                            "repository, so it generates no Application", appset, at,
                            fix=f"fix the glob to match the {what}s to deploy ("
                                + ("`*` matches one path segment, as Go's path.Match)" if what == "folder" else
                                   "git ls-files globbing: `*` also matches `/`)"))


def _same_cluster(first: dict[str, str], second: dict[str, str]) -> bool:
    return cluster_of(first) == cluster_of(second)


def _check_appset_environments(context: PolicyContext) -> Iterator[Violation]:
    apps, unknown = context.argocd.applications, context.argocd.incompletely_known
    environments = {clean_path(env.path): env for env in context.config.environments}
    parents = {str(PurePosixPath(p).parent) for p in environments}
    for appset in context.argocd.application_sets:
        if appset in unknown:
            continue  # generators we cannot expand (clusters, SCM, pull requests): nothing to compare
        generated: dict[str, App] = {}
        for app in apps:
            if app.manifest is not appset:
                continue
            for _, source in app.sources():
                path = source.get("path")
                if isinstance(path, str) and "{{" not in path and context.argocd.is_own_repo(source.get("repoURL")):
                    generated.setdefault(clean_path(path), app)
        if not any(p in environments or str(PurePosixPath(p).parent) in parents for p in generated):
            continue  # an ApplicationSet for something else than the environments
        for path, env in environments.items():
            found = generated.get(path)
            if found is None:
                yield Violation(f"ApplicationSet {appset.name} generates no Application for environment {env.name} "
                                f"({path}), so Argo CD never deploys it", appset, "spec.generators",
                                fix=f"add an element for {env.name} (path {path}) to the generator")
                continue
            app = found
            destination = app.destination
            namespace = destination.get("namespace")
            if env.namespace and namespace and "{{" not in namespace and namespace != env.namespace:
                yield Violation(f"{app.label} deploys environment {env.name} into namespace {namespace!r}, but "
                                f"mlops.yaml says {env.namespace!r}", appset, "spec.template.spec.destination",
                                fix="use the same namespace in the generator and in mlops.yaml")
            if env.destination and destination and not any("{{" in v for v in destination.values()) \
                    and not _same_cluster(env.destination, destination):
                yield Violation(f"{app.label} deploys environment {env.name} to cluster {cluster_of(destination)}, but "
                                f"mlops.yaml's destination is {cluster_of(env.destination)}", appset,
                                "spec.template.spec.destination",
                                fix="use the same destination in the generator and in mlops.yaml")
        for path, app in generated.items():
            if path not in environments and (context.root / path).is_dir():
                yield Violation(f"ApplicationSet {appset.name} generates {app.label.split(' (')[0]} for {path}, which "
                                "is no environment of mlops.yaml", appset, "spec.generators",
                                fix=f"remove {path} from the generator, or add it as an environment to mlops.yaml")


def _project_refs(context: PolicyContext) -> Iterator[tuple[App, str]]:
    apps = context.argocd.applications
    seen: set[tuple[int, str]] = set()
    for app in apps:
        project = app.spec.get("project")
        if not isinstance(project, str) or "{{" in project:
            continue
        key = (id(app.manifest), project)
        if key in seen:
            continue
        seen.add(key)
        yield app, project


def _check_project(context: PolicyContext) -> Iterator[Violation]:
    projects = {m.name for m in context.argocd.projects}
    for app, project in _project_refs(context):
        if project == "default" or project in projects:
            continue
        known = ", ".join(sorted(projects)) or "none"
        yield Violation(f"{app.label} names AppProject {project!r}, which no target renders (AppProjects: {known}); "
                        "Argo CD refuses to sync it", app.manifest, f"{app.prefix}.project")


def _check_default_project(context: PolicyContext) -> Iterator[Violation]:
    projects = {m.name for m in context.argocd.projects}
    if "default" in projects:
        return  # the repository restricts the default project itself
    for app, project in _project_refs(context):
        if project == "default":
            yield Violation(f"{app.label} uses the AppProject 'default', which allows any repository, destination "
                            "and kind", app.manifest, f"{app.prefix}.project")


def owners(context: PolicyContext) -> dict[str, list[tuple[App, str]]]:
    """Target name -> the Applications that sync it (from this repository), with their source's path."""
    apps = context.argocd.applications
    targets = _target_paths(context)
    by_target: dict[str, list[tuple[App, str]]] = {}
    for app in apps:
        for at, source in app.sources():
            path = source.get("path")
            own = context.argocd.is_own_repo(source.get("repoURL"))
            if not isinstance(path, str) or source.get("chart") or not own:
                continue
            target = targets.get(clean_path(path))
            if target is not None and target.name in context.manifests:
                by_target.setdefault(target.name, []).append((app, at))
    return by_target


def _check_single_owner(context: PolicyContext) -> Iterator[Violation]:
    apps = context.argocd.applications
    # Without Argo CD objects in the repository, each target stands for the Application that syncs it.
    owners_by_target = owners(context) if apps else {}
    names: dict[str, list[str]] = {}
    for target in context.targets(Scope.REPOSITORY):
        found = owners_by_target.get(target.name, [])
        if apps and not found:
            continue  # nothing in the repository syncs it
        names[target.name] = sorted({app.name for app, _ in found}) or [f"target {target.name}"]
        by_cluster: dict[str, App] = {}
        for app, at in found:
            earlier = by_cluster.setdefault(context.argocd.cluster_key(app), app)
            if earlier.name != app.name:
                yield Violation(f"{app.label} and {earlier.label} both sync {target.path} to "
                                f"{cluster_of(app.destination)}, so every object of it has two owners that overwrite "
                                "each other", app.manifest, f"{at}.path",
                                fix="let exactly one Application sync each path per cluster")
    seen: dict[tuple[str, str, str | None, str, str], tuple[Target, Manifest]] = {}
    for target in context.targets(Scope.REPOSITORY):
        if target.name not in names:
            continue
        found = owners_by_target.get(target.name, [])
        app_destination = found[0][0].destination if found else {}
        # every cluster the target reaches: an Application per cluster's Argo CD counts once per cluster
        clusters = sorted({context.argocd.cluster_key(app) for app, _ in found}) if found and not target.destination \
            else [cluster_of(target.destination or app_destination)]
        default_namespace = target.namespace or app_destination.get("namespace")
        for manifest, cluster in ((m, c) for m in context.manifests[target.name] for c in clusters):
            namespace = None if manifest.kind in CLUSTER_SCOPED_KINDS else (manifest.namespace or default_namespace)
            key = (manifest.group, manifest.kind, namespace, manifest.name, cluster)
            first, first_manifest = seen.setdefault(key, (target, manifest))
            if first.name == target.name or names[first.name] == names[target.name]:
                continue
            # Blame the environment when a platform-level target owns the object too: environments
            # should not carry cluster-level objects; otherwise blame the later target.
            if first.is_environment and not target.is_environment:
                culprit, owner, other = first_manifest, first, target
            else:
                culprit, owner, other = manifest, target, first
            yield Violation(
                f"{manifest.kind} {where(namespace, manifest.name)} is rendered by {owner.name} "
                f"({', '.join(names[owner.name])}) and by {other.name} ({', '.join(names[other.name])}) for "
                "the same cluster: two Applications own it, overwrite each other and prune it when either drops it",
                culprit, "metadata.name",
                fix=f"declare the {manifest.kind} in one of the two targets only (e.g. in a base only one of them "
                    "includes)")


def _check_repo_url(context: PolicyContext) -> Iterator[Violation]:
    own = context.argocd.repository_url
    if own is None:
        return
    canonical = normalize_repo(own)
    for manifest, at, url in context.argocd.repo_uses:
        if "{{" in url:
            continue
        if manifest.kind == "AppProject" and _project_allows_own(manifest, canonical):
            continue  # a project may permit other repositories besides this one
        if is_glob(url):
            if fnmatch.fnmatchcase(canonical, normalize_repo(url)):
                continue
        elif normalize_repo(url) == canonical:
            continue
        yield Violation(f"{manifest.kind} {manifest.name} names repository {url!r}, but the rest of the "
                        f"repository uses {own!r}", manifest, at,
                        fix=f"write {own} here (or change every other place), ideally from one kustomize replacement")


RULES: list[Rule] = [
    Rule(
        id="argocd-source-path",
        summary="Every Argo CD source path exists and is an environment or target of mlops.yaml",
        explanation=(
            "`spec.source.path` and every `spec.sources[].path` of an Application (and of the Applications an "
            "ApplicationSet generates) must be a folder of the repository, or Argo CD reports "
            "\"app path does not exist\" and syncs nothing. It must also be an environment or target of "
            "`mlops.yaml`: otherwise `mlops validate` never renders what Argo CD applies, and nothing checks it."
            + _REPOSITORY_NOTE
        ),
        fix="point the Application at an environment or target of mlops.yaml, or add the path to its targets",
        check=_check_source_path,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-generator-path",
        summary="Every git generator path of an ApplicationSet matches a folder (or file) of the repository",
        explanation=(
            "The git directory generator lists the repository's folders and keeps those matching "
            "`directories[].path` with Go's `path.Match` (`*` matches one path segment, never a `/`; `**` is "
            "not special). A glob that matches nothing generates no Application, and the ApplicationSet stays "
            "healthy: the environment simply never exists. Excluded entries are not checked."
            + _REPOSITORY_NOTE
        ),
        fix="fix the glob so that it matches the folders to deploy",
        check=_check_generator_path,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-appset-environments",
        summary="The environment ApplicationSet generates exactly the environments of mlops.yaml",
        explanation=(
            "An ApplicationSet whose generated paths include an environment path (or a sibling folder such as "
            "`overlays/<x>`) must generate one Application for every environment of `mlops.yaml` (by its "
            "path), with the same destination namespace and cluster, and none for a folder that is no "
            "environment. Otherwise `mlops promote` pins a version in an environment Argo CD never deploys, "
            "or Argo CD deploys an overlay nobody promotes to. List and git-directory generators (and a matrix "
            "of them) are expanded; ApplicationSets with other generators are not checked."
            + _REPOSITORY_NOTE
        ),
        fix="make the generator list exactly the environments of mlops.yaml, with their paths and namespaces",
        check=_check_appset_environments,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-project-exists",
        summary="Every Application names an AppProject the repository renders",
        explanation=(
            "Argo CD does not sync an Application whose `spec.project` (or an ApplicationSet template's) "
            "names a missing AppProject (\"application references project X which does not exist\"). The "
            "AppProject must be rendered by one of the targets, so that it exists whenever the Application "
            "does. `default` is reported by `argocd-default-project` instead."
        ),
        fix="name an AppProject rendered by the repository (e.g. in base/argocd), or add it",
        check=_check_project,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-default-project",
        summary="Applications use a dedicated AppProject, not `default`",
        explanation=(
            "The `default` AppProject allows every source repository, every destination and every kind, so an "
            "Application in it can deploy anything anywhere, and a mistake in one overlay can overwrite "
            "cluster objects. A dedicated AppProject limits what each Application may touch. Unless the "
            "repository renders its own, restricted `default` AppProject."
        ),
        fix="create an AppProject for these Applications and name it in spec.project",
        check=_check_default_project,
        severity=Severity.WARNING,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-single-owner",
        summary="No object is synced by two Applications",
        explanation=(
            "When two Applications render the same object for the same cluster (a cluster-scoped object, or a "
            "namespaced object with the same kind, namespace and name), they overwrite each other on every "
            "sync, Argo CD marks it as shared and out of sync, and when either Application stops rendering it, "
            "its pruning deletes the object under the other. Targets are matched to Applications by source "
            "path; the cluster and default namespace come from the target's `destination`/`namespace` in "
            "`mlops.yaml`, else from the Application. Two Applications syncing the same path to the same "
            "cluster are reported too."
        ),
        fix="declare each object in exactly one target",
        check=_check_single_owner,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-repo-url",
        summary="The Git repository URL is the same in every Application, ApplicationSet and AppProject",
        explanation=(
            "A fork changes the repository URL; one place left behind makes an Application sync from the "
            "original repository (or fail, when an AppProject's `sourceRepos` no longer allows it). Every "
            "`repoURL` of Application and ApplicationSet sources and git generators, and every AppProject "
            "`sourceRepos` entry (globs must match it), must name the repository most of them name (compared "
            "as Argo CD does: case-insensitive, without `.git`). Helm chart sources are other repositories and "
            "are not compared."
        ),
        fix="set the URL once (e.g. a kustomize replacement from one ConfigMap) and use it everywhere",
        check=_check_repo_url,
        scope=Scope.REPOSITORY,
    ),
]


def _project_allows_own(project: Manifest, canonical: str) -> bool:
    repos = [str(url) for url in dig(project.data, "spec", "sourceRepos") or []]
    return any(normalize_repo(url) == canonical
               or (is_glob(url) and fnmatch.fnmatchcase(canonical, normalize_repo(url))) for url in repos)
