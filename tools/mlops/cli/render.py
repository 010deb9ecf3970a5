"""`mlops render` and `mlops diff`: what kustomize renders for an environment, and what differs."""

from __future__ import annotations

from pathlib import Path

import click

from ..preview import diff_environments, render_environments
from .group import EPILOG_EXIT, echo_lines, finish, handle_errors, main, repo_option


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
    rendered = render_environments(repo, environments, out)
    click.echo(rendered.text, nl=False)
    echo_lines(rendered.messages)
    finish(rendered.exit_code)


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
    report = diff_environments(repo, environments, base, output_format)
    click.echo(report.text, nl=False)
    echo_lines(report.messages)
    finish(report.exit_code)
