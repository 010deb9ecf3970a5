"""`mlops validate` as one call: which targets, which schemas, the pipeline run, the report and the exit code.

`validate.py` is the pipeline itself (sources → render → schemas → policies → findings); this
module chooses what it runs on (mlops.yaml's targets, discovered ones, or those `--changed`
touched), builds the schema store from every location the user named, serves the run from the
run cache when nothing changed, and turns the findings into the chosen report. Promote uses the
same pieces to validate a promoted tree before it is pushed (`validator`).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, collector, interrupt
from . import changed as changed_module
from . import config as config_module
from . import targets as targets_module
from .collector import fewer_collections
from .errors import MlopsError, UsageError
from .findings import ExitCode, Finding, exit_code_for
from .kustomize import find_engine
from .policies import all_rules
from .policies.base import PolicyContext
from .policies.engine import run_rules
from .report import ReportContext, RuleInfo
from .report import render as render_report
from .runcache import Caches, validate_cached
from .schemas.builtin import builtin_catalog
from .schemas.core import CoreSchemas
from .schemas.locations import Lookup, build_locations
from .schemas.store import SchemaStore
from .validate import ValidationRun, run_validation

#: `--changed` given without a revision: compare with the merge base of the default branch.
CHANGED_DEFAULT = "\0merge-base"


@dataclass(frozen=True)
class SchemaOptions:
    """Where schemas come from: `--schema-location`, `--kubernetes-version`, `--offline`, `--online`."""

    locations: tuple[str, ...] = ()
    kubernetes_version: str | None = None
    offline: bool = False
    online: bool = False


@dataclass(frozen=True)
class ValidateRequest:
    """The options of `mlops validate`."""

    environments: tuple[str, ...]
    repo: Path | None
    schemas: SchemaOptions
    strict: bool = False
    policies: bool = True
    output_format: str = "text"
    changed: str | None = None
    no_cache: bool = False
    color: bool = False


@dataclass
class Report:
    """What a command prints: the report on stdout, whole lines for stderr, and the exit code."""

    text: str
    exit_code: ExitCode
    messages: list[str] = field(default_factory=list)


def load_config(repo: Path | None) -> config_module.Config:
    """mlops.yaml of `repo`, or of the repository around the current folder."""
    root = repo.resolve() if repo else config_module.find_root(Path.cwd())
    return config_module.load(root)


def load_targets(repo: Path | None, names: tuple[str, ...]) -> tuple[config_module.Config, tuple[str, ...],
                                                                     targets_module.Discovery | None]:
    """The configuration to validate: mlops.yaml's targets, or those discovered from Argo CD objects.

    `mlops validate PATH` works too: a single argument that is a folder, where no mlops.yaml names
    it as a target, is the repository.
    """
    if repo is None and len(names) == 1 and Path(names[0]).is_dir() and not _names_a_target(names[0]):
        repo, names = Path(names[0]), ()
    root = repo.resolve() if repo else targets_module.find_root(Path.cwd())
    cfg, discovery = targets_module.load(root)
    return cfg, names, discovery


def _names_a_target(name: str) -> bool:
    try:
        root = config_module.find_root(Path.cwd())
        return name in {t.name for t in config_module.load(root, require_environments=False).all_targets}
    except MlopsError:
        return False


def schema_store(cfg: config_module.Config, schema_locations: tuple[str, ...],
                 kubernetes_version: str | None, offline: bool, online: bool = False) -> SchemaStore:
    """Locations in their order: the options, MLOPS_SCHEMA_LOCATION, mlops.yaml, the built-in catalog."""
    locations = build_locations(list(schema_locations), os.environ.get("MLOPS_SCHEMA_LOCATION"),
                                list(cfg.schema_locations), cfg.root, Path.cwd(), include_default=online)
    core = CoreSchemas(kubernetes_version or cfg.kubernetes_version)
    lookup = Lookup(locations, offline=offline, builtin=builtin_catalog(), default_release=cfg.rhoai_version)
    return SchemaStore(core, lookup)


def store_for(cfg: config_module.Config, options: SchemaOptions) -> SchemaStore:
    return schema_store(cfg, options.locations, options.kubernetes_version, options.offline, options.online)


def run_policies(run: ValidationRun) -> list[Finding]:
    """The policy stage of the pipeline: every registered rule over the run's objects."""
    assert run.sources is not None
    context = PolicyContext(config=run.config, manifests=run.manifests, trees=run.trees, cache=run.facts,
                            discovered_argo=run.discovered_argo)
    return run_rules(all_rules(), context, run.sources)


def rule_infos() -> dict[str, RuleInfo]:
    """What the reports say about each rule (SARIF and JUnit carry the explanation and the fix)."""
    return {rule.id: RuleInfo(rule.id, rule.summary, f"{rule.explanation}\n\nFix: {rule.fix}")
            for rule in all_rules()}


class _RuleInfosWhenRead(Mapping[str, RuleInfo]):
    """`rule_infos()`, built when a writer first reads it: the formats that never do leave the rule
    families unimported, which is a fifth of a run the run cache answers."""

    @functools.cached_property
    def _infos(self) -> dict[str, RuleInfo]:
        return rule_infos()

    def __getitem__(self, rule_id: str) -> RuleInfo:
        return self._infos[rule_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos)

    def __len__(self) -> int:
        return len(self._infos)


@fewer_collections()  # the caches and the report too, not only the run (collector)
def validate_repository(request: ValidateRequest) -> Report:
    """`mlops validate`: run the pipeline on the chosen targets and render its findings."""
    if request.changed is not None and request.environments:
        raise UsageError("name environments or use --changed, not both")
    cfg, environments, discovery = load_targets(request.repo, request.environments)
    also_report: frozenset[str] = frozenset()
    if request.changed is not None:
        targets = changed_module.changed_targets(cfg, None if request.changed == CHANGED_DEFAULT else request.changed)
        also_report = changed_module.cross_target_rules()
    else:
        targets = cfg.select(environments)
    store = store_for(cfg, request.schemas)
    engine = find_engine()
    hook = run_policies if request.policies else None
    argo, writers, homes = (discovery.argo_objects, discovery.writers, discovery.homes) if discovery else (None,) * 3
    try:
        if request.changed is not None and not targets:
            run = ValidationRun(config=cfg, targets=[])
        elif request.no_cache:
            run = run_validation(cfg, targets, engine, store, hook, argo, writers, homes, also_report=also_report)
        else:
            run = validate_cached(cfg, targets, engine, store, hook, Caches(), argo, writers, homes,
                                  also_report=also_report, runner=run_validation)
    finally:
        store.lookup.close()
    if discovery is not None:
        run.findings = sorted([*run.findings, *targets_module.not_rendered_findings(discovery)], key=Finding.sort_key)
    context = ReportContext(
        tool_version=__version__,
        environments=tuple(t.name for t in targets),
        rules=_RuleInfosWhenRead(),
        objects_checked=run.objects_checked,
        coverage=run.coverage,
        color=request.output_format == "text" and request.color,
    )
    collector.keep_until_exit(run, store, cfg, discovery)  # freed by the OS at exit, not one by one now
    return Report(render_report(run.findings, request.output_format, context),
                  exit_code_for(run.findings, strict=request.strict),
                  [f"mlops: warning: {warning}" for warning in dict.fromkeys(run.warnings)])


def validator(options: SchemaOptions) -> Callable[[config_module.Config, config_module.Target], list[Finding]]:
    """`mlops validate ENV` as a function, for checking a promoted tree before it is pushed."""

    def validate_target(cfg: config_module.Config, target: config_module.Target) -> list[Finding]:
        store = schema_store(cfg, options.locations, options.kubernetes_version, options.offline)
        try:
            findings = run_validation(cfg, [target], find_engine(), store, policies=run_policies).findings
        finally:
            store.lookup.close()
        interrupt.check()  # a signal ends the renders: their failures are not findings of the tree
        return findings

    return validate_target


def describe_targets(path: Path | None, output_format: str) -> str:
    """`mlops targets`: what validate checks and why, as text or JSON."""
    cfg, _, discovery = load_targets(path, ())
    report = targets_module.describe(cfg, discovery)
    return json.dumps(report.as_json(), indent=2) if output_format == "json" else report.as_text()
