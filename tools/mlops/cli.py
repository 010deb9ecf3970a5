"""The `mlops` command line: parse options, call the core, pick the report format and exit code.

No logic lives here. Every command exits 0 when all is well, 1 for findings (or a failed gate),
2 for bad usage or input, 3 when an outside system failed and nothing was changed. Errors the
user can act on are one line on stderr, never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__, interrupt
from . import changed as changed_module
from . import config as config_module
from . import diff as diff_module
from . import targets as targets_module
from .errors import MlopsError, OutsideError, UsageError
from .findings import ExitCode, Finding, exit_code_for
from .git import Git
from .kustomize import find_engine, render_many
from .policies import all_rules, rule_by_id
from .policies.base import PolicyContext
from .policies.engine import run_rules
from .report import FORMATS, ReportContext, RuleInfo
from .report import render as render_report
from .rules_doc import explain_rule, rules_listing
from .runcache import Caches, validate_cached
from .schemas.builtin import builtin_catalog
from .schemas.core import CoreSchemas
from .schemas.locations import Lookup, build_locations
from .schemas.store import SchemaStore
from .validate import ValidationRun, run_validation

F = TypeVar("F", bound=Callable[..., Any])

#: Characters of rendered diffs in one pull-request comment; GitHub accepts 65,536 in all.
COMMENT_BUDGET = 60_000
#: `--changed` given without a revision: compare with the merge base of the default branch.
CHANGED_DEFAULT = "\0merge-base"
EPILOG_EXIT = "Exit codes: 0 ok, 1 findings, 2 bad usage or input, 3 an outside system failed."


def handle_errors(command: F) -> F:
    """The one edge handler: every failure is one line on stderr and an exit code, never a traceback.

    An `MlopsError` says what to fix; Ctrl-C outside a command that changes something is
    "interrupted" (exit 3); anything else is a bug in mlops, reported in one line (exit 3) after
    the undo paths, which run on any exception, have put everything back; `mlops --debug` prints
    its traceback as well, for the bug report.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MlopsError as error:
            click.echo(f"mlops: {error.one_line()}", err=True)
            sys.exit(int(error.exit_code))
        except BrokenPipeError:  # the reader went away (`mlops rules | head`): nothing more to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(int(ExitCode.OK))
        except KeyboardInterrupt:
            click.echo("mlops: interrupted by SIGINT; nothing was changed", err=True)
            sys.exit(int(ExitCode.OUTSIDE_FAILURE))
        except click.ClickException:
            raise  # bad usage found while running: click prints it and exits 2
        except Exception as error:  # the edge of the program: nothing may escape as a traceback
            if _debug():
                traceback.print_exc()
            said = " ".join(str(error).split()) or "no message"
            click.echo(f"mlops: unexpected error: {type(error).__name__}: {said} (a bug in mlops: please report "
                       "it, with the traceback `mlops --debug ...` prints); nothing was changed", err=True)
            sys.exit(int(ExitCode.OUTSIDE_FAILURE))

    return wrapper  # type: ignore[return-value]


def _debug() -> bool:
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.find_root().params.get("debug"))


@contextmanager
def stopping_at_safe_points() -> Iterator[None]:
    """`interrupt.stopping_at_safe_points` for one command; a signal the work outran is a warning."""
    with interrupt.stopping_at_safe_points():
        yield
        late = interrupt.received()
    if late is not None:
        click.echo(f"mlops: warning: {interrupt.signal_name(late)} arrived while the work was being completed; "
                   "it was completed first", err=True)


def repo_option(command: F) -> F:
    return click.option(
        "--repo", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Repository root (the folder with mlops.yaml). Default: found from the current folder.",
    )(command)


def online_option(command: F) -> F:
    return click.option(
        "--online", is_flag=True,
        help="After the built-in catalog, also ask the public datree CRDs catalog for kinds no location has.",
    )(command)


def schema_options(command: F) -> F:
    command = click.option(
        "--offline", is_flag=True, envvar="MLOPS_OFFLINE",
        help="Never fetch schemas from URL locations; use folders, the built-in catalog and the cache only.",
    )(command)
    command = click.option(
        "--kubernetes-version", metavar="X.Y", default=None,
        help="Kubernetes version for built-in kinds (default: kubernetesVersion in mlops.yaml).",
    )(command)
    return click.option(
        "--schema-location", "schema_locations", multiple=True, metavar="LOCATION",
        help="Folder in GROUP/KIND_VERSION.json layout, or a path/URL template with {group}, {kind}, "
        "{version}. Repeatable; tried before MLOPS_SCHEMA_LOCATION, mlops.yaml and the built-in catalog.",
    )(command)


def _load_config(repo: Path | None) -> config_module.Config:
    root = repo.resolve() if repo else config_module.find_root(Path.cwd())
    return config_module.load(root)


def _load_targets(repo: Path | None, names: tuple[str, ...]) -> tuple[config_module.Config, tuple[str, ...],
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


def _schema_store(cfg: config_module.Config, schema_locations: tuple[str, ...],
                  kubernetes_version: str | None, offline: bool, online: bool = False) -> SchemaStore:
    locations = build_locations(list(schema_locations), os.environ.get("MLOPS_SCHEMA_LOCATION"),
                                list(cfg.schema_locations), cfg.root, Path.cwd(), include_default=online)
    core = CoreSchemas(kubernetes_version or cfg.kubernetes_version)
    lookup = Lookup(locations, offline=offline, builtin=builtin_catalog(), default_release=cfg.rhoai_version)
    return SchemaStore(core, lookup)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=EPILOG_EXIT)
@click.version_option(__version__, prog_name="mlops")
@click.option("--debug", is_flag=True, help="Print the traceback of an unexpected error (for a bug report).")
def main(debug: bool) -> None:
    """Keep an OpenShift AI GitOps repository correct.

    \b
    Typical use, from the repository root:
      mlops validate                 render and check every environment
      mlops validate prod --strict   one environment; warnings fail too
      mlops render dev               the objects Argo CD would apply to dev
      mlops schemas import crd.yaml  make JSON schemas from a CRD
    """


@main.command(epilog=EPILOG_EXIT)
@click.argument("environments", nargs=-1, metavar="[ENV]...")
@repo_option
@schema_options
@online_option
@click.option("--strict", is_flag=True, help="Warnings fail the run too, e.g. a kind without a schema.")
@click.option("--policies/--no-policies", default=True, show_default=True,
              help="Apply the MLOps policy rules (`mlops rules`) after the schema checks.")
@click.option("--output", "-o", "output_format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Report format: text for people, json for programs, github for pull-request "
              "annotations, junit and sarif for CI dashboards and code scanning.")
@click.option("--changed", metavar="[REF]", is_flag=False, flag_value=CHANGED_DEFAULT, default=None,
              help="Only the targets whose inputs differ from REF (default: the merge base with the default "
              "branch), and those the cross-target rules need.")
@click.option("--no-cache", "no_cache", is_flag=True,
              help="Neither use nor fill the render and run caches (in $MLOPS_CACHE_DIR, else ~/.cache/mlops).")
@handle_errors
def validate(environments: tuple[str, ...], repo: Path | None, schema_locations: tuple[str, ...],
             kubernetes_version: str | None, offline: bool, online: bool, strict: bool, policies: bool,
             output_format: str, changed: str | None, no_cache: bool) -> None:
    """Render every environment with kustomize and check every object.

    ENV names an environment or target of mlops.yaml (default: all). Without environments and
    targets in mlops.yaml (or without mlops.yaml), the targets are what the repository's Argo CD
    Applications and ApplicationSets sync (`mlops targets` shows them); `mlops validate PATH`
    checks the repository at PATH. Source files are checked first (UTF-8, YAML syntax, duplicate
    keys, alias bombs, paths outside the repository); then each root is rendered, every built-in
    object is checked against the strict Kubernetes schema of the configured version, and every
    custom resource against the first schema location that has its kind, then the built-in
    catalog. Findings name the source file and line, not the rendered output.

    A root whose inputs did not change is not rendered again, and a run in which nothing changed
    gives the findings of the last one (both checked by content hashes; --no-cache skips that).
    """
    if changed is not None and environments:
        raise UsageError("name environments or use --changed, not both")
    cfg, environments, discovery = _load_targets(repo, environments)
    also_report: frozenset[str] = frozenset()
    if changed is not None:
        targets = changed_module.changed_targets(cfg, None if changed == CHANGED_DEFAULT else changed)
        also_report = changed_module.cross_target_rules()
    else:
        targets = cfg.select(environments)
    store = _schema_store(cfg, schema_locations, kubernetes_version, offline, online)
    engine = find_engine()
    hook = _run_policies if policies else None
    argo, writers, homes = (discovery.argo_objects, discovery.writers, discovery.homes) if discovery else (None,) * 3
    try:
        if changed is not None and not targets:
            run = ValidationRun(config=cfg, targets=[])
        elif no_cache:
            run = run_validation(cfg, targets, engine, store, hook, argo, writers, homes, also_report=also_report)
        else:
            run = validate_cached(cfg, targets, engine, store, hook, Caches(), argo, writers, homes,
                                  also_report=also_report, runner=run_validation)
    finally:
        store.lookup.close()
    for warning in dict.fromkeys(run.warnings):
        click.echo(f"mlops: warning: {warning}", err=True)
    if discovery is not None:
        run.findings = sorted([*run.findings, *targets_module.not_rendered_findings(discovery)], key=Finding.sort_key)
    context = ReportContext(
        tool_version=__version__,
        environments=tuple(t.name for t in targets),
        rules=_rule_infos(),
        objects_checked=run.objects_checked,
        coverage=run.coverage,
        color=output_format == "text" and sys.stdout.isatty(),
    )
    click.echo(render_report(run.findings, output_format, context), nl=False)
    sys.exit(int(exit_code_for(run.findings, strict=strict)))


def _run_policies(run: ValidationRun) -> list[Finding]:
    assert run.sources is not None
    context = PolicyContext(config=run.config, manifests=run.manifests, trees=run.trees, cache=run.facts,
                            discovered_argo=run.discovered_argo)
    return run_rules(all_rules(), context, run.sources)


def _rule_infos() -> dict[str, RuleInfo]:
    return {rule.id: RuleInfo(rule.id, rule.summary, f"{rule.explanation}\n\nFix: {rule.fix}")
            for rule in all_rules()}


@main.group(invoke_without_command=True, epilog=EPILOG_EXIT)
@click.option("--output", "-o", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="markdown prints the table that README carries.")
@click.pass_context
def rules(ctx: click.Context, output_format: str) -> None:
    """List the policy rules that `mlops validate` applies (id, severity, where, summary).

    Turn a rule off or change its severity in mlops.yaml under `rules:`; waive it on one object
    with the annotation waive.mlops.dev/<rule-id>: "<reason>". `mlops rules explain ID` tells more.
    """
    if ctx.invoked_subcommand is not None:
        return
    click.echo(rules_listing(all_rules(), output_format), nl=False)


@rules.command("explain", epilog=EPILOG_EXIT)
@click.argument("rule_id", metavar="ID")
@handle_errors
def rules_explain(rule_id: str) -> None:
    """Explain one rule: why it exists, where it applies and how to fix what it finds."""
    click.echo(explain_rule(rule_by_id(rule_id)), nl=False)


@main.command("targets", epilog=EPILOG_EXIT)
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--output", "-o", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@handle_errors
def targets_command(path: Path | None, output_format: str) -> None:
    """Show what `mlops validate` checks, and why: mlops.yaml's targets or the discovered ones.

    Without environments and targets in mlops.yaml, every folder of this repository that an
    Application (or an ApplicationSet's generated Application) syncs is a target, once, with the
    Applications and generator elements that name it; kustomize roots nothing syncs are bases
    (syntax and schemas only); sources not rendered here are listed with the reason.
    """
    cfg, _, discovery = _load_targets(path, ())
    report = targets_module.describe(cfg, discovery)
    click.echo(json.dumps(report.as_json(), indent=2) if output_format == "json" else report.as_text(), nl=False)


@main.command(epilog=EPILOG_EXIT)
@click.argument("environments", nargs=-1, metavar="[ENV]...")
@repo_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write one file per environment (DIR/ENV.yaml) instead of printing to stdout.")
@handle_errors
def render(environments: tuple[str, ...], repo: Path | None, out: Path | None) -> None:
    """Print the objects kustomize renders for each environment, exactly as Argo CD sees them.

    With several environments on stdout, each is preceded by a `# Source: ENV (PATH)` comment.
    """
    cfg, environments, _ = _load_targets(repo, environments)
    targets = cfg.select(environments)
    results = render_many(find_engine(), [cfg.root / t.path for t in targets])
    failed = [(t, r) for t, r in zip(targets, results, strict=True) if r.error is not None]
    for target, result in failed:
        click.echo(f"mlops: {target.path}: kustomize failed: {result.error}", err=True)
    if failed:
        sys.exit(int(ExitCode.FINDINGS))
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise MlopsError(f"cannot create the output folder: {error.strerror}; pass --out a folder you can write",
                             file=str(out)) from None
        for target, result in zip(targets, results, strict=True):
            (out / f"{target.name}.yaml").write_text(result.output, encoding="utf-8")
            click.echo(f"wrote {out / (target.name + '.yaml')}", err=True)
        return
    for target, result in zip(targets, results, strict=True):
        if len(targets) > 1:
            click.echo(f"---\n# Source: {target.name} ({target.path})")
        click.echo(result.output, nl=False)


@main.command("diff", epilog=EPILOG_EXIT)
@click.argument("environments", nargs=-1, metavar="[ENV_A [ENV_B]]")
@click.option("--base", metavar="REF", default=None,
              help="Compare ENV_A as it renders at this git revision (e.g. main) with the working tree.")
@repo_option
@click.option("--output", "-o", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="markdown collapses each object's diff, for pull-request comments.")
@handle_errors
def diff_command(environments: tuple[str, ...], base: str | None, repo: Path | None, output_format: str) -> None:
    """Show which rendered objects differ: between two environments, or one against a git revision.

    \b
      mlops diff test prod          what prod would change if it looked like test
      mlops diff prod --base main   what this branch changes in prod compared with main
      mlops diff --base main        the same for every environment and target (a pull request's preview)
    Objects are matched by kind, namespace and name; each changed one gets a unified diff.
    Markdown output of every target fits one GitHub comment (diffs are cut beyond that).
    Exit 0 whether or not there are differences.
    """
    cfg = _load_config(repo)
    engine = find_engine()
    if base is not None and not environments:
        with stopping_at_safe_points():  # the base is checked out in a temporary worktree
            _diff_every_target(cfg, base, output_format)
        return
    if base is not None:
        if len(environments) != 1:
            raise MlopsError("with --base, name one environment, or none for every environment and target")
        (target,) = cfg.select(environments)
        with stopping_at_safe_points(), Git(cfg.root).snapshot(base) as snapshot:
            relative_root = cfg.root.relative_to(Git(cfg.root).toplevel())
            old, new = render_many(engine, [snapshot / relative_root / target.path, cfg.root / target.path])
        labels = (base, "working tree")
        heading = f"{target.name}: {base} → working tree"
    else:
        if len(environments) != 2 or environments[0] == environments[1]:
            raise MlopsError("name two different environments (mlops diff ENV_A ENV_B) or one with --base REF")
        first, second = cfg.select(environments)
        old, new = render_many(engine, [cfg.root / first.path, cfg.root / second.path])
        labels = (first.name, second.name)
        heading = f"{first.name} → {second.name}"
    for result in (old, new):
        if result.error is not None:
            raise OutsideError(f"kustomize failed: {result.error}; run `mlops validate` to see why")
    changes = diff_module.diff_objects(diff_module.parse_objects(old.output), diff_module.parse_objects(new.output),
                                       labels)
    if output_format == "json":
        click.echo(json.dumps([{"status": c.status, "kind": c.kind, "namespace": c.namespace or None,
                                "name": c.name, "diff": c.diff} for c in changes], indent=2))
    elif output_format == "markdown":
        click.echo(diff_module.render_markdown(changes, heading), nl=False)
    else:
        click.echo(diff_module.render_text(changes, heading), nl=False)


def _diff_every_target(cfg: config_module.Config, base: str, output_format: str) -> None:
    """`mlops diff --base REF`: every environment and target, for the pull-request comment.

    In Markdown, a side that does not render is a comment too ("render failed at SHA", exit 1),
    so that the workflow replaces the previous preview instead of leaving it standing.
    """
    try:
        results = diff_module.changes_against(cfg, find_engine(), base)
    except diff_module.RenderFailed as failure:
        if output_format != "markdown":
            raise
        click.echo(diff_module.render_failed_markdown(failure, base, diff_module.revisions(cfg, base)), nl=False)
        click.echo(f"mlops: {failure.one_line()}", err=True)
        sys.exit(int(ExitCode.FINDINGS))
    if output_format == "json":
        click.echo(json.dumps([{"target": r.name, "environment": r.is_environment,
                                "changes": [{"status": c.status, "kind": c.kind, "namespace": c.namespace or None,
                                             "name": c.name, "diff": c.diff} for c in r.changes]}
                               for r in results], indent=2))
    elif output_format == "markdown":
        click.echo(diff_module.render_markdown_all(results, base, limit=COMMENT_BUDGET,
                                                   revisions=diff_module.revisions(cfg, base)), nl=False)
    else:
        for target_changes in results:
            click.echo(diff_module.render_text(target_changes.changes, f"{target_changes.name}: {base} → working tree"),
                       nl=False)


def _validator(schema_locations: tuple[str, ...], kubernetes_version: str | None,
               offline: bool) -> Callable[[config_module.Config, config_module.Target], list[Finding]]:
    """`mlops validate ENV` as a function, for checking a promoted tree before it is pushed."""

    def validate_target(cfg: config_module.Config, target: config_module.Target) -> list[Finding]:
        store = _schema_store(cfg, schema_locations, kubernetes_version, offline)
        try:
            return run_validation(cfg, [target], find_engine(), store, policies=_run_policies).findings
        finally:
            store.lookup.close()

    return validate_target


# The commands that open pull requests (promote, rollback, model add-version) or read and comment
# on them (status, comment), and the schema commands, live in their own modules; importing them
# registers them on `main`.
from . import cli_monitoring, cli_promotion, cli_schemas  # noqa: E402, F401
