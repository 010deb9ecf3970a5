"""Git, driven through the `git` command, never touching the user's working tree.

Promotions edit files in a temporary worktree on a new branch, so the user's checkout, index
and uncommitted work stay exactly as they were whatever happens. The user's own git
configuration, credentials and hooks apply, because it is their `git`.

Every command first checks for a signal (`interrupt.check`), so a promotion stops between two
git steps, never inside one; network reads (`interruptible=True`) are ended at once with
SIGTERM, on which git removes its own lock files. Clean-ups run through `cleanup`, which no
signal can cut short.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import interrupt
from .errors import MlopsError, OutsideError, UsageError

GIT_TIMEOUT_SECONDS = 120
#: How often a network read looks for a signal, and how long git gets to exit after SIGTERM.
_POLL_SECONDS = 0.05
_TERMINATE_GRACE_SECONDS = 5


def run_process(argv: Sequence[str], *, cwd: Path, text: bool, input_data: Any = None,
                timeout: float = GIT_TIMEOUT_SECONDS, interruptible: bool = False) -> subprocess.CompletedProcess[Any]:
    """Run a command to its end; an `interruptible` one is stopped with SIGTERM when a signal arrives.

    Raises `FileNotFoundError` and `subprocess.TimeoutExpired` like `subprocess.run`, and
    `interrupt.Interrupted` when it stopped the command.
    """
    interrupt.check()
    if not interruptible or interrupt.is_shielded():
        return subprocess.run(list(argv), cwd=cwd, capture_output=True, text=text, timeout=timeout, check=False,
                              input=input_data)
    deadline = time.monotonic() + timeout
    with subprocess.Popen(list(argv), cwd=cwd, stdin=subprocess.PIPE if input_data is not None else None,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text) as process:
        while True:
            try:
                stdout, stderr = process.communicate(input_data, timeout=_POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                signum = interrupt.received()
                if signum is not None:
                    _stop(process)
                    raise interrupt.Interrupted(signum) from None
                if time.monotonic() > deadline:
                    _stop(process)
                    raise subprocess.TimeoutExpired(list(argv), timeout) from None
    return subprocess.CompletedProcess(list(argv), process.returncode, stdout, stderr)


def _stop(process: subprocess.Popen[Any]) -> None:
    """SIGTERM first (git deletes its lock files on it), SIGKILL if it does not go."""
    process.terminate()
    try:
        process.communicate(timeout=_TERMINATE_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


@dataclass(frozen=True)
class Commit:
    """A commit that touched a file: its id, committer date and subject."""

    sha: str
    date: datetime
    subject: str


class Git:
    """Runs git in one repository (the folder that holds the user's checkout)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _complete(self, args: tuple[str, ...], cwd: Path | None, text: bool, input_data: Any,
                  interruptible: bool) -> subprocess.CompletedProcess[Any]:
        try:
            return run_process(["git", *args], cwd=cwd or self.root, text=text, input_data=input_data,
                               interruptible=interruptible)
        except FileNotFoundError:
            raise OutsideError("git is not installed or not on PATH") from None
        except subprocess.TimeoutExpired:
            raise OutsideError(f"git {args[0]} did not finish in {GIT_TIMEOUT_SECONDS} s") from None

    def _failed(self, args: tuple[str, ...], stderr: str) -> MlopsError:
        signum = interrupt.received()
        if signum is not None and not interrupt.is_shielded():
            # the signal reached git too (Ctrl-C goes to the whole process group): say so
            return interrupt.Interrupted(signum)
        return OutsideError(f"git {' '.join(args[:2])} failed: {' '.join(stderr.split())}")

    def run(self, *args: str, cwd: Path | None = None, check: bool = True, input_text: str | None = None,
            interruptible: bool = False) -> str:
        completed = self._complete(args, cwd, True, input_text, interruptible)
        if check and completed.returncode != 0:
            raise self._failed(args, completed.stderr or completed.stdout)
        return str(completed.stdout)

    def run_bytes(self, *args: str) -> bytes:
        """Like `run`, for commands whose output is binary (git archive)."""
        completed = self._complete(args, None, False, None, False)
        if completed.returncode != 0:
            raise self._failed(args, completed.stderr.decode(errors="replace"))
        return bytes(completed.stdout)

    def ok(self, *args: str, cwd: Path | None = None) -> bool:
        try:
            completed = run_process(["git", *args], cwd=cwd or self.root, text=True)
        except (FileNotFoundError, subprocess.TimeoutExpired):
            return False
        return completed.returncode == 0

    def probe(self, *args: str) -> str | None:
        """The output of a read that a clean-up depends on (never cut short); None when git failed."""
        with interrupt.shielded():
            try:
                completed = run_process(["git", *args], cwd=self.root, text=True)
            except (FileNotFoundError, subprocess.TimeoutExpired):
                return None
        return str(completed.stdout) if completed.returncode == 0 else None

    def cleanup(self, *args: str, cwd: Path | None = None) -> bool:
        """A clean-up step: never cut short by a signal, never raising; True when git succeeded."""
        with interrupt.shielded():
            return self.ok(*args, cwd=cwd)

    def work_tree_top(self) -> Path | None:
        """The top folder of the work tree holding the root; None outside one (a bare repository, `.git`).

        One git start: `--show-toplevel` fails wherever there is no work tree, which is what
        `--is-inside-work-tree` (true, or false inside `.git`) would be asked first for.
        """
        try:
            completed = run_process(["git", "rev-parse", "--show-toplevel"], cwd=self.root, text=True)
        except (FileNotFoundError, subprocess.TimeoutExpired):
            return None
        top = str(completed.stdout).strip()
        return Path(top) if completed.returncode == 0 and top else None

    def toplevel(self) -> Path:
        top = self.work_tree_top()
        if top is None:
            raise UsageError(f"{self.root} is not inside a git repository")
        return top

    def prefix_of(self, folder: Path) -> str:
        """Where `folder` sits inside the repository, as git paths start: "" or "sub/folder/"."""
        relative = folder.resolve().relative_to(self.toplevel().resolve()).as_posix()
        return "" if relative == "." else f"{relative}/"

    def rev_parse(self, ref: str) -> str | None:
        if not self.ok("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"):
            return None
        return self.run("rev-parse", "--verify", f"{ref}^{{commit}}").strip()

    def branch_exists(self, branch: str) -> bool:
        return self.ok("show-ref", "--verify", "--quiet", f"refs/heads/{branch}")

    def remote_url(self, remote: str) -> str | None:
        if not self.ok("remote", "get-url", remote):
            return None
        return self.run("remote", "get-url", remote).strip()

    def show(self, ref: str, path: str) -> str | None:
        """A file's content at a commit, or None when it does not exist there."""
        if not self.ok("cat-file", "-e", f"{ref}:{path}"):
            return None
        return self.run("show", f"{ref}:{path}")

    def history(self, ref: str, path: str) -> list[Commit]:
        """Commits on `ref` that changed `path`, newest first (first-parent, so merges count once)."""
        output = self.run("log", "--first-parent", "--format=%H%x09%cI%x09%s", ref, "--", path)
        commits = []
        for line in output.splitlines():
            sha, date, subject = line.split("\t", 2)
            commits.append(Commit(sha, datetime.fromisoformat(date), subject))
        return commits

    def state(self) -> str:
        """A fingerprint of the user's checkout: HEAD, every ref (branches, tags, stash, remote-tracking
        and private ones), the local config, worktrees, index and working tree.

        Tests compare it before and after a promotion to prove nothing of the user's moved, and
        that no temporary ref was left behind.
        """
        parts = [
            self.run("rev-parse", "HEAD", check=False),
            self.run("symbolic-ref", "--quiet", "HEAD", check=False),
            self.run("for-each-ref", "--format=%(refname) %(objectname)"),
            self.run("config", "--local", "--list", check=False),
            self.run("worktree", "list", "--porcelain"),
            self.run("status", "--porcelain=v1", "--untracked-files=all"),
            self.run("diff"),
            self.run("diff", "--cached"),
        ]
        return "\n--\n".join(parts)

    @contextlib.contextmanager
    def worktree(self, base: str, branch: str) -> Iterator[Path]:
        """A temporary worktree with a new `branch` created at `base`.

        The worktree is always removed. The branch stays when the block succeeds (it holds the
        commit that was pushed); any exception deletes it, so a failed promotion leaves no trace.
        """
        scratch = Path(tempfile.mkdtemp(prefix="mlops-worktree-"))
        folder = scratch / "tree"
        created = False
        try:
            self.run("worktree", "add", "--quiet", "-b", branch, str(folder), base)
            created = True
            yield folder
        except BaseException:
            if created:
                self._remove_worktree(folder)
                self.cleanup("branch", "-D", branch)
                created = False
            raise
        finally:
            if created:
                self._remove_worktree(folder)
            shutil.rmtree(scratch, ignore_errors=True)

    @contextlib.contextmanager
    def snapshot(self, ref: str) -> Iterator[Path]:
        """A temporary read-only look at the repository at `ref` (a detached worktree)."""
        if self.rev_parse(ref) is None:
            raise UsageError(f"unknown git revision {ref!r}")
        scratch = Path(tempfile.mkdtemp(prefix="mlops-snapshot-"))
        folder = scratch / "tree"
        try:
            self.run("worktree", "add", "--quiet", "--detach", str(folder), ref)
            yield folder
        finally:
            self._remove_worktree(folder)
            shutil.rmtree(scratch, ignore_errors=True)

    def _remove_worktree(self, folder: Path) -> None:
        self.cleanup("worktree", "remove", "--force", str(folder))
        self.cleanup("worktree", "prune")
