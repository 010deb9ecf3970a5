"""Fetch the base branch, push a branch with a lease and open its pull request, or undo it all.

Promotions, rollbacks and registrations end the same way: a commit made in a temporary worktree
is pushed to a branch of the remote and proposed by pull request. Either the pull request is
complete (opened or updated, with its labels and reviewers), or the remote is left exactly as
it was: whatever stops the run after the push (GitHub refusing, an answer that makes no sense,
SIGTERM from a cancelled CI job) deletes the pushed branch again, or resets it to what it was.
"""

from __future__ import annotations

import enum
import uuid
from typing import Any, Protocol

from .. import interrupt
from ..errors import MlopsError, OutsideError, UsageError
from ..git import Git


class Forge(Protocol):
    """What publishing needs from a pull-request API (GitHub first)."""

    def open_or_update_pull_request(self, *, head: str, base: str, title: str, body: str,
                                    labels: list[str], reviewers: list[str]) -> Any: ...


def fetch_base(git: Git, remote: str, base: str) -> str:
    """The base commit as the remote has it now, fetched into a private ref that is removed again."""
    if git.remote_url(remote) is None:
        raise UsageError(f"no git remote {remote!r}; pass --remote")
    scratch = f"refs/mlops/base-{uuid.uuid4().hex[:12]}"
    try:
        git.run("fetch", "--quiet", "--no-tags", "--refmap=", remote, f"+refs/heads/{base}:{scratch}",
                interruptible=True)
        sha = git.rev_parse(scratch)
    finally:
        git.cleanup("update-ref", "-d", scratch)
    if sha is None:
        raise OutsideError(f"could not fetch {base} from {remote}")
    return sha


def remote_branch_sha(git: Git, remote: str, branch: str) -> str | None:
    output = git.run("ls-remote", remote, f"refs/heads/{branch}", interruptible=True).strip()
    return output.split()[0] if output else None


class Undo(enum.Enum):
    """What undoing a push found on the remote."""

    NOTHING = "nothing was pushed"
    UNDONE = "undone"
    FAILED = "could not be undone"


def publish(git: Git, remote: str, local_branch: str, client: Forge, *, branch: str, base: str, title: str,
            body: str, labels: list[str], reviewers: list[str]) -> tuple[Any, bool]:
    """Push `local_branch` to `branch` on the remote and open or update its pull request.

    The push uses a lease on what the remote branch was a moment ago, so it never overwrites a
    push it has not seen, and runs to its end even when a signal arrives (a push cut in half
    leaves the remote in a state nobody knows). If anything stops the run after it, the push is
    undone: the branch is deleted, or reset to what it was.
    """
    previous_sha = remote_branch_sha(git, remote, branch)
    pushed_sha = git.rev_parse(local_branch) or ""
    # pushing to the URL, not the remote's name, leaves the user's remote-tracking refs alone
    target = git.run("remote", "get-url", "--push", remote).strip()
    keep = f"refs/mlops/previous-{uuid.uuid4().hex[:12]}" if previous_sha is not None else None
    try:
        if keep is not None:
            git.run("fetch", "--quiet", "--no-tags", "--refmap=", remote, f"+refs/heads/{branch}:{keep}",
                    interruptible=True)
        lease = f"--force-with-lease=refs/heads/{branch}:{previous_sha or ''}"
        interrupt.check()
        try:
            with interrupt.shielded():
                git.run("push", "--quiet", lease, target, f"{local_branch}:refs/heads/{branch}")
        except MlopsError:
            signum = interrupt.received()
            if signum is None:
                raise  # refused by the remote: nothing was pushed
            # the signal reached git as well (Ctrl-C goes to the process group): it may have landed
            raise _undone(interrupt.Interrupted(signum), git, remote, target, branch, pushed_sha, previous_sha,
                          keep) from None
        try:
            interrupt.check()
            pull_request, created = client.open_or_update_pull_request(head=branch, base=base, title=title,
                                                                       body=body, labels=labels, reviewers=reviewers)
            return pull_request, bool(created)
        except BaseException as error:
            raise _undone(error, git, remote, target, branch, pushed_sha, previous_sha, keep) from None
    finally:
        if keep is not None:
            git.cleanup("update-ref", "-d", keep)


def _undone(error: BaseException, git: Git, remote: str, target: str, branch: str, pushed_sha: str,
            previous_sha: str | None, keep: str | None) -> BaseException:
    """Undo the push; return the error to raise, its message saying what the undo did."""
    with interrupt.shielded():
        undo = _undo_push(git, target, branch, pushed_sha, previous_sha, keep)
    if not isinstance(error, Exception):
        return error  # SystemExit and the like, outside `mlops`: undone, passed on as they are
    if undo is Undo.FAILED:
        note = (f"the push of {branch} could NOT be undone: delete or reset that branch by hand "
                f"(git push {remote} --delete {branch})")
    elif undo is Undo.UNDONE:
        note = f"the push of {branch} was undone, nothing changed"
    else:
        note = "nothing was changed"
    if isinstance(error, interrupt.Interrupted):
        return interrupt.Interrupted(error.signum, f"interrupted by {interrupt.signal_name(error.signum)}; {note}")
    if isinstance(error, MlopsError):
        error.args = (f"{str(error).removesuffix('; nothing was changed')}; {note}",)
        return error
    return OutsideError(f"unexpected error: {type(error).__name__}: {error}; {note}")


def _undo_push(git: Git, target: str, branch: str, pushed_sha: str, previous_sha: str | None,
               keep: str | None) -> Undo:
    """Delete the branch, or reset it to what it was, only if it still is what this run pushed."""
    listed = git.probe("ls-remote", target, f"refs/heads/{branch}")
    if listed is None:
        return Undo.FAILED  # the remote cannot be seen: say so rather than guess
    current = listed.split()[0] if listed.strip() else None
    if current == previous_sha:
        return Undo.NOTHING
    if current != pushed_sha:
        return Undo.FAILED  # someone pushed after us; never overwrite their work
    lease = f"--force-with-lease=refs/heads/{branch}:{pushed_sha}"
    if previous_sha is None:
        done = git.cleanup("push", "--quiet", lease, target, "--delete", f"refs/heads/{branch}")
    else:
        done = keep is not None and git.cleanup("push", "--quiet", lease, target, f"{keep}:refs/heads/{branch}")
    return Undo.UNDONE if done else Undo.FAILED
