"""The pull-request API of a forge (GitHub first) and where its token comes from.

`connect` is the one way a command reaches the forge: repository, API and token are found the
same way for promote, rollback, register, status and comment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MlopsError
from ..git import Git

if TYPE_CHECKING:
    from .github import GitHub


def connect(root: Path, remote: str) -> GitHub:
    """A client for the GitHub repository of `root`: from GITHUB_REPOSITORY, else the URL of `remote`.

    The HTTP client is imported here, so that commands which never talk to GitHub do not load it;
    a missing repository or token is an error before anything is changed.
    """
    from .github import GitHub, repository_from_remote_url
    from .token import api_url_from_env, discover_token, repository_from_env

    repository = repository_from_env() or repository_from_remote_url(Git(root).remote_url(remote) or "")
    if not repository:
        raise MlopsError(f"cannot tell the GitHub repository: set GITHUB_REPOSITORY=owner/name or point "
                         f"remote {remote!r} at GitHub")
    token = discover_token()
    if not token:
        raise MlopsError("no GitHub token: set GITHUB_TOKEN or GH_TOKEN, or log in with `gh auth login`")
    return GitHub(repository, token, api_url=api_url_from_env())


def connector(root: Path, remote: str) -> Callable[[], GitHub]:
    """`connect` deferred: promote and register call it once they know the work can start."""
    return lambda: connect(root, remote)
