"""Waits of the main thread that a signal always cuts short, within `SLICE_SECONDS`.

CPython runs a Python signal handler in the main thread, between two bytecodes. A signal that
arrives while that thread sleeps on a lock or in a system call interrupts the sleep (EINTR), and
the handler runs at once. One that arrives in the instant between the last check for signals and
the start of the sleep interrupts nothing: its handler waits until the sleep ends by itself.
For a render that never ends (a `$KUSTOMIZE` that hangs), that is forever. Under load this
happened to `mlops promote` about once in 20 runs of `tests/test_signals.py`: SIGTERM arrived,
and nothing ran until a second signal came.

So while it waits for a render, the main thread sleeps `SLICE_SECONDS` at a time. Each slice
that ends returns to the interpreter, which runs a pending handler; the wait goes on after it.
Other threads never run handlers, so their waits need none of this.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TypeVar

#: The longest a signal's handler can be held up by a wait of the main thread.
SLICE_SECONDS = 0.1

T = TypeVar("T")


def result(future: Future[T]) -> T:
    """`future.result()`, in slices."""
    while True:
        try:
            return future.result(timeout=SLICE_SECONDS)
        except TimeoutError:
            continue


def completed(futures: Iterable[Future[T]]) -> Iterator[Future[T]]:
    """`concurrent.futures.as_completed(futures)`, in slices: each future once, as it completes."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=SLICE_SECONDS, return_when=FIRST_COMPLETED)
        yield from done


def join(thread: threading.Thread) -> None:
    """`thread.join()`, in slices."""
    while thread.is_alive():
        thread.join(SLICE_SECONDS)
