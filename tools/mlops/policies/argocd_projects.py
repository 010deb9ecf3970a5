"""Argo CD AppProjects: every object an Application syncs is one its project allows.

An AppProject limits the kinds an Application may create (`clusterResourceWhitelist`,
`namespaceResourceWhitelist` and their blacklists) and the namespaces it may deploy into
(`destinations`). An overlay that gains a kind its project does not list renders, validates and
merges fine, and then every sync of that environment fails with "resource X is not permitted in
project Y". This family resolves, for each environment and target, the Applications that sync it
and their AppProjects, and checks every rendered object the way Argo CD does.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from ..manifests import Manifest
from .argocd_sources import owners
from .base import PolicyContext, Rule, Scope, Violation
from .facts.argocd import App
from .objects import CLUSTER_SCOPED_KINDS, dig, unique_objects, where


def _listed(group: str, kind: str, entries: Any) -> bool:
    """Whether a group/kind matches an entry of a whitelist or blacklist (Argo CD matches globs)."""
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        if fnmatch.fnmatchcase(group, str(entry.get("group", ""))) and \
                fnmatch.fnmatchcase(kind, str(entry.get("kind", ""))):
            return True
    return False


def kind_refusal(project: dict[str, Any], group: str, kind: str, namespaced: bool) -> str | None:
    """Why the project refuses the kind (the list to change), or None when it is permitted.

    As Argo CD: a namespaced kind is allowed when `namespaceResourceWhitelist` is absent or lists
    it; a cluster-scoped kind only when `clusterResourceWhitelist` lists it; a blacklist entry
    refuses it either way.
    """
    spec = project.get("spec") if isinstance(project.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    scope = "namespace" if namespaced else "cluster"
    whitelist = spec.get(f"{scope}ResourceWhitelist")
    # an absent namespace whitelist permits every namespaced kind; an empty one permits none
    permitted = True if namespaced and whitelist is None else _listed(group, kind, whitelist)
    if not permitted:
        return f"spec.{scope}ResourceWhitelist"
    if _listed(group, kind, spec.get(f"{scope}ResourceBlacklist")):
        return f"spec.{scope}ResourceBlacklist"
    return None


def namespace_permitted(project: dict[str, Any], destination: dict[str, str], namespace: str) -> bool:
    """Whether a destination entry of the project matches the Application's cluster and `namespace`."""
    entries = [entry for entry in dig(project, "spec", "destinations") or [] if isinstance(entry, dict)]
    server, name = destination.get("server", ""), destination.get("name", "")

    def cluster_matches(entry: dict[str, Any]) -> bool:
        if entry.get("server") and server:
            return fnmatch.fnmatchcase(server, str(entry["server"]))
        if entry.get("name") and name:
            return fnmatch.fnmatchcase(name, str(entry["name"]))
        return False

    patterns = [str(entry.get("namespace", "")) for entry in entries if cluster_matches(entry)]
    if any(p.startswith("!") and fnmatch.fnmatchcase(namespace, p[1:]) for p in patterns):
        return False
    return any(not p.startswith("!") and fnmatch.fnmatchcase(namespace, p) for p in patterns)


def _projects(context: PolicyContext) -> dict[str, Manifest]:
    return {manifest.name: manifest for manifest in unique_objects(context, "AppProject")}


def _owning_projects(context: PolicyContext) -> Iterator[tuple[str, App, Manifest]]:
    """(target name, Application, its AppProject) for every target an Application of the repository syncs."""
    projects = _projects(context)
    for target_name, found in owners(context).items():
        seen: set[tuple[str, str]] = set()
        for app, _ in found:
            project_name = app.spec.get("project")
            project = projects.get(project_name) if isinstance(project_name, str) else None
            if project is None or (app.name, project.name) in seen:
                continue  # a missing project is argocd-project-exists' finding
            seen.add((app.name, project.name))
            yield target_name, app, project


def _check_kinds(context: PolicyContext) -> Iterator[Violation]:
    for target_name, app, project in _owning_projects(context):
        judged: set[tuple[str, str]] = set()  # a target has hundreds of objects of a few dozen kinds
        for manifest in context.manifests.get(target_name, []):
            key = (manifest.group, manifest.kind)
            if key in judged:
                continue
            judged.add(key)
            namespaced = manifest.kind not in CLUSTER_SCOPED_KINDS
            refusal = kind_refusal(project.data, manifest.group, manifest.kind, namespaced)
            if refusal is None:
                continue
            shown = f"{manifest.group or 'core'}/{manifest.kind}"
            yield Violation(
                f"{app.label} syncs {manifest.kind} {where(manifest.namespace, manifest.name)}, but its AppProject "
                f"{project.name} does not permit {shown} ({refusal}): Argo CD refuses to sync the environment",
                manifest, "kind",
                fix=f"add {{group: {manifest.group!r}, kind: {manifest.kind}}} to {refusal} of AppProject "
                    f"{project.name} ({project.file or 'its file'})" if refusal.endswith("Whitelist") else
                    f"remove {shown} from {refusal} of AppProject {project.name}, or drop the object")


def _check_namespaces(context: PolicyContext) -> Iterator[Violation]:
    targets = {target.name: target for target in context.config.all_targets}
    for target_name, app, project in _owning_projects(context):
        target = targets.get(target_name)
        default = (target.namespace if target else None) or app.destination.get("namespace")
        judged: set[str] = set()  # hundreds of objects, a few namespaces
        for manifest in context.manifests.get(target_name, []):
            if manifest.kind in CLUSTER_SCOPED_KINDS:
                continue
            namespace = manifest.namespace or default
            if not namespace or "{{" in namespace or namespace in judged:
                continue
            judged.add(namespace)
            if namespace_permitted(project.data, app.destination, namespace):
                continue
            yield Violation(
                f"{app.label} syncs {manifest.kind} {where(namespace, manifest.name)} into namespace {namespace}, "
                f"which no destination of AppProject {project.name} allows on "
                f"{app.destination.get('server') or app.destination.get('name') or 'its cluster'}: Argo CD "
                "refuses to sync it", manifest, "metadata.namespace" if manifest.namespace else "metadata.name",
                fix=f"add the namespace to spec.destinations of AppProject {project.name}, or deploy the object "
                    "into a namespace the project allows")


RULES: list[Rule] = [
    Rule(
        id="argocd-project-kinds",
        summary="Every kind an Application syncs is permitted by its AppProject",
        explanation=(
            "An AppProject's `namespaceResourceWhitelist` (when present) and `clusterResourceWhitelist` list "
            "the kinds its Applications may create; the blacklists refuse kinds. A kind added to an overlay "
            "but not to the project passes every other check and then fails each sync of the environment "
            "(\"resource X:Y is not permitted in project Z\"). Each environment and target is matched to the "
            "Applications that sync it (by source path) and their AppProjects, and every rendered kind is "
            "checked as Argo CD does: namespaced kinds are allowed by an absent namespace whitelist, "
            "cluster-scoped kinds only by a listing; group and kind are globs."
        ),
        fix="list the kind in the AppProject's whitelist (or remove it from its blacklist)",
        check=_check_kinds,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="argocd-project-destinations",
        summary="Every namespace an Application deploys into is a destination of its AppProject",
        explanation=(
            "An AppProject's `destinations` (server or cluster name, namespace; globs, `!` to exclude) bound "
            "where its Applications may deploy. An object whose namespace (its own, else the environment's "
            "from `mlops.yaml`, else the Application's destination) matches no destination of the "
            "Application's cluster makes Argo CD refuse the sync. A renamed environment namespace that was "
            "not changed in the project is the usual cause."
        ),
        fix="add the namespace to the AppProject's spec.destinations, or use a namespace it allows",
        check=_check_namespaces,
        scope=Scope.REPOSITORY,
    ),
]
