"""SIGINT, SIGTERM and SIGHUP as requests to stop at a safe point, never in the middle of a change.

CI cancels a job with SIGINT and then SIGTERM; a closed terminal sends SIGHUP. Python's default
for SIGTERM and SIGHUP ends the process at once, without running a single `finally`: a promotion
stopped that way leaves its pushed branch, its temporary branch and worktree behind. So the
commands that change something (`promote`, `rollback`, `model add-version --pull-request`,
`comment`, `diff --base`) run inside `stopping_at_safe_points()`, and a signal only sets a flag:

- every git command and GitHub request first calls `check()`, which raises `Interrupted` when a
  signal came, so the work stops between two steps and the usual undo runs;
- renders in flight are ended at once (`children.stop_all`), and whoever waited for them calls
  `check()` before it looks at what they printed;
- a wait that may be cut short at once (a GitHub read, a `git fetch`) runs in `cut_short()`;
- what must not be cut in half (the push, opening the pull request with its labels and
  reviewers, and every clean-up) runs in `shielded()`: the signal is honoured after it, by the
  next `check()`, or not at all once the work is complete.

A second signal never interrupts the clean-up of the first. In any thread but the main one
nothing is installed and `check()` never raises.

Every other command changes nothing, so it may end at once: `ending_at_once()` (installed for
every command by the CLI's edge handler) makes a signal end the child processes that run
(`children.stop_all`: the renders, which take minutes at 1,000 models) and raise `StopRequested`
wherever the main thread is. Python itself does that for SIGINT only, and leaves the renders
running; SIGTERM and SIGHUP would end the process without its clean-up and leave them running too.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from . import children
from .errors import MlopsError
from .findings import ExitCode

#: SIGHUP exists on POSIX only; Windows has the other two
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(MlopsError):
    """A signal stopped the command at a safe point; what it had changed was undone (exit 3)."""

    exit_code = ExitCode.OUTSIDE_FAILURE

    def __init__(self, signum: int, message: str | None = None) -> None:
        self.signum = signum
        super().__init__(message or _nothing_changed(signum))


class StopRequested(BaseException):
    """A signal ended a command that changes nothing (exit 3), at whatever point it had reached.

    A BaseException, as KeyboardInterrupt is: the handler raises it wherever the main thread is,
    also inside an `except Exception` that guards a best-effort step, which must not take it for
    that step's failure and go on.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(_nothing_changed(signum))


def _nothing_changed(signum: int) -> str:
    return f"interrupted by {signal_name(signum)}; nothing was changed"


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@dataclass
class _State:
    installed: bool = False
    received: int | None = None
    shield: int = 0
    raising: bool = False
    #: the signal that is ending a command at once (`ending_at_once`), once one came
    ending: int | None = None


_state = _State()


def _handler(signum: int, frame: FrameType | None) -> None:
    if _state.received is not None:
        return  # a second signal: the clean-up of the first runs to its end
    _state.received = signum
    # A render changes nothing and its result is no longer wanted: end it now (its caller's next
    # `check()` stops the command) rather than minutes later at 1,000 models.
    children.stop_all()
    if _state.raising and _state.shield == 0:
        _state.raising = False
        raise Interrupted(signum)


def received() -> int | None:
    """The first signal that arrived during the command, if any."""
    return _state.received


def is_shielded() -> bool:
    return _state.shield > 0


def check() -> None:
    """Raise `Interrupted` if a signal came and nothing is shielded: the caller is between two steps."""
    if _state.received is not None and _state.shield == 0:
        raise Interrupted(_state.received)


@contextmanager
def shielded() -> Iterator[None]:
    """Run a block to its end whatever arrives; the signal is honoured by the next `check()`."""
    _state.shield += 1
    try:
        yield
    finally:
        _state.shield -= 1


@contextmanager
def cut_short() -> Iterator[None]:
    """A wait that a signal may end at once (by raising `Interrupted` inside it), unless shielded.

    Only for waits that change nothing, such as reading a GitHub answer: nothing is left half
    done when they stop in the middle.
    """
    check()
    if not _state.installed or _state.shield:
        yield
        return
    _state.raising = True
    try:
        yield
    finally:
        _state.raising = False


@contextmanager
def stopping_at_safe_points() -> Iterator[None]:
    """Install the handlers for the life of one command, and put the previous ones back after it."""
    if _state.installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum in SIGNALS:
        signal.signal(signum, _handler)
    _state.installed, _state.received, _state.shield, _state.raising = True, None, 0, False
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _state.installed, _state.received, _state.shield, _state.raising = False, None, 0, False


@contextmanager
def safe_points_of_a_command() -> Iterator[None]:
    """`stopping_at_safe_points` for one command; a signal the work outran is a warning on stderr.

    The work was completed first (the signal came after its last safe point), so the user learns
    that the signal did not stop it rather than believing that it did.
    """
    with stopping_at_safe_points():
        yield
        late = received()
    if late is not None:
        print(f"mlops: warning: {signal_name(late)} arrived while the work was being completed; it was completed first",
              file=sys.stderr)


def _end_now(signum: int, frame: FrameType | None) -> None:
    children.stop_all()
    if _state.ending is not None:
        return  # a second signal: the clean-up of the first runs to its end
    _state.ending = signum
    raise StopRequested(signum)


@contextmanager
def ending_at_once() -> Iterator[None]:
    """For the life of one command: a signal ends its child processes and raises `StopRequested`.

    A signal the process started with ignored stays ignored (a job a shell put in the background
    ignores SIGINT, and `nohup` SIGHUP): that was the user's choice. `stopping_at_safe_points`,
    inside, takes over for the part of a command that changes something.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, _end_now)
    _state.ending = None
    children.reset()  # a stop of an earlier command in this process (a test's) ended that one
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
