"""How often Python's cycle collector runs while a validation holds its objects, and who frees them.

A run builds hundreds of thousands of objects (YAML nodes, rendered objects) that live to its
end and hold no garbage cycles worth collecting: reference counting frees the rest. At the
default thresholds the collector walks the survivors again every few thousand allocations; at
100 models that was 426 collections taking 0.51 s, a fifth of the run's CPU. With the imported
modules frozen and a gen-0 threshold of 50,000 it is about ten collections taking 0.08 s.

The policy has to cover the whole command, not only the renders and checks: the run and render
caches are written, and the report built, after `run_validation` returns, and with the defaults
back in force the first full collection there walked every object of the run again (0.13 s
after the last render of a first run, measured with `gc.callbacks`).

The program (`cli.console`) ends with `os._exit`: the operating system takes the memory back at
once. Objects freed before that, one by one, are time lost at the end of every run: the run, the
schema store and the configuration that `validate_repository` drops when it returns took 40 ms
at 100 models. `keep_until_exit` keeps them referenced in the program; elsewhere (tests, a
library caller) it keeps nothing.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

#: gen-0 allocations, gen-0 collections per gen-1, gen-1 collections per full collection
RUN_THRESHOLDS = (50_000, 20, 100)

_depth = 0  # how many `fewer_collections` are open (or 1 for good after `for_the_process`)
_kept: list[object] | None = None  # a list once `for_the_process` ran: what the program leaves to the OS


def for_the_process() -> None:
    """The policy until the process ends, for a program that exits without tearing down (`cli.console`).

    Restoring the defaults at the end of a command costs more than it saves there: the objects
    thawed and the gen-0 count far past the default threshold, the next allocations started a
    full collection over every object of the run, 40 ms between the report and its printing.
    """
    global _depth, _kept
    if _depth == 0:
        gc.freeze()
        gc.set_threshold(*RUN_THRESHOLDS)
    _depth += 1  # never undone: every `fewer_collections` from now on changes nothing
    if _kept is None:
        _kept = []


def keep_until_exit(*objects: object) -> None:
    """Leave the objects to the operating system when the program ends, instead of freeing them now.

    Only in the program (after `for_the_process`): a test or library caller frees them as usual.
    """
    if _kept is not None:
        _kept.extend(objects)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect seldom, and never over the objects that exist when the outermost use begins.

    Nested uses (the command around `run_validation`) change nothing: an inner exit that thawed
    the frozen objects would hand the whole heap back to the next full collection.
    """
    global _depth
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    before = gc.get_threshold()
    gc.freeze()  # what exists now (the imported modules, the configuration) is never garbage
    gc.set_threshold(*RUN_THRESHOLDS)
    _depth = 1
    try:
        yield
    finally:
        _depth = 0
        gc.set_threshold(*before)
        gc.unfreeze()
