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
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from . import config as config_module
from . import diff as diff_module
from . import promote as promote_module
from . import status as status_module
from .errors import GateFailed, MlopsError, OutsideError, UsageError
from .findings import ExitCode, Finding, exit_code_for
from .git import Git
from .kustomize import find_engine, render_many
from .policies import all_rules, rule_by_id
from .policies.base import PolicyContext
from .policies.engine import run_rules
from .promote import Outcome, Plan
from .report import FORMATS, ReportContext, RuleInfo
from .report import render as render_report
from .rules_doc import BUILTIN_RULES, explain_rule, rules_listing
from .schemas import crd_import
from .schemas.builtin import builtin_catalog
from .schemas.core import CoreSchemas
from .schemas.locations import Lookup, build_locations
from .schemas.store import SchemaStore
from .validate import ValidationRun, run_validation
from .yamlsource import decode_utf8

F = TypeVar("F", bound=Callable[..., Any])

#: Characters of rendered diffs in one pull-request comment; GitHub accepts 65,536 in all.
COMMENT_BUDGET = 60_000
EPILOG_EXIT = "Exit codes: 0 ok, 1 findings, 2 bad usage or input, 3 an outside system failed."


def handle_errors(command: F) -> F:
    """Turn MlopsError into its one-line message and exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MlopsError as error:
            click.echo(f"mlops: {error.one_line()}", err=True)
            sys.exit(int(error.exit_code))

    return wrapper  # type: ignore[return-value]


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
def main() -> None:
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
@handle_errors
def validate(environments: tuple[str, ...], repo: Path | None, schema_locations: tuple[str, ...],
             kubernetes_version: str | None, offline: bool, online: bool, strict: bool, policies: bool,
             output_format: str) -> None:
    """Render every environment with kustomize and check every object.

    ENV names an environment or target of mlops.yaml (default: all). Source files are checked
    first (UTF-8, YAML syntax, duplicate keys, alias bombs, paths outside the repository); then
    each root is rendered, every built-in object is checked against the strict Kubernetes schema
    of the configured version, and every custom resource against the first schema location that
    has its kind. Findings name the source file and line, not the rendered output.
    """
    cfg = _load_config(repo)
    targets = cfg.select(environments)
    store = _schema_store(cfg, schema_locations, kubernetes_version, offline, online)
    engine = find_engine()
    try:
        run = run_validation(cfg, targets, engine, store, policies=_run_policies if policies else None)
    finally:
        store.lookup.close()
    for warning in dict.fromkeys(store.lookup.warnings):
        click.echo(f"mlops: warning: {warning}", err=True)
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
    context = PolicyContext(config=run.config, manifests=run.manifests, trees=run.trees)
    return run_rules(all_rules(), context, run.sources)


def _rule_infos() -> dict[str, RuleInfo]:
    infos = {rule.id: RuleInfo(rule.id, rule.summary, f"{rule.explanation}\n\nFix: {rule.fix}")
             for rule in all_rules()}
    infos.update(BUILTIN_RULES)
    return infos


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
    cfg = _load_config(repo)
    targets = cfg.select(environments)
    results = render_many(find_engine(), [cfg.root / t.path for t in targets])
    failed = [(t, r) for t, r in zip(targets, results, strict=True) if r.error is not None]
    for target, result in failed:
        click.echo(f"mlops: {target.path}: kustomize failed: {result.error}", err=True)
    if failed:
        sys.exit(int(ExitCode.FINDINGS))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
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
        _diff_every_target(cfg, base, output_format)
        return
    if base is not None:
        if len(environments) != 1:
            raise MlopsError("with --base, name one environment, or none for every environment and target")
        (target,) = cfg.select(environments)
        with Git(cfg.root).snapshot(base) as snapshot:
            relative_root = cfg.root.relative_to(Git(cfg.root).toplevel())
            old, new = render_many(engine, [snapshot / relative_root / target.path, cfg.root / target.path])
        labels = (base, "working tree")
        heading = f"{target.name}: {base} → working tree"
    else:
        if len(environments) != 2:
            raise MlopsError("name two environments (mlops diff ENV_A ENV_B) or one with --base REF")
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
    """`mlops diff --base REF`: every environment and target, for the pull-request comment."""
    results = diff_module.changes_against(cfg, find_engine(), base)
    if output_format == "json":
        click.echo(json.dumps([{"target": r.name, "environment": r.is_environment,
                                "changes": [{"status": c.status, "kind": c.kind, "namespace": c.namespace or None,
                                             "name": c.name, "diff": c.diff} for c in r.changes]}
                               for r in results], indent=2))
    elif output_format == "markdown":
        click.echo(diff_module.render_markdown_all(results, base, limit=COMMENT_BUDGET), nl=False)
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


def _forge_factory(root: Path, remote: str) -> Callable[[], Any]:
    def make() -> Any:
        # imported here so that commands which never talk to GitHub do not load an HTTP client
        from .forge.github import GitHub, repository_from_remote_url
        from .forge.token import api_url_from_env, discover_token, repository_from_env

        repository = repository_from_env() or repository_from_remote_url(Git(root).remote_url(remote) or "")
        if not repository:
            raise MlopsError(f"cannot tell the GitHub repository: set GITHUB_REPOSITORY=owner/name or point "
                             f"remote {remote!r} at GitHub")
        token = discover_token()
        if not token:
            raise MlopsError("no GitHub token: set GITHUB_TOKEN or GH_TOKEN, or log in with `gh auth login`")
        return GitHub(repository, token, api_url=api_url_from_env())

    return make


def _show_plan(plan: Plan, output_format: str, outcome: Outcome | None = None, dry_run: bool = False) -> None:
    if output_format == "json":
        document = {
            "kind": plan.kind, "model": plan.model, "version": plan.version, "environment": plan.target.name,
            "from": plan.previous.name if plan.previous else None, "current": plan.current_version,
            "branch": plan.branch, "pinFile": plan.pin_path, "labels": plan.labels, "reviewers": plan.reviewers,
            "dryRun": dry_run, "passed": plan.passed,
            "gates": [{"name": r.name, "status": r.status, "detail": r.detail} for r in plan.gate_results],
            "changes": [{"status": c.status, "object": c.title} for c in plan.changes],
            "pullRequest": None if outcome is None or outcome.pull_request is None else {
                "number": outcome.pull_request.number, "url": outcome.pull_request.url, "created": outcome.created},
        }
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(f"{plan.title}  (branch {plan.branch}, pin {plan.pin_path})")
    click.echo(f"  {plan.target.name} runs {plan.current_version or 'nothing'} now")
    for result in plan.gate_results:
        click.echo(f"  gate {result.name:<9} {result.status:<7} {result.detail}")
    if plan.changes:
        click.echo(diff_module.render_text(plan.changes, f"rendered changes in {plan.target.name}"), nl=False)
    if outcome is not None and outcome.pull_request is not None:
        verb = "opened" if outcome.created else "updated"
        click.echo(f"pull request #{outcome.pull_request.number} {verb}: {outcome.pull_request.url}")
    elif dry_run:
        click.echo("dry run: no file, branch, push or network call was made")


def promotion_options(command: F) -> F:
    for decorator in reversed([
        click.option("--dry-run", is_flag=True,
                     help="Print the plan, the gates and the rendered diff; change nothing."),
        click.option("--remote", default="origin", show_default=True, help="Git remote to push the branch to."),
        click.option("--base", default="main", show_default=True, help="Branch the pull request targets."),
        click.option("--allow-breaking", is_flag=True,
                     help="Promote even if inputs/outputs differ from the running version (labels the PR breaking)."),
        click.option("--output", "-o", "output_format", type=click.Choice(["text", "json"]), default="text",
                     show_default=True),
        repo_option,
        schema_options,
    ]):
        command = decorator(command)
    return command


def _run_promotion(kind: str, model: str, environment: str, version: str | None, dry_run: bool, remote: str,
                   base: str, allow_breaking: bool, output_format: str, repo: Path | None,
                   schema_locations: tuple[str, ...], kubernetes_version: str | None, offline: bool) -> None:
    cfg = _load_config(repo)
    engine = find_engine()
    validator = _validator(schema_locations, kubernetes_version, offline)
    try:
        if dry_run:
            plan = promote_module.plan_only(cfg.root, model, environment, version, remote=remote, base=base,
                                            allow_breaking=allow_breaking, kind=kind, engine=engine,
                                            validator=validator)
            _show_plan(plan, output_format, dry_run=True)
            sys.exit(int(ExitCode.OK if plan.passed else ExitCode.FINDINGS))
        outcome = promote_module.promote(cfg.root, model, environment, version, remote=remote, base=base,
                                         allow_breaking=allow_breaking, kind=kind, engine=engine,
                                         validator=validator, forge=_forge_factory(cfg.root, remote))
    except GateFailed as failure:
        if isinstance(failure.plan, Plan):
            _show_plan(failure.plan, output_format)
        raise
    _show_plan(outcome.plan, output_format, outcome)
    for warning in outcome.warnings:
        click.echo(f"mlops: warning: {warning}", err=True)


@main.command(epilog=EPILOG_EXIT)
@click.argument("model")
@click.option("--to", "environment", required=True, metavar="ENV", help="Environment to promote to.")
@click.option("--version", default=None, metavar="V",
              help="Version to promote (default: the one running in the environment before ENV; "
              "for the first environment, the newest in the catalog).")
@promotion_options
@handle_errors
def promote(model: str, environment: str, version: str | None, **options: Any) -> None:
    """Promote a model version to an environment by opening (or updating) a pull request.

    \b
    Gates, each reported with its figures:
      order      the version runs in the environment before ENV now
      metrics    every threshold of ENV in the catalog holds (a missing metric fails)
      signature  same inputs/outputs as the version ENV runs (else --allow-breaking)
      soak       pinned in the previous environment on the base branch long enough (git history)
    The pin file overlays/ENV/models/MODEL.yaml is written in a temporary worktree, ENV is
    rendered before and after and validated, and the commit is pushed to
    mlops/promote/MODEL-ENV-VERSION. Running it again updates the same pull request. Whatever
    fails, your checkout, branches and the remote are left as they were.
    GitHub: repository from GITHUB_REPOSITORY or the remote URL, API from GITHUB_API_URL,
    token from GITHUB_TOKEN, GH_TOKEN or `gh auth token`.
    """
    _run_promotion("promote", model, environment, version, **options)


@main.command(epilog=EPILOG_EXIT)
@click.argument("model")
@click.option("--env", "environment", required=True, metavar="ENV", help="Environment to roll back.")
@click.option("--to", "version", default=None, metavar="VERSION",
              help="Version to go back to (default: the one pinned before the current one, from git history).")
@promotion_options
@handle_errors
def rollback(model: str, environment: str, version: str | None, **options: Any) -> None:
    """Pin the previous version of a model in an environment again, by pull request (label rollback).

    The order and soak gates are skipped; metrics, signature and validation still apply.
    """
    _run_promotion("rollback", model, environment, version, **options)


@main.command("status", epilog=EPILOG_EXIT)
@repo_option
@click.option("--remote", default="origin", show_default=True, help="Git remote that names the GitHub repository.")
@click.option("--output", "-o", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@handle_errors
def status_command(repo: Path | None, remote: str, output_format: str) -> None:
    """Show which version of each model every environment runs, and since when (git history of the pins).

    Open promotion pull requests are listed too when a GitHub token is available; without one,
    or when GitHub does not answer, the table is still printed (with a note).
    """
    cfg = _load_config(repo)
    git = Git(cfg.root)
    table = status_module.collect(cfg, git if git.ok("rev-parse", "--is-inside-work-tree") else None)
    from .forge.token import discover_token

    if discover_token():
        try:
            client = _forge_factory(cfg.root, remote)()
            try:
                table.promotions = [
                    status_module.OpenPromotion(pr.number, pr.url, pr.head, pr.title)
                    for pr in client.list_open_pull_requests(head_prefix=promote_module.BRANCH_PREFIX)
                ]
            finally:
                client.close()
        except MlopsError as error:
            table.note = f"open pull requests unknown: {error.one_line()}"
    else:
        table.note = "open pull requests not shown: no GitHub token (GITHUB_TOKEN, GH_TOKEN or gh auth login)"
    if output_format == "json":
        click.echo(json.dumps(status_module.as_json(table), indent=2))
    elif output_format == "markdown":
        click.echo(status_module.render_markdown(table), nl=False)
    else:
        click.echo(status_module.render_text(table), nl=False)


@main.command("comment", epilog=EPILOG_EXIT)
@click.argument("number", type=click.IntRange(min=1), metavar="PR")
@click.option("--body-file", type=click.Path(dir_okay=False, allow_dash=True, path_type=str), default="-",
              show_default=True, help="Markdown of the comment; - reads standard input.")
@click.option("--key", default="mlops-diff", show_default=True,
              help="Names the comment: one comment per key and pull request, edited on every run.")
@click.option("--author", default=None, metavar="LOGIN",
              help="Only a comment by this account is edited (default: the token's account; "
              "github-actions[bot] for a workflow's token).")
@repo_option
@click.option("--remote", default="origin", show_default=True, help="Git remote that names the GitHub repository.")
@handle_errors
def comment_command(number: int, body_file: str, key: str, author: str | None, repo: Path | None,
                    remote: str) -> None:
    """Post a comment on pull request PR, or update the one this command posted before.

    \b
    In a workflow, the rendered-diff preview of a pull request:
      mlops diff --base origin/main --output markdown | mlops comment "$PR"
    The comment starts with a hidden marker (<!-- mlops:KEY -->), so a push to the pull request
    edits it instead of adding a second one; only a comment by the same account counts, so a
    marker someone else writes into their own comment is ignored. GitHub: repository from GITHUB_REPOSITORY or the
    remote URL, API from GITHUB_API_URL, token from GITHUB_TOKEN, GH_TOKEN or `gh auth token`.
    """
    from .forge.github import MAX_BODY, comment_marker

    try:
        body = sys.stdin.read() if body_file == "-" else Path(body_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the comment body: {error}", file=body_file) from None
    try:
        marker = comment_marker(key)
    except ValueError as error:
        raise UsageError(f"--key: {error}") from None
    if len(marker) + 1 + len(body) > MAX_BODY:
        raise UsageError(f"the comment has {len(body)} characters; GitHub accepts {MAX_BODY - len(marker) - 1} "
                         "(mlops diff --output markdown trims its diffs to fit)")
    if not body.strip():
        raise UsageError("the comment body is empty; pass --body-file or pipe the Markdown in")
    root = repo.resolve() if repo else Path.cwd()
    client = _forge_factory(root, remote)()
    try:
        url, created = client.upsert_comment(number, key, body, author)
    finally:
        client.close()
    click.echo(f"comment {'posted' if created else 'updated'}: {url}")


@main.group()
def model() -> None:
    """Edit the model catalog (models/MODEL/model.yaml)."""


@model.command("new-versions", epilog=EPILOG_EXIT)
@click.option("--since", required=True, metavar="REF",
              help="Commit to compare the catalog with, e.g. the commit before a push.")
@repo_option
@click.option("--output", "-o", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@handle_errors
def model_new_versions(since: str, repo: Path | None, output_format: str) -> None:
    """List, per model, the newest version the catalog gained after REF, and its first environment.

    A version added below the model's newest version (a patch of an older line) is not listed:
    it would replace a newer one in the first environment.

    \b
    The new-version workflow promotes each one:
      mlops model new-versions --since "$BEFORE" --output json
      mlops promote MODEL --to ENVIRONMENT --version VERSION
    Exit 0 whether or not there are new versions.
    """
    from . import catalog_changes

    cfg = _load_config(repo)
    added = catalog_changes.added_versions(cfg.root, cfg, since)
    if output_format == "json":
        click.echo(json.dumps([{"model": a.model, "version": a.version, "environment": a.environment}
                               for a in added], indent=2))
    elif not added:
        click.echo(f"no model gained a version since {since}")
    else:
        for entry in added:
            click.echo(f"{entry.model} {entry.version} -> {entry.environment}")


@model.command("add-version", epilog=EPILOG_EXIT)
@click.argument("model_name", metavar="MODEL")
@click.option("--version", "version", default=None, metavar="V",
              help="Semantic version of the new entry, e.g. 1.3.0 (never reused). Required, except with "
              "--from-mlflow when the MLflow model version or run has a tag 'version'.")
@click.option("--uri", default=None, metavar="URI",
              help="Artifact location: s3://BUCKET/PATH or oci://IMAGE@sha256:DIGEST. Required, except with "
              "--from-mlflow (default: the version's source in MLflow).")
@click.option("--from-mlflow", "from_mlflow", default=None, metavar="MLFLOW_URI",
              help="Fill the entry from MLflow: models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH.")
@click.option("--tracking-uri", default=None, metavar="URL",
              help="MLflow tracking server for --from-mlflow (default: MLFLOW_TRACKING_URI).")
@click.option("--digest", default=None, metavar="sha256:HEX", help="Content digest of the artifact.")
@click.option("--metric", "metrics", multiple=True, metavar="NAME=VALUE",
              help="An evaluation metric, e.g. --metric auc=0.97. Repeatable; wins over MLflow's value.")
@click.option("--commit", default=None, metavar="SHA", help="Git commit of the training code (lineage).")
@click.option("--pipeline-run", default=None, metavar="ID", help="Pipeline run that produced it (lineage).")
@click.option("--dataset", default=None, metavar="REF", help="Training data it was built from (lineage).")
@click.option("--created", default=None, metavar="ISO",
              help="Creation date or date-time, ISO 8601 (default: when MLflow registered it, else today, UTC).")
@click.option("--pull-request", is_flag=True,
              help="Do not edit this checkout: propose the version by pull request against --base (what a "
              "pipeline run does).")
@click.option("--remote", default="origin", show_default=True, help="With --pull-request: git remote to push to.")
@click.option("--base", default="main", show_default=True, help="With --pull-request: branch the pull request targets.")
@repo_option
@handle_errors
def model_add_version(model_name: str, version: str | None, uri: str | None, from_mlflow: str | None,
                      tracking_uri: str | None, digest: str | None, metrics: tuple[str, ...], commit: str | None,
                      pipeline_run: str | None, dataset: str | None, created: str | None, pull_request: bool,
                      remote: str, base: str, repo: Path | None) -> None:
    """Append a version to models/MODEL/model.yaml, keeping its comments and formatting.

    \b
    By hand or from a pipeline:
      mlops model add-version fraud-detection --version 1.3.0 \\
          --uri s3://mlops-models/fraud-detection/1.3.0/ --metric auc=0.97 --commit 3f2a9c1
    From the MLflow model registry (its REST API, with MLflow's MLFLOW_TRACKING_URI and
    MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD):
      mlops model add-version fraud-detection --version 1.3.0 --from-mlflow models:/fraud-detection/3

    --from-mlflow fills uri (the version's s3:// source), created, every metric and parameter of
    the run, and lineage: git commit, dataset, MLflow experiment, run and registered version.
    Options given win over MLflow's values. Every metric the model's gates use must be known.

    \b
    With --pull-request, the entry is written in a temporary worktree of --base as the remote has
    it, pushed to mlops/register/MODEL-VERSION and proposed by pull request, with the metrics
    against every environment's gate; this checkout is not touched. After the merge, the
    new-version workflow opens the promotion to the first environment. GitHub as for promote.

    The result is checked against the catalog schema before the file is replaced (atomically).
    A version that exists already, a version that is not semver, an oci:// URI without a
    digest, a metric that is not a number or an MLflow version that cannot be imported changes
    nothing and exits 2 (3 when the MLflow server cannot be reached or refuses the credentials).
    """
    from . import catalog_edit  # ruamel.yaml is only needed here

    if from_mlflow is None and (version is None or uri is None):
        missing = "--version" if version is None else "--uri"
        raise UsageError(f"{missing} is required (or fill the entry from MLflow: --from-mlflow models:/NAME/VERSION)")
    if from_mlflow is None and tracking_uri is not None:
        raise UsageError("--tracking-uri is only used with --from-mlflow")
    if not pull_request and (remote, base) != ("origin", "main"):
        raise UsageError("--remote and --base are used with --pull-request only")
    cfg = _load_config(repo)
    recorded: catalog_edit.Recorded | None = None
    notes: tuple[str, ...] = ()
    if from_mlflow is not None:
        from . import mlflow_source  # httpx is only needed here

        catalog_edit.require_model(cfg.root, model_name)
        found = mlflow_source.import_version(from_mlflow, tracking_uri=tracking_uri, uri=uri, version=version)
        uri, version, recorded, notes = found.uri, found.version, found.recorded, found.notes
    assert version is not None and uri is not None
    # the entry, whether it is written here or in the pull request's worktree
    edit: dict[str, Any] = {"uri": uri, "digest": digest, "metrics": metrics, "commit": commit,
                            "pipeline_run": pipeline_run, "dataset": dataset, "created": created,
                            "recorded": recorded}
    warnings: list[str] = []
    if pull_request:
        from . import register as register_module

        registration = register_module.register(cfg.root, model_name, version=version, remote=remote, base=base,
                                                forge=_forge_factory(cfg.root, remote), edit=edit)
        verb = "opened" if registration.created else "updated"
        done = f"pull request #{registration.pull_request.number} {verb}: {registration.pull_request.url}"
        warnings = registration.warnings
    else:
        path = catalog_edit.add_version(cfg.root, cfg, model_name, version=version, **edit)
        done = f"added {model_name} {version} to {path.relative_to(cfg.root).as_posix()}"
    for note in notes:
        click.echo(f"mlops: note: {note}", err=True)
    click.echo(done)
    for warning in warnings:
        click.echo(f"mlops: warning: {warning}", err=True)


@model.command("monitoring", epilog=EPILOG_EXIT)
@click.argument("models", nargs=-1, metavar="[MODEL]...")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a file is stale.")
@repo_option
@handle_errors
def model_monitoring_command(models: tuple[str, ...], check: bool, repo: Path | None) -> None:
    """Write models/MODEL/monitoring.yaml from the monitoring declaration in model.yaml.

    The file holds what each environment needs of the declaration: a ConfigMap with the TrustyAI
    requests (read by the PostSync hook of base/model-monitoring) and a PrometheusRule recording
    every threshold (read by the drift and fairness alerts). Without MODEL, every model of the
    catalog. Commit the file; `mlops validate` fails while it is stale. Exit 1 when a declaration
    has problems (nothing is written for it) or, with --check, when a file is stale.
    """
    from . import catalog as catalog_module
    from . import model_monitoring

    cfg = _load_config(repo)
    found, findings = catalog_module.load_catalog(cfg.root, cfg)
    known = catalog_module.known_model_names(cfg.root)
    for name in models:
        if name not in known:
            raise UsageError(f"no catalog entry models/{name}/model.yaml")
        if name not in found:
            bad = next((f for f in findings if f.file == catalog_module.catalog_path(name)), None)
            raise UsageError(bad.message if bad else "invalid catalog entry", file=catalog_module.catalog_path(name),
                             line=bad.line if bad else None)
    results = model_monitoring.generate(cfg.root, found, list(models) or sorted(found), write=not check)
    failed = False
    for result in results:
        detail = f": {result.detail}" if result.detail else ""
        click.echo(f"{result.state:8} {result.path}{detail}", err=result.state in ("stale", "orphan", "refused"))
        failed = failed or result.state in ("stale", "refused") or (check and result.state == "orphan")
    if failed:
        sys.exit(int(ExitCode.FINDINGS))


@main.group()
def schemas() -> None:
    """Manage JSON schemas of custom resources (import CRDs, sync for offline use)."""


@schemas.command("import", epilog=EPILOG_EXIT)
@click.argument("files", nargs=-1, required=True, metavar="FILE...|-")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas"),
              show_default=True, help="Folder to write GROUP/KIND_VERSION.json files into.")
@click.option("--strip-descriptions", is_flag=True,
              help="Leave out every description text: the structure validation needs, about a fifth of the size.")
@handle_errors
def schemas_import(files: tuple[str, ...], out: Path, strip_descriptions: bool) -> None:
    """Convert CustomResourceDefinition YAML into JSON schemas, one per served version.

    Read files (or `-` for stdin) holding CRDs, e.g. `oc get crd NAME -o yaml`. Unknown fields are
    rejected everywhere below the root unless the CRD marks an object
    x-kubernetes-preserve-unknown-fields; int-or-string becomes string-or-integer. Add the
    folder to schemaLocations in mlops.yaml to validate with it. The OpenShift AI kinds need no
    import: they are built in (`mlops schemas list`).
    """
    imported = []
    for name in files:
        if name == "-":
            text, source = sys.stdin.read(), "<stdin>"
        else:
            path = Path(name)
            try:
                raw = path.read_bytes()
            except OSError as error:
                raise MlopsError(f"cannot read: {error.strerror}", file=name) from None
            text, source = decode_utf8(raw, name), name
        imported += crd_import.load_crd_text(text, source)
    if not imported:
        raise MlopsError("no CustomResourceDefinition found in the input")
    if strip_descriptions:
        imported = [schema.structure_only() for schema in imported]
    for path in crd_import.write_schemas(imported, out):
        click.echo(f"wrote {path}")


@schemas.command("sync", epilog=EPILOG_EXIT)
@repo_option
@schema_options
@online_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write every schema into this folder (e.g. schemas/) to commit it.")
@handle_errors
def schemas_sync(repo: Path | None, schema_locations: tuple[str, ...], kubernetes_version: str | None,
                 offline: bool, online: bool, out: Path | None) -> None:
    """Fetch the schema of every custom kind the repository uses, for offline validation.

    Every target is rendered; each custom kind is looked up in the schema locations (URL answers
    land in the cache, ~/.cache/mlops/schemas or $MLOPS_CACHE_DIR). With --out the schemas are
    also written in GROUP/KIND_VERSION.json layout so a team can commit them and list the
    folder under schemaLocations. Exit 1 when a kind has no schema anywhere.
    """
    from .schemas.sync import sync_schemas

    cfg = _load_config(repo)
    store = _schema_store(cfg, schema_locations, kubernetes_version, offline, online)
    try:
        found, missing = sync_schemas(cfg, find_engine(), store, out)
    finally:
        store.lookup.close()
    for warning in dict.fromkeys(store.lookup.warnings):
        click.echo(f"mlops: warning: {warning}", err=True)
    for api_version, kind, source in found:
        click.echo(f"ok       {kind} {api_version}  ({source})")
    for api_version, kind in missing:
        click.echo(f"missing  {kind} {api_version}")
    sys.exit(int(ExitCode.FINDINGS if missing else ExitCode.OK))


@schemas.command("list", epilog=EPILOG_EXIT)
@click.option("--release", metavar="3.N", default=None,
              help="Show the platform kinds of this OpenShift AI release (default: every release).")
@handle_errors
def schemas_list(release: str | None) -> None:
    """List the built-in schemas: the custom resources `mlops validate` checks with no set-up.

    The platform kinds (DataScienceCluster, DSCInitialization, HardwareProfile, Auth,
    GatewayConfig) come once per OpenShift AI release; set `rhoaiVersion` in mlops.yaml to pick
    one. Every file's source is in the catalog's provenance.json.
    """
    catalog = builtin_catalog()
    if release is not None and release not in catalog.releases:
        raise MlopsError(f"no built-in schemas for OpenShift AI {release}; known: {', '.join(catalog.releases)}")
    for group, kind, version in sorted(catalog.kinds()):
        releases = catalog.releases_with(group, kind, version)
        if release is not None and releases and release not in releases:
            continue
        where = f"  (OpenShift AI {', '.join(releases)})" if releases else ""
        click.echo(f"{group}/{version} {kind}{where}")
