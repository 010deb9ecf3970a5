"""The validation pipeline: check sources, render, load, check schemas, collect findings.

One pipeline for every output format (as kubeconform does): this module only produces
`Finding`s; `report.py` decides how they look and `cli.py` picks the exit code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from .config import Config, Target
from .errors import MlopsError
from .findings import Finding, Severity
from .kustomization import KustomizeTree, find_kustomization, relative, walk
from .kustomize import Engine, RenderResult, render
from .manifests import Manifest, SourceIndex, parse_rendered
from .origins import OriginIndex
from .schemas.store import SchemaStore
from .symlinks import findings as symlink_findings
from .yamlsource import FastLoader, SourceDocument, check_text, could_be_alias_bomb, decode_utf8, load_file

#: Called with every target's objects once schemas are checked; returns more findings.
PolicyHook = Callable[["ValidationRun"], list[Finding]]


@dataclass
class ValidationRun:
    """What one `mlops validate` saw and found."""

    config: Config
    targets: list[Target]
    manifests: dict[str, list[Manifest]] = field(default_factory=dict)
    trees: dict[str, KustomizeTree] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    sources: SourceIndex | None = None

    @property
    def objects_checked(self) -> int:
        chosen = {target.name for target in self.targets}
        return sum(len(items) for name, items in self.manifests.items() if name in chosen)


def _source_findings(target: Target, tree: KustomizeTree, repo_root: Path,
                     checked: dict[Path, list[Finding]]) -> list[Finding]:
    """Problems that must stop a render before kustomize sees the files.

    `checked` keeps each file's verdict for the run: environments share most of their files.
    """
    findings = [
        Finding("kustomize-reference", Severity.ERROR, message, file=ref.kustomization, line=ref.line,
                environment=target.name, fix=fix)
        for ref, message, fix in tree.problems
    ]
    for path in sorted(tree.files):
        if path not in checked:
            checked[path] = _file_findings(path, repo_root)
        findings += [replace(finding, environment=target.name) for finding in checked[path]]
    return findings


def _file_findings(path: Path, repo_root: Path) -> list[Finding]:
    """UTF-8 and alias-bomb problems of one file (the caller fills in the environment)."""
    display = relative(path, repo_root)
    try:
        raw = path.read_bytes()
    except OSError as error:
        return [Finding("yaml-syntax", Severity.ERROR, f"cannot read: {error.strerror}", file=display)]
    try:
        text = decode_utf8(raw, display)
    except MlopsError as error:
        return [Finding("yaml-encoding", Severity.ERROR, str(error), file=display, line=error.line,
                        fix="save the file as UTF-8")]
    if not could_be_alias_bomb(raw):
        return []
    return [Finding(problem.rule, Severity.ERROR, problem.message, file=display, line=problem.line, fix=problem.fix)
            for problem in check_text(text) if problem.rule == "yaml-alias-bomb"]


def _empty_resources(target: Target, tree: KustomizeTree, repo_root: Path,
                     empty: dict[Path, bool]) -> list[Finding]:
    """Resource files that hold no object: kustomize accepts them and adds nothing, without a word.

    An empty file in `resources` is a file whose content was lost (a truncated save, a bad
    merge) or one never written: either way the objects a reviewer expects are not applied.
    `empty` keeps each file's verdict for the run.
    """
    findings = []
    for reference in tree.references:
        path = reference.resolved
        if reference.field != "resources" or path is None or not path.is_file():
            continue
        if path not in empty:
            try:
                nodes = yaml.compose_all(path.read_text(encoding="utf-8"), Loader=FastLoader)
                empty[path] = all(node is None or node.tag == "tag:yaml.org,2002:null" for node in nodes)
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                empty[path] = False  # unreadable or malformed: the source checks say so
        if empty[path]:
            findings.append(Finding(
                "empty-resource", Severity.ERROR,
                f"{relative(path, repo_root)} holds no object, so {reference.kustomization}:{reference.line} adds "
                "nothing to the render (kustomize says nothing about it)",
                file=relative(path, repo_root), line=1, environment=target.name,
                fix=f"write the object(s) it should hold, or remove {reference.value} from the resources of "
                    f"{reference.kustomization}"))
    return findings


def _render_failure(target: Target, result: RenderResult, tree: KustomizeTree, repo_root: Path) -> list[Finding]:
    """Explain a failed render by the file at fault; kustomize's own words when none is found."""
    findings = []
    for path in sorted(tree.files):
        display = relative(path, repo_root)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        findings += [
            Finding(problem.rule, Severity.ERROR, problem.message, file=display, line=problem.line,
                    environment=target.name, fix=problem.fix)
            for problem in check_text(text)
        ]
    if not findings:
        findings = _shapeless_resources(target, tree, repo_root)
    if findings:
        return findings
    kustomization = find_kustomization(repo_root / target.path)
    return [Finding("render", Severity.ERROR, f"kustomize failed: {result.error}",
                    file=relative(kustomization, repo_root) if kustomization else target.path,
                    environment=target.name,
                    fix=f"run `kubectl kustomize {target.path}` to see the error in context")]


def _shapeless_resources(target: Target, tree: KustomizeTree, repo_root: Path) -> list[Finding]:
    """Resource documents without apiVersion or kind (kustomize names neither file nor line)."""
    findings = []
    for reference in tree.references:
        if reference.field != "resources" or reference.resolved is None or not reference.resolved.is_file():
            continue
        display = relative(reference.resolved, repo_root)
        try:
            documents = load_file(reference.resolved, display)
        except MlopsError:
            continue
        for document in documents:
            data = document.data
            missing = [key for key in ("apiVersion", "kind") if not isinstance(data, dict) or not data.get(key)]
            if missing:
                findings.append(Finding(
                    "object-shape", Severity.ERROR, f"document has no {' and '.join(missing)}",
                    file=display, line=document.line, environment=target.name,
                    fix="every resource document must be a Kubernetes object with apiVersion and kind",
                ))
    return findings


def _schema_findings(run: ValidationRun, store: SchemaStore, sources: SourceIndex,
                     chosen: set[str]) -> list[Finding]:
    findings: list[Finding] = []
    missing: dict[tuple[str, str], list[Manifest]] = {}
    for name, manifests in run.manifests.items():
        if name not in chosen:
            continue
        for manifest in manifests:
            compiled = store.get(manifest.api_version, manifest.kind)
            if compiled is None:
                missing.setdefault((manifest.api_version, manifest.kind), []).append(manifest)
                continue
            for error in store.errors(compiled, manifest.data):
                findings.append(Finding(
                    "schema", Severity.ERROR, error.message,
                    file=manifest.file, line=sources.line(manifest, error.path), object=manifest.ref,
                    environment=manifest.environment, path=error.path,
                    fix=f"compare with the {manifest.kind} schema ({compiled.source})",
                ))
    for (api_version, kind), manifests in sorted(missing.items()):
        first = manifests[0]
        findings.append(Finding(
            "schema-missing", Severity.WARNING,
            f"no schema for {kind} {api_version} ({len(manifests)} object(s)); it was not checked",
            file=first.file, line=sources.line(first), object=first.ref, environment=first.environment,
            fix="add a schema location (--schema-location) or import the CRD with `mlops schemas import`",
        ))
    return findings


def run_validation(config: Config, targets: list[Target], engine: Engine, store: SchemaStore,
                   policies: PolicyHook | None = None) -> ValidationRun:
    """Render and check the chosen targets; every problem becomes a finding.

    Every target of mlops.yaml is rendered, even when only some are chosen, because policies
    look across targets (a hardware profile rendered by the platform, the Argo CD objects that
    point at an overlay); only findings about the chosen targets are reported.
    """
    root = config.root
    chosen = {target.name for target in targets}
    run = ValidationRun(config=config, targets=targets, sources=SourceIndex(root))
    context = [*targets, *(t for t in config.all_targets if t.name not in chosen)]
    findings: list[Finding] = symlink_findings(root)  # Argo CD renders nothing of a repository with one
    kustomizations: dict[Path, SourceDocument] = {}
    checked: dict[Path, list[Finding]] = {}
    empty: dict[Path, bool] = {}
    identities: dict[Path, list[tuple[str, str, str | None]]] = {}
    # kustomize runs in other processes: each root is submitted as soon as its sources are checked,
    # and each result is read while the others still render.
    with ThreadPoolExecutor(max_workers=max(1, min(len(context), os.cpu_count() or 1))) as pool:
        pending: dict[Future[RenderResult], Target] = {}
        for target in context:
            tree = walk(root / target.path, root, kustomizations)
            run.trees[target.name] = tree
            blocking = _source_findings(target, tree, root, checked)
            findings += blocking + _empty_resources(target, tree, root, empty)
            if not blocking:
                pending[pool.submit(render, engine, root / target.path)] = target
        for future in as_completed(pending):
            target, result = pending[future], future.result()
            if result.error is not None:
                findings += _render_failure(target, result, run.trees[target.name], root)
                continue
            manifests, shape_findings = parse_rendered(result, target.name, target.path,
                                                       OriginIndex(run.trees[target.name], root, shared=identities))
            run.manifests[target.name] = manifests
            findings += shape_findings
    run.manifests = {t.name: run.manifests[t.name] for t in context if t.name in run.manifests}
    assert run.sources is not None
    findings += _schema_findings(run, store, run.sources, chosen)
    if policies is not None:
        findings += policies(run)
    run.findings = sorted((f for f in findings if f.environment is None or f.environment in chosen),
                          key=Finding.sort_key)
    return run
