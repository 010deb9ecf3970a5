"""Since when a version runs in an environment, measured from a time the user's git cannot forge.

A commit's dates are whatever its author's git wrote (`GIT_COMMITTER_DATE` backdates one at
will), so a soak measured from them can be met the moment the commit is pushed. The merge of a
pull request is stamped by GitHub instead: its `merged_at`, and `merge_commit_sha`, the commit
the merge put on the base branch (the merge commit, the squashed commit, or the commit a rebase
moved the base to; "Get a pull request", https://docs.github.com/rest/pulls/pulls#get-a-pull-request).

So the pin's start is the first-parent commit on the base branch that made the pin name the
version, and its time is the `merged_at` of the merged pull request whose `merge_commit_sha` is
exactly that commit. Candidates come from the commit itself (the `#N` of GitHub's merge and
squash subjects) and from the promotion branch name; nothing else is trusted. When no such pull
request exists (a direct push, a history rewritten, a dry run that asks nobody), the committer
date is the fallback, labelled as such; a gate with `soak.source: pull-request` refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..git import Commit, Git

PULL_REQUEST = "pull-request"
ANY = "any"
SOURCES = (PULL_REQUEST, ANY)
_NUMBER = re.compile(r"#(\d+)\b")
_MERGE_SUBJECT = re.compile(r"^Merge pull request #\d+ from [^/\s]+/(\S+)")


class MergedPulls(Protocol):
    """What the lookup needs from a forge (`forge.github.GitHub`)."""

    def merged_pull_requests(self, head_branch: str, base: str) -> list[Any]: ...

    def get_pull_request(self, number: int) -> Any | None: ...


@dataclass(frozen=True)
class Since:
    """When a pin started, and where that time comes from (shown in the gate table)."""

    when: datetime
    source: str  # PULL_REQUEST, or "commit" for the committer date
    detail: str  # "merge of pull request #12", "committer date of 1a2b3c4d5e6f (no merged pull request ...)"

    @property
    def from_pull_request(self) -> bool:
        return self.source == PULL_REQUEST


def pin_commit(git: Git, ref: str, path: str, version: str, read_version: Any) -> Commit | None:
    """The first-parent commit on `ref` since which the pin at `path` names `version` (None if it does not now).

    `read_version(text)` is the pin reader (`catalog.pins.pin_version`).
    """
    start = None
    for commit in git.history(ref, path):
        if read_version(git.show(commit.sha, path)) != version:
            break
        start = commit
    return start


def _candidates(commit: Commit, branches: list[str]) -> tuple[list[int], list[str]]:
    numbers = [int(number) for number in _NUMBER.findall(commit.subject)]
    merged_from = _MERGE_SUBJECT.match(commit.subject)
    names = [*branches, merged_from.group(1)] if merged_from else list(branches)
    return list(dict.fromkeys(numbers)), list(dict.fromkeys(names))


def merged_pull_request(commit: Commit, base: str, branches: list[str], pulls: MergedPulls) -> Any | None:
    """The merged pull request into `base` whose merge put exactly `commit` on it, if any."""
    numbers, names = _candidates(commit, branches)

    def merged_here(pull: Any) -> bool:
        return pull is not None and pull.merged_at is not None and pull.base == base \
            and pull.merge_commit_sha == commit.sha

    for number in numbers:
        pull = pulls.get_pull_request(number)
        if merged_here(pull):
            return pull
    for name in names:
        for pull in pulls.merged_pull_requests(name, base):
            if merged_here(pull):
                return pull
    return None


def since(commit: Commit, base: str, branches: list[str], pulls: MergedPulls | None) -> Since:
    """The start of a pin: the merge time of its pull request, else the labelled committer date."""
    if pulls is not None:
        pull = merged_pull_request(commit, base, branches, pulls)
        if pull is not None:
            return Since(pull.merged_at, PULL_REQUEST, f"merge of pull request #{pull.number}")
        reason = f"no merged pull request put {commit.sha[:12]} on {base}"
    else:
        reason = "a dry run asks GitHub nothing"
    return Since(commit.date, "commit", f"committer date of {commit.sha[:12]}; {reason}")
