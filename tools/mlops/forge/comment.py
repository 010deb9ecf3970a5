"""`mlops comment` as one call: read the Markdown, check that GitHub will take it, post or edit the one comment.

The comment starts with a hidden marker of its key, so a second run edits it instead of adding
another; GitHub refuses a body over `MAX_BODY` characters, so a body that would not fit with its
marker is refused here, before anything is sent.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .. import interrupt
from ..errors import UsageError
from . import connect


def read_body(body_file: str, key: str) -> str:
    """The comment's Markdown from a file or stdin (`-`), refused when empty or too long for GitHub."""
    from .github import MAX_BODY, comment_marker

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
    return body


def post_comment(root: Path, remote: str, number: int, key: str, body_file: str,
                 author: str | None) -> tuple[str, bool]:
    """Post the comment on pull request `number`, or edit the one posted before; its URL and whether it is new."""
    body = read_body(body_file, key)
    client = connect(root, remote)
    try:
        with interrupt.safe_points_of_a_command():
            return client.upsert_comment(number, key, body, author)
    finally:
        client.close()
