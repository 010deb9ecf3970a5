"""`mlops status` and `mlops comment`: what the pins and the open pull requests say, and the preview comment."""

from __future__ import annotations

from pathlib import Path

import click

from ..forge.comment import post_comment
from ..promotion.status import status_report
from .group import EPILOG_EXIT, handle_errors, main, repo_option


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
    click.echo(status_report(repo, remote, output_format), nl=False)


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
    url, created = post_comment(repo.resolve() if repo else Path.cwd(), remote, number, key, body_file, author)
    click.echo(f"comment {'posted' if created else 'updated'}: {url}")
