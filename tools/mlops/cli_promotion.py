"""The commands that change the remote through pull requests, and the ones that read them back.

`promote`, `rollback` and `model add-version --pull-request` push a branch and open a pull
request; `comment` keeps one pull-request comment up to date; `status` and `model new-versions`
read what the pins and the catalog say. Each runs its core function inside
`stopping_at_safe_points`, so SIGINT, SIGTERM and SIGHUP stop it between two steps and the undo
runs, exactly as for a failed GitHub call. The commands are registered on `cli.main` when
`cli` imports this module.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import promote as promote_module
from . import status as status_module
from .cli import (
    EPILOG_EXIT,
    F,
    _load_config,
    _validator,
    handle_errors,
    main,
    repo_option,
    schema_options,
    stopping_at_safe_points,
)
from .diff import render_text
from .errors import GateFailed, MlopsError, UsageError
from .findings import ExitCode
from .git import Git
from .kustomize import find_engine
from .promote import Outcome, Plan


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
        click.echo(render_text(plan.changes, f"rendered changes in {plan.target.name}"), nl=False)
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
    with stopping_at_safe_points():
        _promotion(kind, model, environment, version, dry_run, remote, base, allow_breaking, output_format, cfg.root,
                   engine, validator)


def _promotion(kind: str, model: str, environment: str, version: str | None, dry_run: bool, remote: str,
               base: str, allow_breaking: bool, output_format: str, root: Path, engine: Any,
               validator: promote_module.Validator) -> None:
    try:
        if dry_run:
            plan = promote_module.plan_only(root, model, environment, version, remote=remote, base=base,
                                            allow_breaking=allow_breaking, kind=kind, engine=engine,
                                            validator=validator)
            _show_plan(plan, output_format, dry_run=True)
            sys.exit(int(ExitCode.OK if plan.passed else ExitCode.FINDINGS))
        outcome = promote_module.promote(root, model, environment, version, remote=remote, base=base,
                                         allow_breaking=allow_breaking, kind=kind, engine=engine,
                                         validator=validator, forge=_forge_factory(root, remote))
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
      soak       pinned in the previous environment on the base branch long enough, counted
                 from GitHub's merge time of the pull request that pinned it (the commit
                 date is a labelled fallback; a gate with soak.source: pull-request refuses it)
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
        with stopping_at_safe_points():
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

        with stopping_at_safe_points():
            registration = register_module.register(cfg.root, model_name, version=version, remote=remote,
                                                    base=base, forge=_forge_factory(cfg.root, remote), edit=edit)
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
