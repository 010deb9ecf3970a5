"""SIGTERM, SIGINT and SIGHUP at every step of a promotion, a rollback, a registration and a comment.

The real `mlops` runs as a subprocess against a bare git remote in tmp_path and the GitHub
stand-in. Each step is made to wait, deterministically, until the test has sent the signal: git
steps through a `git` on PATH that waits before it runs the real one, the render through
`$KUSTOMIZE`, the push through the repository's own pre-push hook, GitHub calls through a request
the stand-in holds. Then either everything is as it was (the checkout's HEAD, branches, stash,
worktrees, status and config, the remote's refs, no pull request, no temporary folder), or the
pull request is complete: never anything in between.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import mlops
from github_standin import github  # noqa: F401 - the fixture
from mlops.git import Git
from mlops.kustomize import find_engine
from test_promote import remote_refs, workspace  # noqa: F401 - the fixture
from test_register import ARGS as REGISTER_ARGS
from test_render_stop import another_thread, asleep

pytestmark = pytest.mark.slow

SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT, "SIGHUP": signal.SIGHUP}
WAIT_SECONDS = 60


@dataclass(frozen=True)
class Step:
    """Where a run is made to wait: a git subcommand, the render, the push, or a GitHub request."""

    name: str
    kind: str  # "git" | "render" | "push" | "http"
    git_command: str = ""
    method: str = ""
    path: str = ""
    #: True when the signal arrives after the pull request started: it is completed, not undone
    completes: bool = False


FETCH = Step("fetch the base", "git", git_command="fetch")
ARCHIVE = Step("extract the base", "git", git_command="archive")
WORKTREE = Step("add the worktree", "git", git_command="worktree")
RENDER = Step("render before and after", "render")
COMMIT = Step("commit", "git", git_command="commit")
LS_REMOTE = Step("look up the remote branch", "git", git_command="ls-remote")
PUSH = Step("push", "push")
FIND = Step("find the open pull request", "http", method="GET", path=r"/pulls$")
OPEN = Step("open the pull request", "http", method="POST", path=r"/pulls$", completes=True)
LABEL = Step("label it", "http", method="POST", path=r"/labels$", completes=True)
REVIEWERS = Step("request reviewers", "http", method="POST", path=r"/requested_reviewers$", completes=True)

PROMOTE_STEPS = [FETCH, ARCHIVE, WORKTREE, RENDER, COMMIT, LS_REMOTE, PUSH, FIND, OPEN, LABEL, REVIEWERS]
ROLLBACK_STEPS = [FETCH, ARCHIVE, WORKTREE, RENDER, COMMIT, LS_REMOTE, PUSH, FIND, OPEN, LABEL]
REGISTER_STEPS = [FETCH, WORKTREE, COMMIT, LS_REMOTE, PUSH, FIND, OPEN, LABEL]
COMMENT_STEPS = [Step("look up the token's account", "http", method="GET", path=r"^/user$"),
                 Step("find the earlier comment", "http", method="GET", path=r"/comments$"),
                 Step("post the comment", "http", method="POST", path=r"/comments$", completes=True)]


def cases(steps: list[Step], every_signal_at: set[Step] | None = None) -> list[Any]:
    """Each step with SIGTERM; with SIGINT and SIGHUP too at `every_signal_at` (default: every step)."""
    chosen = []
    for step in steps:
        names = SIGNALS if every_signal_at is None or step in every_signal_at else {"SIGTERM": signal.SIGTERM}
        chosen += [pytest.param(step, signum, id=f"{name}-{step.name.replace(' ', '-')}")
                   for name, signum in names.items()]
    return chosen


class Harness:
    """Makes one step of one `mlops` run wait until the test has signalled it."""

    def __init__(self, tmp_path: Path, clone: Path, github: Any) -> None:  # noqa: F811
        self.clone, self.github = clone, github
        self.flags = tmp_path / "flags"
        self.flags.mkdir()
        self.tmp = tmp_path / "tmp"  # TMPDIR of the run: must be empty again afterwards
        self.tmp.mkdir()
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        wait = (f'mkdir "{self.flags}/reached" 2>/dev/null && '
                f'while [ ! -e "{self.flags}/release" ]; do sleep 0.02; done')
        real_git = shutil.which("git")
        assert real_git is not None
        self._script("git", f'if [ "$1" = "$MLOPS_TEST_WAIT_GIT" ]; then {wait}; fi\nexec {real_git} "$@"\n')
        engine = " ".join(f"'{part}'" for part in find_engine().command)
        self._script("kustomize-that-waits", f'{wait}\nexec {engine} "$2"\n')
        self.env = {**os.environ, "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(self.tmp),
                    "PYTHONPATH": os.pathsep.join([str(Path(mlops.__file__).parents[1]),
                                                   os.environ.get("PYTHONPATH", "")])}
        self.env.pop("MLOPS_TEST_WAIT_GIT", None)
        self.env.pop("KUSTOMIZE", None)
        self._reached: Callable[[], bool] = lambda: False
        self._release: Callable[[], None] = lambda: None

    def _script(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
        path.chmod(0o755)

    def arm(self, step: Step) -> None:
        if step.kind == "http":
            held = self.github.hold(step.method, step.path)
            self._reached, self._release = held.reached.is_set, held.release.set
            return
        self._reached = (self.flags / "reached").exists
        self._release = lambda: (self.flags / "release").touch()
        if step.kind == "git":
            self.env["MLOPS_TEST_WAIT_GIT"] = step.git_command
        elif step.kind == "render":
            self.env["KUSTOMIZE"] = str(self.bin / "kustomize-that-waits")
        else:  # the user's own pre-push hook runs inside `git push`, after it has connected to the remote
            hook = self.clone / ".git" / "hooks" / "pre-push"
            hook.write_text(f'#!/bin/sh\nmkdir "{self.flags}/reached" 2>/dev/null && '
                            f'while [ ! -e "{self.flags}/release" ]; do sleep 0.02; done\nexit 0\n',
                            encoding="utf-8")
            hook.chmod(0o755)

    def run(self, args: list[str], signals: list[int], *, group: bool = False, stdin: str | None = None,
            release: bool = True, to_another_thread: bool = False) -> subprocess.CompletedProcess[str]:
        """Start `mlops ARGS`, wait for the armed step, send `signals`, let the step go on, wait for the end.

        `release=False` never lets the step go on: only the signal may end it. `to_another_thread`
        waits until `mlops` is asleep, waiting for the armed step alone, and has a thread other than
        the main one take the signal.
        """
        source = self.flags / "stdin"
        source.write_text(stdin or "", encoding="utf-8")
        with source.open(encoding="utf-8") as stdin_file:
            process = subprocess.Popen([sys.executable, "-m", "mlops", *args], env=self.env, text=True,
                                       stdin=stdin_file, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       start_new_session=group)
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while not self._reached():
                if process.poll() is not None or time.monotonic() > deadline:
                    stdout, stderr = process.communicate()
                    pytest.fail(f"the run never reached the step (exit {process.returncode}):\n{stdout}\n{stderr}")
                time.sleep(0.01)
            if to_another_thread:  # once the step's process is the only child left: `mlops` waits for it
                asleep(process.pid, children_left=1)
            for signum in signals:
                if to_another_thread:
                    os.kill(another_thread(process.pid), signum)
                elif group:  # as Ctrl-C in a terminal: the whole process group, git included
                    os.killpg(process.pid, signum)
                else:
                    process.send_signal(signum)
                time.sleep(0.1)
            if release:
                self._release()
            stdout, stderr = process.communicate(timeout=WAIT_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


@pytest.fixture
def harness(tmp_path: Path, workspace: tuple[Path, Path], github: Any) -> Iterator[Harness]:  # noqa: F811
    clone, remote = workspace
    github.git_remote = remote
    yield Harness(tmp_path, clone, github)


def fingerprint(clone: Path, remote: Path) -> tuple[str, str]:
    return Git(clone).state(), remote_refs(remote)


def assert_as_it_was(result: subprocess.CompletedProcess[str], before: tuple[str, str], harness: Harness,
                     remote: Path, signal_name: str) -> None:
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mlops: interrupted by {signal_name}"), result.stderr
    assert "Traceback" not in result.stderr
    assert fingerprint(harness.clone, remote) == before
    assert harness.github.pulls == {} and harness.github.comments == {}
    assert list(harness.tmp.iterdir()) == []


def assert_complete(result: subprocess.CompletedProcess[str], before: tuple[str, str], harness: Harness,
                    remote: Path, branch: str, labels: set[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "arrived while the work was being completed; it was completed first" in result.stderr
    assert Git(harness.clone).state() == before[0]  # the user's checkout never moves, even on success
    assert f"refs/heads/{branch} " in remote_refs(remote)
    (pull,) = harness.github.pulls.values()
    assert pull["state"] == "open" and pull["head"]["ref"] == branch
    assert {label["name"] for label in pull["labels"]} == labels
    assert list(harness.tmp.iterdir()) == []
    return pull


def promote_args(clone: Path) -> list[str]:
    return ["promote", "fraud-detection", "--to", "test", "--repo", str(clone)]


@pytest.mark.parametrize(("step", "signum"), cases(PROMOTE_STEPS))
def test_promote(harness: Harness, workspace: tuple[Path, Path], step: Step, signum: int) -> None:  # noqa: F811
    clone, remote = workspace
    before = fingerprint(clone, remote)
    harness.arm(step)
    result = harness.run(promote_args(clone), [signum])
    if not step.completes:
        assert_as_it_was(result, before, harness, remote, signal.Signals(signum).name)
        return
    pull = assert_complete(result, before, harness, remote, "mlops/promote/fraud-detection-test-1.2.0",
                           {"promotion", "env/test"})
    assert harness.github.team_reviewers[pull["number"]] == ["payments-ml"]


@pytest.mark.parametrize(("step", "signum"), cases(ROLLBACK_STEPS, every_signal_at={PUSH, OPEN}))
def test_rollback(harness: Harness, workspace: tuple[Path, Path], step: Step, signum: int) -> None:  # noqa: F811
    clone, remote = workspace
    before = fingerprint(clone, remote)
    harness.arm(step)
    result = harness.run(["rollback", "fraud-detection", "--env", "dev", "--to", "1.1.0", "--repo", str(clone)],
                         [signum])
    if step.completes:
        assert_complete(result, before, harness, remote, "mlops/promote/fraud-detection-dev-1.1.0",
                        {"rollback", "env/dev"})
    else:
        assert_as_it_was(result, before, harness, remote, signal.Signals(signum).name)


@pytest.mark.parametrize(("step", "signum"), cases(REGISTER_STEPS, every_signal_at={PUSH, OPEN}))
def test_register(harness: Harness, workspace: tuple[Path, Path], step: Step, signum: int) -> None:  # noqa: F811
    clone, remote = workspace
    before = fingerprint(clone, remote)
    harness.arm(step)
    result = harness.run([*REGISTER_ARGS, "--repo", str(clone)], [signum])
    if step.completes:
        assert_complete(result, before, harness, remote, "mlops/register/fraud-detection-1.3.0", {"model-version"})
    else:
        assert_as_it_was(result, before, harness, remote, signal.Signals(signum).name)


@pytest.mark.parametrize(("step", "signum"), cases(COMMENT_STEPS))
def test_comment(harness: Harness, workspace: tuple[Path, Path], step: Step, signum: int) -> None:  # noqa: F811
    clone, _ = workspace
    harness.github.pulls[7] = {"state": "open", "head": {"ref": "feature"}, "base": {"ref": "main"}}
    harness.arm(step)
    result = harness.run(["comment", "7", "--repo", str(clone)], [signum], stdin="### preview\n")
    if step.completes:
        assert result.returncode == 0, result.stderr
        assert "comment posted" in result.stdout and "it was completed first" in result.stderr
        assert [c["body"] for c in harness.github.comments.values()] == ["<!-- mlops:mlops-diff -->\n### preview\n"]
    else:
        assert result.returncode == 3, result.stderr
        assert result.stderr.strip() == f"mlops: interrupted by {signal.Signals(signum).name}; nothing was changed"
        assert harness.github.comments == {}
    assert list(harness.tmp.iterdir()) == []


@pytest.mark.parametrize(("signum", "to_another_thread"),
                         [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
                         ids=["SIGTERM", "SIGINT", "SIGTERM-to-another-thread"])
def test_a_signal_ends_the_render_of_a_promotion_at_once(harness: Harness, workspace: tuple[Path, Path],  # noqa: F811
                                                       signum: int, to_another_thread: bool) -> None:
    """The render would never end by itself: the signal ends it, and the promotion is undone.

    Taken by another thread, the signal finds the main thread asleep, waiting for the renders:
    its handler runs because that wait is made in slices (`mlops.waits`).
    """
    clone, remote = workspace
    before = fingerprint(clone, remote)
    harness.arm(RENDER)
    if to_another_thread and sys.platform != "linux":
        pytest.skip("Linux hands a signal sent to a thread's id to that thread")
    result = harness.run(promote_args(clone), [signum], release=False, to_another_thread=to_another_thread)
    assert_as_it_was(result, before, harness, remote, signal.Signals(signum).name)


def test_a_second_signal_does_not_cut_the_undo_short(harness: Harness, workspace: tuple[Path, Path]) -> None:  # noqa: F811
    clone, remote = workspace
    before = fingerprint(clone, remote)
    harness.arm(PUSH)
    result = harness.run(promote_args(clone), [signal.SIGINT, signal.SIGTERM, signal.SIGTERM])
    assert_as_it_was(result, before, harness, remote, "SIGINT")
    assert "the push of mlops/promote/fraud-detection-test-1.2.0 was undone" in result.stderr


@pytest.mark.parametrize("step", [FETCH, COMMIT, PUSH, OPEN], ids=lambda step: step.name.replace(" ", "-"))
def test_ctrl_c_reaches_git_as_well(harness: Harness, workspace: tuple[Path, Path], step: Step) -> None:  # noqa: F811
    """In a terminal, Ctrl-C signals the whole process group: the git (and hook) mlops runs dies first."""
    clone, remote = workspace
    before = fingerprint(clone, remote)
    harness.arm(step)
    result = harness.run(promote_args(clone), [signal.SIGINT], group=True)
    if step.completes:
        assert_complete(result, before, harness, remote, "mlops/promote/fraud-detection-test-1.2.0",
                        {"promotion", "env/test"})
    else:
        assert_as_it_was(result, before, harness, remote, "SIGINT")
