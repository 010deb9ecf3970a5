"""`mlops targets`: what `mlops validate` checks, and why."""

from __future__ import annotations

from pathlib import Path

import click

from ..check import describe_targets
from .group import EPILOG_EXIT, handle_errors, main


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
    click.echo(describe_targets(path, output_format), nl=False)
