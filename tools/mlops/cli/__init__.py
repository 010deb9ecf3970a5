"""The `mlops` command line: `group` holds the group, its shared options and the edge handler; each
other module is one command group, registered on `main` when it is imported here.

A command module parses its options, calls one core function and picks the exit code; what the
command does lives in the core (`check`, `preview`, `promotion`, `catalog`, `forge`, `schemas`).
"""

from . import model, promotion, pulls, render, rules, schemas, targets, validate
from .group import handle_errors, main

__all__ = ["handle_errors", "main", "model", "promotion", "pulls", "render", "rules", "schemas", "targets",
           "validate"]
