"""`mlops promote` and `mlops rollback`: a version into an environment by pull request, gates first."""

from __future__ import annotations

from typing import Any

import click

from ..promotion.plan import PlanKind, Request
from ..promotion.run import run_promotion
from .group import (
    EPILOG_EXIT,
    F,
    echo_lines,
    finish,
    handle_errors,
    main,
    repo_option,
    schema_options,
    schema_settings,
)


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


def _promotion(kind: PlanKind, model: str, environment: str, version: str | None, options: dict[str, Any]) -> None:
    """The options both commands share (`promotion_options`) into one request; the plan comes before a failure."""
    request = Request(kind, model, environment, version, options["remote"], options["base"], options["allow_breaking"])
    schemas = schema_settings(options["schema_locations"], options["kubernetes_version"], options["offline"])
    result = run_promotion(options["repo"], request, dry_run=options["dry_run"], output_format=options["output_format"],
                           schemas=schemas)
    click.echo(result.text, nl=False)
    if result.failure is not None:
        raise result.failure
    echo_lines([f"mlops: warning: {warning}" for warning in result.warnings])
    finish(result.exit_code)


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
    _promotion(PlanKind.PROMOTE, model, environment, version, options)


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
    _promotion(PlanKind.ROLLBACK, model, environment, version, options)
