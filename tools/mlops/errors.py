"""Errors that end a command with a one-line message instead of a traceback.

Core modules raise these; only `cli.py` turns them into a message on stderr and an exit code.
"""

from __future__ import annotations

from .findings import ExitCode


class MlopsError(Exception):
    """A failure the user can act on; `str()` is the one line shown to them."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        super().__init__(message)

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return where + " ".join(str(self).split())


class UsageError(MlopsError):
    """Bad input or usage: exit 2."""


class OutsideError(MlopsError):
    """An outside system (git, kustomize, a forge, the network) failed and nothing changed: exit 3."""

    exit_code = ExitCode.OUTSIDE_FAILURE


class GateFailed(MlopsError):
    """A promotion gate or the validation of the promoted tree failed: exit 1, nothing changed."""

    exit_code = ExitCode.FINDINGS

    def __init__(self, message: str, *, plan: object = None) -> None:
        self.plan = plan  # the promotion plan, so the CLI can still show every gate
        super().__init__(message)
