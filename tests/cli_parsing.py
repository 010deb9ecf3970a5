"""Parse an `mlops` command line with the real CLI, without running it.

Workflows, pre-commit hooks and the training pipeline's register step all call `mlops`; the
tests parse every such call here, so an option that is renamed or removed fails a test
instead of a pipeline run on a cluster.
"""

from __future__ import annotations

import click

from mlops.cli import main


def parse_mlops(args: list[str], where: str) -> list[str]:
    """Parse `args` with the real command line, as far as the leaf command; return the command path."""
    command: click.Command = main
    context = main.make_context("mlops", list(args), resilient_parsing=False)
    path = []
    rest = [*context._protected_args, *context.args] if hasattr(context, "_protected_args") else context.args
    while isinstance(command, click.Group):
        name, sub, rest = command.resolve_command(context, rest)
        assert sub is not None, f"{where}: no command {name!r} in `mlops {' '.join(args)}`"
        path.append(str(name))
        context = sub.make_context(str(name), rest, parent=context)
        command = sub
        if isinstance(sub, click.Group):
            rest = [*context._protected_args, *context.args] if hasattr(context, "_protected_args") else context.args
    return path
