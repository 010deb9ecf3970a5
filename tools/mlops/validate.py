"""The validation pipeline: check sources, render, load, check schemas, apply policies, collect findings.

One pipeline for every output format (as kubeconform does): this module only produces
`Finding`s; `report/` decides how they look and `cli.py` picks the exit code.

Nothing waits for more than it needs, because rendering is the floor (nothing can be checked
before it is rendered) and everything else should hide behind it: a root is submitted to
kustomize as soon as its own files pass the source checks (or taken from the render cache); its
objects are loaded and schema-checked as soon as it is rendered, while the others still render;
the policies start right after the walks, each rule in its own thread taking every target as it
arrives (`PendingManifests`), so that the credential scan and the catalog run during the renders.
Work that needs no render (those rules, the file hashes, empty resources, symlinks) waits for a
free core when the renders are predicted to leave one idle later (`render_schedule`).
(When mlops.yaml does not say which OpenShift AI release the repository is for, the release is
read from the rendered Subscriptions, so schemas and policies wait for every render.) Each file
is read once per run for all of that (`RepoFiles`), each source file parsed once
(`SourceIndex`). Findings are collected per stage and target in a fixed order, never in the
order renders happen to finish, so the output is the same on every run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import children, waits
from .collector import fewer_collections
from .config import Config, Target
from .empty_resources import empty_resources
from .findings import Finding, SchemaCoverage, Severity, one_per_cause
from .kustomization import KustomizeTree, WalkCache, relative, walk
from .kustomize import Engine, RenderResult, render
from .kustomize.cache import CachedRender, RenderCache, encode_render
from .manifests import Manifest, PendingManifests, SourceIndex, load_rendered, manifests_from
from .origins import OriginIndex
from .policies import rule_ids
from .policies.secrets import CREDENTIAL_HITS, REPOSITORY_TEXTS
from .releases import infer_releases
from .render_failure import explain as explain_render_failure
from .render_schedule import Launches, input_bytes, should_wait
from .repofiles import PRUNED, RepoFiles
from .schemachecks import CO_OWNED, Checked, check_target, summary
from .schemas.store import CompiledSchema, SchemaStore
from .sourcechecks import source_findings
from .symlinks import findings as symlink_findings
from .yamlsource import SourceDocument

__all__ = ["CO_OWNED", "PolicyHook", "ValidationRun", "run_validation"]

#: Called once the targets are walked (or rendered, see above), in its own thread; returns more
#: findings. `run.manifests` then hands over each target's objects as soon as it is rendered.
PolicyHook = Callable[["ValidationRun"], list[Finding]]


@dataclass
class ValidationRun:
    """What one `mlops validate` saw and found, and which renders it made or reused."""

    config: Config
    targets: list[Target]
    manifests: Mapping[str, list[Manifest]] = field(default_factory=dict)
    trees: dict[str, KustomizeTree] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    sources: SourceIndex | None = None
    coverage: SchemaCoverage = field(default_factory=lambda: SchemaCoverage({}))
    #: the Argo CD objects discovery read, when the targets were discovered (see targets.py)
    discovered_argo: list[Manifest] | None = None
    objects_checked: int = 0
    #: schema lookup warnings (printed on stderr), kept so that a run from the cache says them too
    warnings: list[str] = field(default_factory=list)
    #: targets kustomize rendered in this run, and targets whose render came from the render cache
    rendered: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    #: the whole run came from the run cache: nothing was rendered, read or checked again
    from_cache: bool = False
    #: facts the policies share with the pipeline (`PolicyContext.cache`): the run's file texts and scan
    facts: dict[str, object] = field(default_factory=dict)
    files: RepoFiles | None = None
    #: (key, payload) of fresh renders, stored by the caller once it knows no input changed meanwhile
    fresh_renders: list[tuple[str, bytes]] = field(default_factory=list)
    #: every input of every root is known: no remote base, plugin or file outside the snapshot
    inputs_known: bool = True
    #: a render hit the time limit: its finding says nothing about the inputs, so the run is not kept
    timed_out: bool = False
    #: the symlink findings (also among `findings`), part of the run cache's key
    symlinks: list[Finding] = field(default_factory=list)


def _load(target: Target, output: str, findings: list[Finding]) -> list[Any]:
    """The documents of a render ([] and a finding when kustomize printed something unreadable)."""
    documents, error = load_rendered(output)
    if error is not None:
        findings.append(Finding("render", Severity.ERROR, f"kustomize printed unreadable YAML: {error}",
                                file=target.path, environment=target.name))
    return documents


def _inputs_known(tree: KustomizeTree, files: RepoFiles, listed: dict[Path, bool]) -> bool:
    """Every path the walk touched is in the run's snapshot (so a change to it changes the snapshot).

    `listed` remembers the answer per path for the run: the roots share most of their files.
    """
    if not tree.vouched:
        return False
    paths = [*tree.files, *(ref.resolved for ref in tree.references if ref.resolved is not None), tree.root.resolve()]
    for path in paths:
        known = listed.get(path)
        if known is None:
            rel = files.rel(path)
            known = listed[path] = not os.path.isabs(rel) and PRUNED.isdisjoint(rel.split("/"))
        if not known:
            return False
    return True


def _empty_resources(target: Target, tree: KustomizeTree, root: Path, sources: SourceIndex,
                     empty: dict[Path, bool]) -> list[Finding]:
    """`empty_resources`, with each file parsed by the run's `SourceIndex` (which finds lines in it later)."""
    for reference in tree.references:
        path = reference.resolved
        if reference.field == "resources" and path is not None and path not in empty and path.is_file():
            empty[path] = sources.holds_no_object(relative(path, root))
    return empty_resources(target, tree, root, empty)


def _hash_files(files: RepoFiles, pending: PendingManifests, start: threading.Event) -> None:
    """Read every file of the repository (for the run cache's key) while kustomize renders."""
    start.wait()
    with pending.exclusive():
        files.digest()


class _Policies:
    """The policy hook, run in a thread of its own so that it overlaps the renders.

    It starts once `start` is set: when kustomize leaves a core free (`render_schedule`).
    """

    def __init__(self, hook: PolicyHook, run: ValidationRun, start: threading.Event) -> None:
        self.findings: list[Finding] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(hook, run, start), daemon=True, name="policies")
        self._thread.start()

    def _run(self, hook: PolicyHook, run: ValidationRun, start: threading.Event) -> None:
        try:
            start.wait()
            self.findings = hook(run)
        except BaseException as error:  # handed to the main thread, which raises it
            self.error = error

    def result(self) -> list[Finding]:
        waits.join(self._thread)
        if self.error is not None:
            raise self.error
        return self.findings


@fewer_collections()
def run_validation(config: Config, targets: list[Target], engine: Engine, store: SchemaStore,
                   policies: PolicyHook | None = None, discovered_argo: list[Manifest] | None = None,
                   writers: dict[int, list[tuple[str, SourceDocument]]] | None = None,
                   homes: dict[str, set[str]] | None = None, *, files: RepoFiles | None = None,
                   renders: RenderCache | None = None, also_report: frozenset[str] = frozenset(),
                   read_everything: bool = False, symlinks: list[Finding] | None = None) -> ValidationRun:
    """Render and check the chosen targets; every problem becomes a finding.

    Every target of mlops.yaml is rendered, even when only some are chosen, because policies
    look across targets (a hardware profile rendered by the platform, the Argo CD objects that
    point at an overlay); only findings about the chosen targets are reported, and those of the
    rules in `also_report` about any target. `renders` serves and collects rendered roots;
    `read_everything` hashes every file of the repository during the renders (for the run cache);
    `symlinks` are the symlink findings when the caller already has them.
    """
    root = config.root
    chosen = {target.name for target in targets}
    context = [*targets, *(t for t in config.all_targets if t.name not in chosen)]
    files = files or RepoFiles(root, eager=False)  # nothing is stored: no need to list first
    sources = SourceIndex(root)
    for manifest in discovered_argo or []:
        if writers and id(manifest) in writers:
            sources.add_writers(manifest, writers[id(manifest)])
    pending = PendingManifests([target.name for target in context])
    run = ValidationRun(config=config, targets=targets, manifests=pending, sources=sources,
                        discovered_argo=discovered_argo, files=files)
    run.facts[REPOSITORY_TEXTS] = files.texts
    run.facts[CREDENTIAL_HITS] = files.credential_hits
    # the release of each target is known now unless it is read from what the targets render
    streaming = config.rhoai_version_explicit
    stages: dict[str, list[Finding]] = {target.name: [] for target in context}
    received: dict[str, list[Manifest]] = {}
    schemas: dict[str, Checked] = {}
    compiled: dict[tuple[str, str, str], CompiledSchema | None] = {}
    walked = WalkCache()
    checked: dict[Path, list[Finding]] = {}
    listed: dict[Path, bool] = {}
    empty: dict[Path, bool] = {}
    order = [target.name for target in context]
    rendered: dict[str, list[Manifest]] = {}

    def receive(target: Target, documents: list[Any] | str) -> None:
        """Load (unless the render cache did), check and hand over one rendered target."""
        with pending.exclusive():  # the only Python thread working: no thread waits on another's reads
            if isinstance(documents, str):
                documents = _load(target, documents, stages[target.name])
            origins = OriginIndex(run.trees[target.name], root, identities=lambda _path, name: sources.identities(name))
            manifests, shape_findings = manifests_from(documents, target.name, target.path, origins)
            stages[target.name] += shape_findings
            received[target.name] = manifests
            if streaming and target.name in chosen:
                schemas[target.name] = check_target(config, target.name, manifests, store, sources, compiled)
            if streaming:
                pending.deliver(target.name, manifests)

    hook: _Policies | None = None
    workers = max(1, min(len(context), os.cpu_count() or 1))
    core_free = threading.Event()  # set once a worker has no render left to start (render_schedule)
    launches = Launches()
    links: list[Finding] = []  # the symlink findings, found by free_a_core
    try:
        # this run's renders: ended at once when the block fails, before the pool waits for them
        with ThreadPoolExecutor(max_workers=workers) as pool, children.ended_on_failure() as batch:
            submitted: dict[Future[RenderResult], tuple[Target, str | None]] = {}
            reused: list[tuple[Target, CachedRender]] = []
            sizes: dict[Path, int] = {}
            predicted: list[int] = []  # what each submitted root reads, in submission order
            for target in context:
                tree = walk(root / target.path, root, walked)
                run.trees[target.name] = tree
                run.inputs_known = run.inputs_known and _inputs_known(tree, files, listed)
                blocking = source_findings(target, tree, root, files, checked)
                stages[target.name] += blocking
                if blocking:
                    pending.absent(target.name)
                    continue
                key = None
                if renders is not None:
                    key = renders.key(tree, target.path, root, files.sha256, target.build_options)
                cached = renders.get(key) if renders is not None and key is not None else None
                if cached is None:
                    predicted.append(input_bytes(tree, sizes))
                    submitted[pool.submit(render, engine, root / target.path, target.build_options, batch,
                                          launches.started, predicted[-1])] = (target, key)
                    if len(submitted) <= workers:  # a free worker takes it: let it start kustomize first
                        launches.wait_for(len(submitted))
                else:
                    reused.append((target, cached))
            # The rules are imported here, while kustomize renders (`policies.families`); an
            # unknown rule id in mlops.yaml then ends the batch (`ended_on_failure`) at once.
            config.check_rule_ids(rule_ids())
            def free_a_core() -> None:
                """A worker has no render left to start: let what needs no render run (once)."""
                nonlocal links
                if core_free.is_set():
                    return
                core_free.set()
                for target in context:
                    stages[target.name] += _empty_resources(target, run.trees[target.name], root, sources, empty)
                links = symlink_findings(root) if symlinks is None else symlinks

            if not should_wait(predicted, workers):
                free_a_core()
            if policies is not None and streaming:
                hook = _Policies(policies, run, core_free)
            if read_everything:
                threading.Thread(target=_hash_files, args=(files, pending, core_free), daemon=True,
                                 name="hash files").start()
            for target, cached in reused:
                run.reused.append(target.name)
                receive(target, cached.documents if cached.documents is not None else cached.output)
            for future in waits.completed(submitted):
                target, key = submitted[future]
                result = future.result()
                run.rendered.append(target.name)
                launches.wait_for(min(len(submitted), workers + len(run.rendered)))  # the freed worker's next
                if len(submitted) - len(run.rendered) < workers:
                    free_a_core()
                if result.error is not None:
                    run.timed_out = run.timed_out or result.timed_out
                    stages[target.name] += explain_render_failure(target.name, target.path, result.error,
                                                                  run.trees[target.name], root)
                    pending.absent(target.name)
                    continue
                if key is None:
                    receive(target, result.output)
                    continue
                with pending.exclusive():
                    documents = _load(target, result.output, stages[target.name])
                    run.fresh_renders.append((key, encode_render(result.output, documents)))
                receive(target, documents)
        rendered.update((name, received[name]) for name in order if name in received)
        if not streaming:  # the releases come from the renders: check and apply policies now
            config = infer_releases(config, rendered, homes)
            run.config = config
            run.targets = [t for t in config.all_targets if t.name in chosen]
            for name, manifests in rendered.items():
                if name in chosen:
                    schemas[name] = check_target(config, name, manifests, store, sources, compiled)
                pending.deliver(name, manifests)
            pending.close()
            if policies is not None:
                hook = _Policies(policies, run, core_free)
    finally:
        core_free.set()
        pending.close()
    policy_findings = hook.result() if hook is not None else []
    run.symlinks = links
    run.manifests = rendered
    run.rendered.sort(key=order.index)
    findings = list(links)  # Argo CD renders nothing of a repository with one
    findings += [finding for name in order for finding in stages[name]]
    schema_findings, run.coverage = summary(config, {name: schemas[name] for name in order if name in schemas},
                                            store, sources)
    findings += schema_findings + policy_findings
    run.objects_checked = sum(len(items) for name, items in rendered.items() if name in chosen)
    run.warnings = list(store.lookup.warnings)
    bases = {t.name for t in config.all_targets if not t.synced}
    # A root nothing syncs that kustomize cannot build alone (it may expect an overlay) harms no
    # cluster: worth a warning, not a failed run.
    findings = [f.with_severity(Severity.WARNING) if f.environment in bases and f.rule == "render" else f
                for f in findings]
    configured = (config.apply_rule_settings(f) for f in findings
                  if not f.environment or f.environment in chosen or f.rule in also_report)
    run.findings = one_per_cause(sorted((f for f in configured if f is not None), key=Finding.sort_key))
    return run
