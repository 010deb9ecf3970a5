"""A small GitHub REST client: just what a promotion needs, with one-line errors.

Requests follow GitHub's OpenAPI description (the tests check every request against it). Every
failure becomes an `OutsideError` naming the method, the path and what GitHub said, so the
promotion can undo its push and tell the user what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from .. import __version__
from ..errors import OutsideError

PUBLIC_API = "https://api.github.com"
#: The account of the token GitHub Actions gives a workflow (GITHUB_TOKEN).
ACTIONS_BOT = "github-actions[bot]"
MAX_BODY = 65_536
_REMOTE = re.compile(r"^(?:https?://|ssh://)?(?:[^@/]+@)?[^/:]+[:/](?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    head: str
    base: str
    title: str
    state: str
    labels: tuple[str, ...]


def repository_from_remote_url(url: str) -> str | None:
    """`owner/name` from an https, ssh or scp-like git URL (GitHub or GitHub Enterprise)."""
    match = _REMOTE.match(url.strip())
    if not match or url.startswith(("/", ".", "file:")):
        return None
    return f"{match.group('owner')}/{match.group('name')}"


def comment_marker(key: str) -> str:
    """The hidden first line that identifies a comment `mlops comment` keeps up to date."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", key):
        raise ValueError(f"comment key {key!r} must be letters, digits, '.', '_' or '-'")
    return f"<!-- mlops:{key} -->"


def web_root(api_url: str) -> str:
    """The web address behind an API root: api.github.com -> github.com, GHE's /api/v3 -> the host."""
    configured = os.environ.get("GITHUB_SERVER_URL", "").strip()
    if configured:
        return configured.rstrip("/")
    if api_url.rstrip("/") == PUBLIC_API:
        return "https://github.com"
    return api_url.rstrip("/").removesuffix("/api/v3")


def _pull(data: dict[str, Any]) -> PullRequest:
    return PullRequest(
        number=int(data["number"]), url=str(data.get("html_url", "")), head=str(data["head"]["ref"]),
        base=str(data["base"]["ref"]), title=str(data.get("title", "")), state=str(data.get("state", "")),
        labels=tuple(str(label.get("name")) for label in data.get("labels") or []),
    )


class GitHub:
    """Pull requests of one repository."""

    def __init__(self, repository: str, token: str, api_url: str = PUBLIC_API,
                 client: httpx.Client | None = None, timeout: float = 30) -> None:
        if repository.count("/") != 1:
            raise OutsideError(f"GitHub repository {repository!r} is not owner/name")
        self.repository = repository
        self.owner = repository.split("/")[0]
        self._client = client or httpx.Client(timeout=timeout)
        self._base = api_url.rstrip("/")
        self.web_url = f"{web_root(self._base)}/{repository}"
        self._headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"mlops/{__version__}",
        }
        self.warnings: list[str] = []

    def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                 json: Any = None) -> Any:
        try:
            response = self._client.request(method, self._base + path, params=params, json=json,
                                             headers=self._headers)
        except httpx.HTTPError as error:
            raise OutsideError(f"GitHub {method} {path} failed: {type(error).__name__}: {error}") from None
        if response.status_code >= 400:
            raise OutsideError(self._describe(method, path, response))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _describe(self, method: str, path: str, response: httpx.Response) -> str:
        try:
            data = response.json()
        except ValueError:
            data = {}
        message = str(data.get("message", "")) if isinstance(data, dict) else ""
        details = [str(e.get("message") or e.get("code")) for e in data.get("errors", []) if isinstance(e, dict)] \
            if isinstance(data, dict) else []
        said = "; ".join(part for part in [message, *details] if part) or response.reason_phrase
        status = response.status_code
        if status in (401, 403):
            hint = "check that GITHUB_TOKEN (or GH_TOKEN) is valid and may write pull requests"
        elif status == 404:
            hint = f"check that {self.repository} exists and the token can see it"
        elif status >= 500:
            hint = "GitHub failed; try again later"
        else:
            hint = "GitHub refused the request"
        return f"GitHub {method} {path} answered {status}: {said}; {hint}"

    def get_repository(self) -> dict[str, Any]:
        data: dict[str, Any] = self._request("GET", f"/repos/{self.repository}")
        return data

    def find_open_pull_request(self, head_branch: str, base: str) -> PullRequest | None:
        data = self._request("GET", f"/repos/{self.repository}/pulls",
                             params={"state": "open", "head": f"{self.owner}:{head_branch}", "base": base})
        # filter again: a proxy or an older GitHub Enterprise may ignore the query parameters
        matching = [_pull(item) for item in data or [] if isinstance(item, dict)]
        return next((p for p in matching if p.head == head_branch and p.base == base), None)

    def list_open_pull_requests(self, head_prefix: str | None = None) -> list[PullRequest]:
        pulls = [_pull(item) for item in self._request("GET", f"/repos/{self.repository}/pulls",
                                                        params={"state": "open", "per_page": 100})]
        return [p for p in pulls if head_prefix is None or p.head.startswith(head_prefix)]

    def open_or_update_pull_request(self, *, head: str, base: str, title: str, body: str,
                                    labels: Sequence[str], reviewers: Sequence[str]) -> tuple[PullRequest, bool]:
        """Open a pull request, or update the open one for the same branch (idempotent)."""
        if len(body) > MAX_BODY:
            raise ValueError(f"pull request body has {len(body)} characters; GitHub accepts {MAX_BODY}")
        existing = self.find_open_pull_request(head, base)
        if existing is None:
            data = self._request("POST", f"/repos/{self.repository}/pulls",
                                 json={"title": title, "head": head, "base": base, "body": body})
            created = True
        else:
            data = self._request("PATCH", f"/repos/{self.repository}/pulls/{existing.number}",
                                 json={"title": title, "body": body})
            created = False
        pull = _pull(data)
        if labels:
            self._request("POST", f"/repos/{self.repository}/issues/{pull.number}/labels",
                          json={"labels": list(labels)})
        self._request_reviewers(pull.number, reviewers)
        pull = PullRequest(pull.number, pull.url, pull.head, pull.base, pull.title, pull.state,
                           tuple(dict.fromkeys([*pull.labels, *labels])))
        return pull, created

    def _request_reviewers(self, number: int, reviewers: Sequence[str]) -> None:
        """Logins go to `reviewers`, `org/team` to `team_reviewers`; a 4xx refusal is a warning only."""
        users = [r for r in reviewers if "/" not in r]
        teams = [r.split("/", 1)[1] for r in reviewers if "/" in r]
        if not users and not teams:
            return
        payload: dict[str, Any] = {}
        if users:
            payload["reviewers"] = users
        if teams:
            payload["team_reviewers"] = teams
        try:
            self._request("POST", f"/repos/{self.repository}/pulls/{number}/requested_reviewers", json=payload)
        except OutsideError as error:
            # the pull request exists already; a reviewer GitHub refuses (not a collaborator, an
            # unknown team) must not undo it
            if not re.search(r" answered 4\d\d", str(error)):
                raise
            self.warnings.append(f"reviewers not requested: {error}")

    def authenticated_login(self) -> str:
        """The account the token acts as; the workflow token (which may not read /user) is github-actions[bot]."""
        try:
            data = self._request("GET", "/user")
        except OutsideError as error:
            if re.search(r" answered 40[13]", str(error)):
                return ACTIONS_BOT
            raise
        return str(data.get("login", ""))

    def upsert_comment(self, number: int, key: str, body: str, author: str | None = None) -> tuple[str, bool]:
        """Post the comment of `key` on pull request `number`, or edit the one `author` posted before.

        The comment carries a hidden marker naming `key`, so a workflow that runs on every push
        keeps exactly one comment up to date instead of adding one per push. Only a comment by
        `author` (default: the token's account) counts: anyone can write the marker into a
        comment of their own, and the preview must never land in, or depend on, theirs.
        Returns the comment's address and whether it was created.
        """
        marker = comment_marker(key)
        text = f"{marker}\n{body}"
        if len(text) > MAX_BODY:
            raise ValueError(f"comment has {len(text)} characters; GitHub accepts {MAX_BODY}")
        existing = self._find_comment(number, marker, author or self.authenticated_login())
        if existing is None:
            data = self._request("POST", f"/repos/{self.repository}/issues/{number}/comments", json={"body": text})
            return str(data.get("html_url", "")), True
        data = self._request("PATCH", f"/repos/{self.repository}/issues/comments/{existing}", json={"body": text})
        return str(data.get("html_url", "")), False

    def _find_comment(self, number: int, marker: str, author: str) -> int | None:
        """The id of the first comment by `author` that starts with `marker`, looking through every page."""
        page = 1
        while True:
            data = self._request("GET", f"/repos/{self.repository}/issues/{number}/comments",
                                 params={"per_page": 100, "page": page})
            items = [item for item in data or [] if isinstance(item, dict)]
            for item in items:
                login = str((item.get("user") or {}).get("login", ""))
                if login.lower() == author.lower() and str(item.get("body") or "").startswith(marker):
                    return int(item["id"])
            if len(items) < 100:
                return None
            page += 1

    def close(self) -> None:
        self._client.close()
