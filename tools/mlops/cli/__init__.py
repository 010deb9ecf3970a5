"""The `mlops` command line: `group` holds the group, its shared options and the edge handler; each
other module is one command group, registered on `main` when it is imported (`group.COMMAND_MODULES`
says which module declares which command, so a run imports only the one it needs).

A command module parses its options, calls one core function and picks the exit code; what the
command does lives in the core (`check`, `preview`, `promotion`, `catalog`, `forge`, `schemas`).
"""

from .group import COMMAND_MODULES, console, handle_errors, main

__all__ = ["COMMAND_MODULES", "console", "handle_errors", "main"]
