"""Where the GitHub token, API root and repository come from, in the order GitHub's tools use."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

PUBLIC_API = "https://api.github.com"


def discover_token(env: Mapping[str, str] | None = None) -> str | None:
    """GITHUB_TOKEN, then GH_TOKEN, then `gh auth token` (the GitHub CLI's login)."""
    env = os.environ if env is None else env
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        value = env.get(name, "").strip()
        if value:
            return value
    gh = shutil.which("gh", path=env.get("PATH"))
    if gh is None:
        return None
    try:
        completed = subprocess.run([gh, "auth", "token"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    token = completed.stdout.strip()
    return token if completed.returncode == 0 and token else None


def api_url_from_env(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("GITHUB_API_URL", "").strip() or PUBLIC_API


def repository_from_env(env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    value = env.get("GITHUB_REPOSITORY", "").strip()
    return value or None
