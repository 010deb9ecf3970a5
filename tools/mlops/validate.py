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

from .config import Config, Target
from .empty_resources import empty_resources
from .errors import MlopsError
from .findings import Finding, SchemaCoverage, Severity, one_per_cause
from .kustomization import KustomizeTree, relative, walk
from .kustomize import Engine, RenderResult, render
from .manifests import Manifest, SourceIndex, parse_rendered
from .origins import OriginIndex
from .policies import rule_ids
from .releases import infer_releases
from .render_failure import explain as explain_render_failure
from .schemas.releases import explain_unknown_field
from .schemas.store import SchemaError, SchemaStore
from .symlinks import findings as symlink_findings
from .yamlsource import SourceDocument, check_text, could_be_alias_bomb, decode_utf8

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
    coverage: SchemaCoverage = field(default_factory=lambda: SchemaCoverage({}))
    #: the Argo CD objects discovery read, when the targets were discovered (see targets.py)
    discovered_argo: list[Manifest] | None = None

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


def _schema_findings(run: ValidationRun, store: SchemaStore, sources: SourceIndex,
                     chosen: set[str]) -> list[Finding]:
    findings: list[Finding] = []
    missing: dict[tuple[str, str], list[Manifest]] = {}
    coverage: dict[str, tuple[int, int]] = {}
    for name, manifests in run.manifests.items():
        if name not in chosen:
            continue
        release = run.config.release_of(name)
        unknown_release = _release_unknown(run.config, name)
        checked = 0
        for manifest in manifests:
            if unknown_release and _is_platform_kind(store, manifest):
                missing.setdefault((manifest.api_version, manifest.kind), []).append(manifest)
                continue
            compiled = store.get(manifest.api_version, manifest.kind, release)
            if compiled is None:
                missing.setdefault((manifest.api_version, manifest.kind), []).append(manifest)
                continue
            checked += 1
            partial = _server_side_applied(manifest)
            for error in store.errors(compiled, manifest.data):
                if partial and error.message.startswith("missing required field"):
                    continue  # a server-side apply patch: the live object has the field
                findings.append(_schema_error(manifest, error, compiled.source, release, store, sources))
        coverage[name] = (checked, len(manifests))
    run.coverage = SchemaCoverage(coverage, tuple(f"{kind} {api_version}" for api_version, kind in sorted(missing)))
    builtin = store.lookup.builtin
    for (api_version, kind), manifests in sorted(missing.items()):
        first = manifests[0]
        release = run.config.release_of(first.environment)
        known = builtin is not None and builtin.is_release_specific(api_version.rpartition("/")[0], kind)
        severity = Severity.WARNING
        if known and _release_unknown(run.config, first.environment):
            severity = Severity.INFO  # a base nobody syncs: nothing reaches a cluster unchecked
            why = "; nothing syncs this base and no rhoaiVersion or Subscription says which OpenShift AI release " \
                  "it is for (set rhoaiVersion in mlops.yaml)"
        elif known and builtin is not None and release not in builtin.releases:
            why = f"; the built-in catalog has {kind} for OpenShift AI {', '.join(builtin.releases)}, not {release}"
        else:
            why = ""
        findings.append(Finding(
            "schema-missing", severity,
            f"no schema for {kind} {api_version} ({len(manifests)} object(s)){why}; it was not checked",
            file=first.file, line=sources.line(first), object=first.ref, environment=first.environment,
            fix="import the CRD with `mlops schemas import crd.yaml --out schemas` and list the folder under "
                "schemaLocations in mlops.yaml (`mlops schemas list` shows the built-in kinds)",
        ))
    return findings


def _release_unknown(config: Config, target_name: str) -> bool:
    """A base nothing syncs, with no rhoaiVersion and no Subscription: which release it is for is a guess."""
    target = next((t for t in config.all_targets if t.name == target_name), None)
    return target is not None and not target.synced and not config.rhoai_version_explicit \
        and target.rhoai_version is None


def _is_platform_kind(store: SchemaStore, manifest: Manifest) -> bool:
    builtin = store.lookup.builtin
    return builtin is not None and builtin.is_release_specific(manifest.api_version.rpartition("/")[0], manifest.kind)


#: Objects an operator creates and the repository only patches: the live object has what the
#: schema requires (odh-dashboard creates `odh-dashboard-config`, which GitOps repositories co-own;
#: rhoai-facts.md, OdhDashboardConfig).
CO_OWNED = frozenset({("OdhDashboardConfig", "opendatahub.io")})


def _server_side_applied(manifest: Manifest) -> bool:
    """Argo CD sends this object as a server-side apply patch: it may set only some fields of a live object.

    The API server validates the merge of the patch with the live object, so a field the schema
    requires may come from the object the operator created (OdhDashboardConfig, say).
    """
    if (manifest.kind, manifest.api_version.rpartition("/")[0]) in CO_OWNED:
        return True
    options = manifest.annotations.get("argocd.argoproj.io/sync-options")
    return isinstance(options, str) and "ServerSideApply=true" in options.replace(" ", "")


def _schema_error(manifest: Manifest, error: SchemaError, source: str, release: str, store: SchemaStore,
                  sources: SourceIndex) -> Finding:
    """One schema violation; a field of another OpenShift AI release says which release has it."""
    message, fix = error.message, f"compare with the {manifest.kind} schema ({source})"
    builtin = store.lookup.builtin
    if builtin is not None and error.message.startswith("unknown field"):
        mismatch = explain_unknown_field(builtin, manifest.api_version, manifest.kind, error.path, release)
        if mismatch is not None:
            message, fix = mismatch.message, mismatch.fix
    return Finding("schema", Severity.ERROR, message, file=manifest.file, line=sources.line(manifest, error.path),
                   object=manifest.ref, environment=manifest.environment, path=error.path, fix=fix)


def run_validation(config: Config, targets: list[Target], engine: Engine, store: SchemaStore,
                   policies: PolicyHook | None = None, discovered_argo: list[Manifest] | None = None,
                   writers: dict[int, list[tuple[str, SourceDocument]]] | None = None,
                   homes: dict[str, set[str]] | None = None) -> ValidationRun:
    """Render and check the chosen targets; every problem becomes a finding.

    Every target of mlops.yaml is rendered, even when only some are chosen, because policies
    look across targets (a hardware profile rendered by the platform, the Argo CD objects that
    point at an overlay); only findings about the chosen targets are reported.
    """
    config.check_rule_ids(rule_ids())
    root = config.root
    chosen = {target.name for target in targets}
    sources = SourceIndex(root)
    for manifest in discovered_argo or []:
        if writers and id(manifest) in writers:
            sources.add_writers(manifest, writers[id(manifest)])
    run = ValidationRun(config=config, targets=targets, sources=sources, discovered_argo=discovered_argo)
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
            findings += blocking + empty_resources(target, tree, root, empty)
            if not blocking:
                pending[pool.submit(render, engine, root / target.path, target.build_options)] = target
        for future in as_completed(pending):
            target, result = pending[future], future.result()
            if result.error is not None:
                findings += explain_render_failure(target.name, target.path, result.error, run.trees[target.name],
                                                   root)
                continue
            manifests, shape_findings = parse_rendered(result, target.name, target.path,
                                                       OriginIndex(run.trees[target.name], root, shared=identities))
            run.manifests[target.name] = manifests
            findings += shape_findings
    run.manifests = {t.name: run.manifests[t.name] for t in context if t.name in run.manifests}
    run.config = config = infer_releases(config, run.manifests, homes)
    run.targets = [t for t in config.all_targets if t.name in chosen]
    assert run.sources is not None
    findings += _schema_findings(run, store, run.sources, chosen)
    if policies is not None:
        findings += policies(run)
    bases = {t.name for t in config.all_targets if not t.synced}
    # A root nothing syncs that kustomize cannot build alone (it may expect an overlay) harms no
    # cluster: worth a warning, not a failed run.
    findings = [f.with_severity(Severity.WARNING) if f.environment in bases and f.rule == "render" else f
                for f in findings]
    configured = (config.apply_rule_settings(f) for f in findings if not f.environment or f.environment in chosen)
    run.findings = one_per_cause(sorted((f for f in configured if f is not None), key=Finding.sort_key))
    return run
