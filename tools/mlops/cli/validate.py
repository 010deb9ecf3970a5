"""`mlops validate`: render every environment, check every object, report the findings."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..check import CHANGED_DEFAULT, ValidateRequest, validate_repository
from ..report import FORMATS
from . import group


@group.main.command(epilog=group.EPILOG_EXIT)
@click.argument("environments", nargs=-1, metavar="[ENV]...")
@group.repo_option
@group.schema_options
@group.online_option
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
@group.handle_errors
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
    A render that takes longer than $MLOPS_RENDER_TIMEOUT seconds (default 300, 0: no limit) is
    reported as failed, and such a run is never kept.
    """
    report = validate_repository(ValidateRequest(
        environments, repo, group.schema_settings(schema_locations, kubernetes_version, offline, online), strict=strict,
        policies=policies, output_format=output_format, changed=changed, no_cache=no_cache,
        color=sys.stdout.isatty()))
    group.echo_lines(report.messages)
    click.echo(report.text, nl=False)
    group.finish(report.exit_code)
