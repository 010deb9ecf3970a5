"""A small GitHub REST client: just what a promotion needs, with one-line errors.

Requests follow GitHub's OpenAPI description (the tests check every request against it). Every
failure becomes an `OutsideError` naming the method, the path and what GitHub said, so the
promotion can undo its push and tell the user what to do; so does an answer that is not the
documented JSON (`answers`). Reads may be cut short by a signal; opening a pull request with its
labels and reviewers, or posting a comment, is shielded: it completes, or is reverted when
GitHub fails half-way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from .. import __version__, interrupt
from ..errors import MlopsError, OutsideError
from .answers import as_list, as_object, field, json_body, timestamp

PUBLIC_API = "https://api.github.com"
#: The account of the token GitHub Actions gives a workflow (GITHUB_TOKEN).
ACTIONS_BOT = "github-actions[bot]"
MAX_BODY = 65_536
_REMOTE = re.compile(r"^(?:https?://|ssh://)?(?:[^@/]+@)?[^/:]+[:/](?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class PullRequest:
    """The fields of a pull request `mlops` reads (GitHub's `pull-request` and `pull-request-simple`)."""

    number: int
    url: str
    head: str
    base: str
    title: str
    state: str
    labels: tuple[str, ...]
    body: str | None = None
    #: when it was merged, and the commit the merge put on the base branch: the merge commit, the
    #: squashed commit, or the commit a rebase moved the base to ("Get a pull request",
    #: https://docs.github.com/rest/pulls/pulls#get-a-pull-request)
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None


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


def _pull(item: Any, response: httpx.Response) -> PullRequest:
    what = "a pull request"
    data = as_object(item, response, what)
    labels = data.get("labels") or []
    return PullRequest(
        number=field(data, "number", int, response, what), url=str(data.get("html_url") or ""),
        head=field(data, "head.ref", str, response, what), base=field(data, "base.ref", str, response, what),
        title=str(data.get("title") or ""), state=str(data.get("state") or ""),
        labels=tuple(str(label.get("name")) for label in labels if isinstance(label, dict))
        if isinstance(labels, list) else (),
        body=data.get("body") if isinstance(data.get("body"), str) else None,
        merged_at=timestamp(data.get("merged_at"), "merged_at", response),
        merge_commit_sha=data.get("merge_commit_sha") if isinstance(data.get("merge_commit_sha"), str) else None,
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

    def _send(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              json: Any = None) -> tuple[Any, httpx.Response]:
        """One request: its decoded JSON and the response (for error messages)."""
        try:
            with interrupt.cut_short():
                response = self._client.request(method, self._base + path, params=params, json=json,
                                                 headers=self._headers)
        except httpx.HTTPError as error:
            raise OutsideError(f"GitHub {method} {path} failed: {type(error).__name__}: {error}") from None
        if response.status_code >= 400:
            raise OutsideError(self._describe(method, path, response))
        return json_body(response, self._base), response

    def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                 json: Any = None) -> Any:
        return self._send(method, path, params=params, json=json)[0]

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
        data, response = self._send("GET", f"/repos/{self.repository}")
        return as_object(data, response, "a repository")

    def _pulls(self, params: dict[str, Any]) -> list[PullRequest]:
        data, response = self._send("GET", f"/repos/{self.repository}/pulls", params=params)
        return [_pull(item, response) for item in as_list(data, response, "pull requests")]

    def find_open_pull_request(self, head_branch: str, base: str) -> PullRequest | None:
        pulls = self._pulls({"state": "open", "head": f"{self.owner}:{head_branch}", "base": base})
        # filter again: a proxy or an older GitHub Enterprise may ignore the query parameters
        return next((p for p in pulls if p.head == head_branch and p.base == base), None)

    def list_open_pull_requests(self, head_prefix: str | None = None) -> list[PullRequest]:
        pulls = self._pulls({"state": "open", "per_page": 100})
        return [p for p in pulls if head_prefix is None or p.head.startswith(head_prefix)]

    def merged_pull_requests(self, head_branch: str, base: str) -> list[PullRequest]:
        """Closed pull requests from `head_branch` into `base` that were merged (newest first)."""
        pulls = self._pulls({"state": "closed", "head": f"{self.owner}:{head_branch}", "base": base,
                             "per_page": 100})
        return [p for p in pulls if p.head == head_branch and p.base == base and p.merged_at is not None]

    def get_pull_request(self, number: int) -> PullRequest | None:
        """One pull request by number; None when GitHub has none by that number."""
        try:
            data, response = self._send("GET", f"/repos/{self.repository}/pulls/{number}")
        except OutsideError as error:
            if " answered 404" in str(error):
                return None
            raise
        return _pull(data, response)

    def open_or_update_pull_request(self, *, head: str, base: str, title: str, body: str,
                                    labels: Sequence[str], reviewers: Sequence[str]) -> tuple[PullRequest, bool]:
        """Open a pull request, or update the open one for the same branch (idempotent).

        Once the pull request is being opened, a signal waits until its labels and reviewers are
        set too; if GitHub fails half-way, the pull request is closed again (or its title and body
        restored), so there is never a pull request without its labels.
        """
        if len(body) > MAX_BODY:
            raise ValueError(f"pull request body has {len(body)} characters; GitHub accepts {MAX_BODY}")
        existing = self.find_open_pull_request(head, base)
        with interrupt.shielded():
            if existing is None:
                data, response = self._send("POST", f"/repos/{self.repository}/pulls",
                                            json={"title": title, "head": head, "base": base, "body": body})
                created = True
            else:
                data, response = self._send("PATCH", f"/repos/{self.repository}/pulls/{existing.number}",
                                            json={"title": title, "body": body})
                created = False
            pull = _pull(data, response)
            try:
                if labels:
                    self._request("POST", f"/repos/{self.repository}/issues/{pull.number}/labels",
                                  json={"labels": list(labels)})
                self._request_reviewers(pull.number, reviewers)
            except MlopsError as error:
                error.args = (f"{error}; {self._revert(pull, existing)}",)
                raise
        return replace(pull, labels=tuple(dict.fromkeys([*pull.labels, *labels]))), created

    def _revert(self, pull: PullRequest, previous: PullRequest | None) -> str:
        """Undo what `open_or_update_pull_request` did before GitHub failed; says what it did."""
        path = f"/repos/{self.repository}/pulls/{pull.number}"
        try:
            if previous is None:
                self._request("PATCH", path, json={"state": "closed"})
                return f"pull request #{pull.number} was closed again"
            self._request("PATCH", path, json={"title": previous.title, "body": previous.body or ""})
            return f"the title and body of pull request #{pull.number} were restored"
        except MlopsError:
            return f"pull request #{pull.number} could NOT be reverted: check it by hand ({pull.url})"

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
            data, response = self._send("POST", f"/repos/{self.repository}/pulls/{number}/requested_reviewers",
                                        json=payload)
            as_object(data, response, "a pull request")
        except OutsideError as error:
            # the pull request exists already; a reviewer GitHub refuses (not a collaborator, an
            # unknown team) must not undo it
            if not re.search(r" answered 4\d\d", str(error)):
                raise
            self.warnings.append(f"reviewers not requested: {error}")

    def authenticated_login(self) -> str:
        """The account the token acts as; the workflow token (which may not read /user) is github-actions[bot]."""
        try:
            data, response = self._send("GET", "/user")
        except OutsideError as error:
            if re.search(r" answered 40[13]:", str(error)):
                return ACTIONS_BOT
            raise
        return str(field(as_object(data, response, "a user"), "login", str, response, "a user"))

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
        with interrupt.shielded():  # one request: it is sent, or never was
            if existing is None:
                data, response = self._send("POST", f"/repos/{self.repository}/issues/{number}/comments",
                                            json={"body": text})
            else:
                data, response = self._send("PATCH", f"/repos/{self.repository}/issues/comments/{existing}",
                                            json={"body": text})
        return str(as_object(data, response, "an issue comment").get("html_url") or ""), existing is None

    def _find_comment(self, number: int, marker: str, author: str) -> int | None:
        """The id of the first comment by `author` that starts with `marker`, looking through every page."""
        page = 1
        while True:
            data, response = self._send("GET", f"/repos/{self.repository}/issues/{number}/comments",
                                        params={"per_page": 100, "page": page})
            items = as_list(data, response, "issue comments")
            for item in items:
                user = item.get("user")
                login = str(user.get("login") or "") if isinstance(user, dict) else ""
                if login.lower() == author.lower() and str(item.get("body") or "").startswith(marker):
                    return int(field(item, "id", int, response, "an issue comment"))
            if len(items) < 100:
                return None
            page += 1

    def close(self) -> None:
        self._client.close()
