"""The `mlops` group: its shared options, the one edge handler, and the exit-code epilog.

Every command exits 0 when all is well, 1 for findings (or a failed gate), 2 for bad usage or
input, 3 when an outside system failed and nothing was changed. Errors the user can act on are
one line on stderr, never a traceback; `handle_errors` is where that is made true for every
command, so the command modules beside this one only parse, call one core function and exit.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import __version__, collector, interrupt
from ..check import SchemaOptions
from ..errors import MlopsError
from ..findings import ExitCode

F = TypeVar("F", bound=Callable[..., Any])

EPILOG_EXIT = "Exit codes: 0 ok, 1 findings, 2 bad usage or input, 3 an outside system failed."


def handle_errors(command: F) -> F:
    """The one edge handler: every failure is one line on stderr and an exit code, never a traceback.

    An `MlopsError` says what to fix; a signal (SIGINT, SIGTERM, SIGHUP) outside the part of a
    command that changes something ends its renders and the command at once, "interrupted"
    (exit 3, `interrupt.ending_at_once`); anything else is a bug in mlops, reported in one line (exit 3) after
    the undo paths, which run on any exception, have put everything back; `mlops --debug` prints
    its traceback as well, for the bug report.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with interrupt.ending_at_once():
                return command(*args, **kwargs)
        except interrupt.StopRequested as stop:
            click.echo(f"mlops: {stop}", err=True)
            sys.exit(int(ExitCode.OUTSIDE_FAILURE))
        except MlopsError as error:
            click.echo(f"mlops: {error.one_line()}", err=True)
            sys.exit(int(error.exit_code))
        except BrokenPipeError:  # the reader went away (`mlops rules | head`): nothing more to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(int(ExitCode.OK))
        except KeyboardInterrupt:
            click.echo("mlops: interrupted by SIGINT; nothing was changed", err=True)
            sys.exit(int(ExitCode.OUTSIDE_FAILURE))
        except click.ClickException:
            raise  # bad usage found while running: click prints it and exits 2
        except Exception as error:  # the edge of the program: nothing may escape as a traceback
            if _debug():
                traceback.print_exc()
            said = " ".join(str(error).split()) or "no message"
            click.echo(f"mlops: unexpected error: {type(error).__name__}: {said} (a bug in mlops: please report "
                       "it, with the traceback `mlops --debug ...` prints); nothing was changed", err=True)
            sys.exit(int(ExitCode.OUTSIDE_FAILURE))

    return wrapper  # type: ignore[return-value]


def _debug() -> bool:
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.find_root().params.get("debug"))


def repo_option(command: F) -> F:
    return click.option(
        "--repo", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Repository root (the folder with mlops.yaml). Default: found from the current folder.",
    )(command)


def online_option(command: F) -> F:
    return click.option(
        "--online", is_flag=True,
        help="After the built-in catalog, also ask the public datree CRDs catalog for kinds no location has.",
    )(command)


def schema_options(command: F) -> F:
    command = click.option(
        "--offline", is_flag=True, envvar="MLOPS_OFFLINE",
        help="Never fetch schemas from URL locations; use folders, the built-in catalog and the cache only.",
    )(command)
    command = click.option(
        "--kubernetes-version", metavar="X.Y", default=None,
        help="Kubernetes version for built-in kinds (default: kubernetesVersion in mlops.yaml).",
    )(command)
    return click.option(
        "--schema-location", "schema_locations", multiple=True, metavar="LOCATION",
        help="Folder in GROUP/KIND_VERSION.json layout, or a path/URL template with {group}, {kind}, "
        "{version}. Repeatable; tried before MLOPS_SCHEMA_LOCATION, mlops.yaml and the built-in catalog.",
    )(command)


def schema_settings(schema_locations: tuple[str, ...], kubernetes_version: str | None, offline: bool,
                    online: bool = False) -> SchemaOptions:
    """The values of `schema_options` (and `online_option`) as the core takes them."""
    return SchemaOptions(schema_locations, kubernetes_version, offline, online)


def echo_lines(lines: list[str]) -> None:
    """Whole lines on stderr: warnings, notes, what was written."""
    for line in lines:
        click.echo(line, err=True)


def finish(code: ExitCode) -> None:
    """End the command with `code` (nothing is raised for 0, so click's own clean-up runs as usual)."""
    if code is not ExitCode.OK:
        sys.exit(int(code))


#: Which module of this package declares each command. A command's module is imported when the
#: command runs (or help lists it), not every module on every start: `mlops validate` then starts
#: kustomize before the promotion, forge and catalog-editing code would have been loaded.
COMMAND_MODULES: Mapping[str, str] = {
    "comment": "pulls", "diff": "render", "model": "model", "promote": "promotion", "render": "render",
    "rollback": "promotion", "rules": "rules", "schemas": "schemas", "status": "pulls", "targets": "targets",
    "validate": "validate",
}


class _CommandsOnDemand(click.Group):
    """A group whose commands register themselves when their module (`COMMAND_MODULES`) is imported."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"{__package__}.{module}")
        return super().get_command(ctx, cmd_name)


@click.group(cls=_CommandsOnDemand,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=EPILOG_EXIT)
@click.version_option(__version__, prog_name="mlops")
@click.option("--debug", is_flag=True, help="Print the traceback of an unexpected error (for a bug report).")
def main(debug: bool) -> None:
    """Keep an OpenShift AI GitOps repository correct.

    \b
    Typical use, from the repository root:
      mlops validate                 render and check every environment
      mlops validate prod --strict   one environment; warnings fail too
      mlops render dev               the objects Argo CD would apply to dev
      mlops schemas import crd.yaml  make JSON schemas from a CRD
    """


def console() -> None:
    """The `mlops` program: `main`, then the process ends without tearing down its objects.

    A validation holds a few hundred thousand objects at its end; freeing them one by one on the
    way out took 0.06 s at 100 models (a sixth of a run in which nothing changed), and the
    operating system takes the memory back anyway. Every command has finished its work, clean-ups and
    cache writes when `main` returns, so only the output buffers are flushed before leaving. For
    the same reason the cycle collector's policy of a run holds to the end (`collector`).
    """
    status: str | int | None = 0
    collector.for_the_process()
    try:
        main(prog_name="mlops")
    except SystemExit as done:
        status = done.code
    if isinstance(status, str):
        click.echo(status, err=True)  # what Python itself prints for an exit with a message
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # the reader went away, or the stream was closed
        pass
    os._exit(status or 0)
