"""Child processes that a stop request or a time limit ends at once, with everything they started.

A render is one kustomize process, but `$KUSTOMIZE` may be a wrapper script whose kustomize is a
grandchild; killing the direct child alone leaves that grandchild running (and rendering for
minutes at 1,000 models) after `mlops` has gone. So on POSIX each child leads a process group of
its own and is ended by signalling the group: SIGTERM first, so that a wrapper may clean up,
then SIGKILL for whatever is left after `GRACE_SECONDS`.

The child is waited for without being reaped (`waitid` with `WNOWAIT`) until its group has been
dealt with: while the leader is an unreaped zombie its id cannot be given to another process, so
the group id that is signalled can only be this child's.

Its own group also means that Ctrl-C in a terminal reaches `mlops` alone; its handler
(`interrupt.ending_at_once`) calls `stop_all`, which ends every group started here and refuses
new ones. A supervisor that signals only the `mlops` process (a CI runner, `timeout`, systemd)
gets the same prompt end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import IO

from . import waits

#: How long a signalled group has to end on SIGTERM before SIGKILL ends it.
GRACE_SECONDS = 2.0
_GROUPS = os.name == "posix" and hasattr(os, "waitid")
#: Windows has no SIGKILL; there `_signal` ends the child itself (`Popen.kill`) whatever is asked
_KILL = getattr(signal, "SIGKILL", signal.SIGTERM)

_TIME_LIMIT, _STOPPED = "the time limit", "a stop"
_lock = threading.RLock()  # re-entrant: the signal handler may run in the main thread while it holds it
_stopping = False


@dataclass
class _Child:
    """What is known of a child that has not been reaped yet."""

    batch: Batch | None
    #: why SIGTERM was sent, once it was (what the leader leaves then gets SIGKILL): the time limit
    #: passed, or it was stopped. Kept here, not read from `_stopping` afterwards: `reset` may
    #: have come in between.
    ended_by: str | None = None


_live: dict[subprocess.Popen[bytes], _Child] = {}


class Stopped(Exception):
    """`stop_all` or `end` was called: the child was ended, or never started; its output means nothing."""


class Batch:
    """The children of one job (the renders of one validation), which `end` ends without touching others."""

    def __init__(self) -> None:
        self.ended = False


def run(command: list[str], stdout: IO[bytes], stderr: IO[bytes], timeout: float | None,
        batch: Batch | None = None, started: Callable[[], None] | None = None,
        environment: Mapping[str, str] | None = None) -> int:
    """Run `command` to its end and return its exit code; `started` is called once the child runs.

    The child gets `environment` (None: this process's own).

    Raises `subprocess.TimeoutExpired` when `timeout` passed (the group is ended first),
    `Stopped` when `stop_all`, or `end` of its `batch`, ended it or came before it could start,
    and `OSError` when it cannot start. Whatever interrupts the wait (a signal handler's
    exception in the main thread) ends the group before it propagates.
    """
    with _lock:
        if _stopping or (batch is not None and batch.ended):
            raise Stopped
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                   env=environment, process_group=0 if _GROUPS else None)
        _live[process] = _Child(batch)
        if _stopping or (batch is not None and batch.ended):
            _end(process)  # a handler in this (the main) thread stopped everything while it started
    timer = threading.Timer(timeout, _end, args=(process, _TIME_LIMIT)) if timeout is not None else None
    try:
        if started is not None:
            started()
        if timer is not None:
            timer.daemon = True
            timer.start()
        _await_exit(process)
    except BaseException:
        _end(process)
        _wait_unreaped(process)
        raise
    finally:
        if timer is not None:
            timer.cancel()
        with _lock:
            ended_by = _live.pop(process).ended_by
            if ended_by is not None:
                _signal(process, _KILL)  # what the leader left: still its group, as it is unreaped
            process.wait()
    if ended_by is None:
        return process.returncode
    if ended_by == _TIME_LIMIT:
        raise subprocess.TimeoutExpired(command, timeout or 0.0)
    raise Stopped


def stop_all() -> None:
    """End every child `run` started and refuse new ones. Safe in a signal handler: it never waits."""
    global _stopping
    with _lock:
        _stopping = True
        for process in list(_live):
            _end(process)


def end(batch: Batch) -> None:
    """End the children of `batch` and refuse new ones in it; others run on. It never waits."""
    with _lock:
        batch.ended = True
        for process, child in list(_live.items()):
            if child.batch is batch:
                _end(process)


@contextmanager
def ended_on_failure() -> Iterator[Batch]:
    """A new batch, ended when the block fails: inside a pool that waits for its work on exit, the
    renders in flight end at once instead of running to their end (minutes at 1,000 models)."""
    batch = Batch()
    try:
        yield batch
    except BaseException:
        end(batch)
        raise


def reset() -> None:
    """Allow children again: the next command of the same process (a test's second run) may render."""
    global _stopping
    with _lock:
        _stopping = False


def _await_exit(process: subprocess.Popen[bytes]) -> None:
    """Wait for the child to exit; in the main thread in slices, so that a signal's handler runs (`waits`)."""
    if threading.current_thread() is not threading.main_thread():
        _wait_unreaped(process)
        return
    waiter = threading.Thread(target=_wait_unreaped_quietly, args=(process,), daemon=True,
                              name=f"wait for {process.pid}")
    waiter.start()
    waits.join(waiter)


def _wait_unreaped_quietly(process: subprocess.Popen[bytes]) -> None:
    with suppress(ChildProcessError):  # reaped meanwhile: the main thread stopped waiting, ended it, reaped it
        _wait_unreaped(process)


def _wait_unreaped(process: subprocess.Popen[bytes]) -> None:
    if _GROUPS:
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    else:
        process.wait()


def _end(process: subprocess.Popen[bytes], by: str = _STOPPED) -> None:
    """SIGTERM to the child's group now, SIGKILL to what is left of it after `GRACE_SECONDS`."""
    with _lock:
        child = _live.get(process)
        if child is None or child.ended_by is not None:
            return
        child.ended_by = by
        _signal(process, signal.SIGTERM)
    killer = threading.Timer(GRACE_SECONDS, _kill_if_running, args=(process,))
    killer.daemon = True
    killer.start()


def _kill_if_running(process: subprocess.Popen[bytes]) -> None:
    with _lock:
        if process in _live:  # not yet reaped: the group id is still this child's
            _signal(process, _KILL)


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the child's group (POSIX) or the child (elsewhere); a group that has gone is fine."""
    try:
        if _GROUPS:
            os.killpg(process.pid, signum)
        elif process.returncode is None:
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass
