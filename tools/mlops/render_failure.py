"""Explain a failed kustomize render by the file that caused it, in kustomize's own words.

kustomize stops at the first problem and often names no file and line. This module looks, in
order, for: a YAML file the root reads as YAML that does not parse (kustomizations, resources,
patches; never generator inputs such as scripts that a configMapGenerator embeds, which kustomize
does not parse); then the cases kustomize's message describes (a patch that matches no resource,
a Helm chart without `--enable-helm`, a remote base that needs the network, a file it names);
then resource documents without apiVersion or kind. Whatever it finds carries kustomize's
message, so nothing the user would see by running kustomize is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .errors import MlopsError
from .findings import Finding, Severity
from .kustomization import KustomizeTree, find_kustomization, relative
from .yamlsource import SourceDocument, check_text, load_file

#: kustomization fields whose files kustomize embeds as text instead of parsing them
_GENERATOR_FIELDS = frozenset({"configMapGenerator", "secretGenerator"})
_NO_MATCH = re.compile(r'no resource matches strategic merge patch "(?P<kind>[^".]+)\.(?P<version>[^".]+)'
                       r'(?:\.(?P<group>[^"/]*))?/(?P<name>[^".]+)')
_NEEDS_HELM = re.compile(r"must specify --enable-helm|--enable-helm", re.IGNORECASE)
_NETWORK = re.compile(r"git (clone|fetch)|dial tcp|no such host|Could not resolve host|network|https?://",
                      re.IGNORECASE)


def explain(target_name: str, target_path: str, message: str, tree: KustomizeTree, repo_root: Path) -> list[Finding]:
    """Findings that point at the cause of a failed render of one root."""

    def finding(rule: str, text: str, file: str, line: int | None, fix: str) -> Finding:
        return Finding(rule, Severity.ERROR, text, file=file, line=line, environment=target_name, fix=fix)

    syntax = _syntax_problems(target_name, tree, repo_root)
    if syntax:
        return syntax
    kustomize_says = f"kustomize: {_cause_first(message, repo_root)}"
    no_match = _NO_MATCH.search(message)
    if no_match:
        patch = _patch_declaring(tree, no_match.group("kind"), no_match.group("name"), repo_root)
        if patch is not None:
            return [finding("render", kustomize_says, patch[0], patch[1],
                            f"the patch must name the apiVersion, kind and name of a resource of this root "
                            f"(here {no_match.group('kind')} {no_match.group('name')}); fix the patch or the resource")]
    if _NEEDS_HELM.search(message):
        kustomization = _with_field(tree, "helmCharts", repo_root)
        if kustomization is not None:
            return [finding("render", kustomize_says, kustomization[0], kustomization[1],
                            "Argo CD renders helmCharts only with the build option --enable-helm "
                            "(kustomize.buildOptions in argocd-cm, or kustomizeBuildOptions of the ArgoCD instance)")]
    remote = next((r for r in tree.references if r.is_remote), None)
    if remote is not None and _NETWORK.search(message):
        # not a defect of the repository: rendered where the network is reachable, it may well work
        return [Finding("render", Severity.WARNING, f"not rendered without the network: {kustomize_says}",
                        file=remote.kustomization, line=remote.line, environment=target_name,
                        fix=f"the remote base {remote.value} needs the network; vendor it into the repository "
                            "(and pin it), or validate where the network is reachable")]
    shapeless = _shapeless_resources(target_name, tree, repo_root)
    if shapeless:
        return shapeless
    named = _file_named_in(message, tree, repo_root)
    if named is not None:
        return [finding("render", kustomize_says, named, None, f"run `kubectl kustomize {target_path}` to see it")]
    root_file = find_kustomization(repo_root / target_path)
    return [finding("render", f"kustomize failed: {message}",
                    relative(root_file, repo_root) if root_file else target_path, None,
                    f"run `kubectl kustomize {target_path}` to see the error in context")]


def _cause_first(message: str, repo_root: Path) -> str:
    """kustomize nests its reasons (`accumulating resources: ...: must specify --enable-helm`): lead with the last.

    Absolute paths of the checkout are written relative to it, as everywhere else in findings.
    """
    message = message.replace(f"{repo_root.resolve()}/", "").replace(f"{repo_root}/", "")
    context, separator, cause = message.rpartition(": ")
    if not separator or not context.startswith(("accumulating", "accumulation")):
        return message
    return f"{cause} (while {context})"


def _parsed_as_yaml(tree: KustomizeTree) -> list[Path]:
    """Files kustomize parses as YAML: kustomizations and what they name, except generator inputs."""
    embedded = {r.resolved for r in tree.references if r.field in _GENERATOR_FIELDS and r.resolved is not None}
    return sorted(path for path in tree.files if path not in embedded or path in tree.kustomizations)


def _syntax_problems(target_name: str, tree: KustomizeTree, repo_root: Path) -> list[Finding]:
    findings = []
    for path in _parsed_as_yaml(tree):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        findings += [Finding(problem.rule, Severity.ERROR, problem.message, file=relative(path, repo_root),
                             line=problem.line, environment=target_name, fix=problem.fix)
                     for problem in check_text(text)]
    return findings


def _patch_declaring(tree: KustomizeTree, kind: str, name: str, repo_root: Path) -> tuple[str, int] | None:
    """(file, line) of the patch file of this root that declares `kind` `name`."""
    for display, documents in _documents_named_by(tree, ("patches", "patchesStrategicMerge"), repo_root):
        for document in documents:
            data = document.data
            metadata = data.get("metadata") if isinstance(data, dict) else None
            if isinstance(metadata, dict) and data.get("kind") == kind and metadata.get("name") == name:
                return display, document.line_of("apiVersion")
    return None


def _documents_named_by(tree: KustomizeTree, fields: tuple[str, ...],
                        repo_root: Path) -> Iterator[tuple[str, list[SourceDocument]]]:
    """(file, its documents) of every readable YAML file the root names in one of `fields`."""
    for reference in tree.references:
        if reference.field not in fields or reference.resolved is None or not reference.resolved.is_file():
            continue
        display = relative(reference.resolved, repo_root)
        try:
            yield display, load_file(reference.resolved, display)
        except MlopsError:
            continue


def _with_field(tree: KustomizeTree, field: str, repo_root: Path) -> tuple[str, int] | None:
    for path, document in tree.kustomizations.items():
        if isinstance(document.data, dict) and field in document.data:
            return relative(path, repo_root), document.line_of(field)
    return None


def _file_named_in(message: str, tree: KustomizeTree, repo_root: Path) -> str | None:
    """The first file of the root whose repository path, or name, kustomize's message mentions."""
    for path in sorted(tree.files, key=lambda p: -len(str(p))):
        display = relative(path, repo_root)
        if display in message or (f"'{path.name}'" in message or f'"{path.name}"' in message):
            return display
    return None


def _shapeless_resources(target_name: str, tree: KustomizeTree, repo_root: Path) -> list[Finding]:
    """Resource documents without apiVersion or kind (kustomize names neither file nor line)."""
    findings = []
    for display, documents in _documents_named_by(tree, ("resources",), repo_root):
        for document in documents:
            data = document.data
            missing = [key for key in ("apiVersion", "kind") if not isinstance(data, dict) or not data.get(key)]
            if missing:
                findings.append(Finding(
                    "object-shape", Severity.ERROR, f"document has no {' and '.join(missing)}",
                    file=display, line=document.line, environment=target_name,
                    fix="every resource document must be a Kubernetes object with apiVersion and kind",
                ))
    return findings
