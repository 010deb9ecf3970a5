"""Whether the checks that need no render should wait until kustomize leaves a core free.

Rendering is the floor, and while every core renders, a CPU second of Python work (the
credential scan, the catalog, the file hashes) takes CPU from kustomize and lengthens the renders
by about half a second. Most repositories leave a core idle for a long time later: the template's
three environments on two cores render two at once, then the third alone while the small roots
are long done. Work moved into that idle time is nearly free; work moved after the last render is
not. So the work waits for the first moment a worker has nothing left to start, but only when the
renders, predicted from the size of what each root reads (kustomize's time grows with it), leave a
core idle for a good part of their run; two equal roots on two cores finish together and leave
no such time, and there the work starts at once, as before.

Measured on a 2-core machine with the 100-model benchmark copy and a pure-Python load of 1.7 CPU
seconds: started with the renders, 1.29 of the floor; started when a core fell idle, 1.08; with two
equal roots, 1.60 started at once and 1.81 when waiting (hence the prediction).

And a worker that is free starts its next render before the main thread goes on (`Launches`).
Starting kustomize takes the worker a few steps in the interpreter (two temporary files, the
fork), and the main thread, loading the render that just finished or walking the next root,
hands the interpreter over only every 5 ms (`sys.getswitchinterval`): the third overlay of the
benchmark copy started 8 to 46 ms after the worker was free, on the longest chain of renders.
The main thread waits for the start instead (a millisecond or two).
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Sequence
from pathlib import Path

from .kustomization import KustomizeTree

#: Wait for a free core only when the renders are predicted to leave one idle for at least this
#: share of their run (the template on two cores: 0.4; two equal roots: 0).
IDLE_SHARE_TO_WAIT = 0.3


def idle_share(durations: Sequence[float], workers: int) -> float:
    """Idle worker time after each worker's last render, as a share of the whole run.

    `durations` are in submission order, as a pool of `workers` takes them: each render goes to
    the worker that is free first. The result is in cores: 0.4 means one core idle for 40 % of
    the run (or two for 20 %).
    """
    if workers < 1 or not durations:
        return 0.0
    free_at = [0.0] * min(workers, len(durations))
    heapq.heapify(free_at)
    for duration in durations:
        heapq.heappush(free_at, heapq.heappop(free_at) + max(duration, 0.0))
    makespan = max(free_at)
    if makespan <= 0:
        return 0.0
    idle = sum(makespan - end for end in free_at) + (workers - len(free_at)) * makespan
    return idle / makespan


def input_bytes(tree: KustomizeTree, sizes: dict[Path, int]) -> int:
    """What a root reads, in bytes: the prediction of how long kustomize takes for it.

    `sizes` keeps each file's size for the run: the roots share most of their files.
    """
    total = 0
    for path in tree.files:
        size = sizes.get(path)
        if size is None:
            try:
                size = path.stat().st_size
            except OSError:
                size = 0
            sizes[path] = size
        total += size
    return total


def should_wait(durations: Sequence[float], workers: int) -> bool:
    """Let the render-free work wait for an idle worker (see the module's docstring)."""
    return len(durations) >= workers and idle_share(durations, workers) >= IDLE_SHARE_TO_WAIT


#: The longest the main thread waits for a free worker to start kustomize: a render that never
#: starts (its batch was ended) must not hold the run.
LAUNCH_WAIT_SECONDS = 0.05


class Launches:
    """How many renders have started kustomize; the main thread waits for a free worker's next one."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def started(self) -> None:
        """Called by a worker once kustomize runs (`children.run`)."""
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait_for(self, count: int) -> bool:
        """Until `count` renders have started (True), or `LAUNCH_WAIT_SECONDS` passed (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count >= count, LAUNCH_WAIT_SECONDS)
