"""`mlops schemas`: import CRDs, sync schemas for offline use, list the built-in catalog."""

from __future__ import annotations

from pathlib import Path

import click

from ..findings import ExitCode
from ..schemas.commands import import_files, listing, sync_repository
from .group import (
    EPILOG_EXIT,
    echo_lines,
    finish,
    handle_errors,
    main,
    online_option,
    repo_option,
    schema_options,
    schema_settings,
)


@main.group()
def schemas() -> None:
    """Manage JSON schemas of custom resources (import CRDs, sync for offline use)."""


@schemas.command("import", epilog=EPILOG_EXIT)
@click.argument("files", nargs=-1, required=True, metavar="FILE...|-")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas"),
              show_default=True, help="Folder to write GROUP/KIND_VERSION.json files into.")
@click.option("--strip-descriptions", is_flag=True,
              help="Leave out every description text: the structure validation needs, about a fifth of the size.")
@handle_errors
def schemas_import(files: tuple[str, ...], out: Path, strip_descriptions: bool) -> None:
    """Convert CustomResourceDefinition YAML into JSON schemas, one per served version.

    Read files (or `-` for stdin) holding CRDs, e.g. `oc get crd NAME -o yaml`. Unknown fields are
    rejected everywhere below the root unless the CRD marks an object
    x-kubernetes-preserve-unknown-fields; int-or-string becomes string-or-integer. Add the
    folder to schemaLocations in mlops.yaml to validate with it. The OpenShift AI kinds need no
    import: they are built in (`mlops schemas list`).
    """
    for path in import_files(files, out, strip_descriptions):
        click.echo(f"wrote {path}")


@schemas.command("sync", epilog=EPILOG_EXIT)
@repo_option
@schema_options
@online_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write every schema into this folder (e.g. schemas/) to commit it.")
@handle_errors
def schemas_sync(repo: Path | None, schema_locations: tuple[str, ...], kubernetes_version: str | None,
                 offline: bool, online: bool, out: Path | None) -> None:
    """Fetch the schema of every custom kind the repository uses, for offline validation.

    Every target is rendered; each custom kind is looked up in the schema locations (URL answers
    land in the cache, ~/.cache/mlops/schemas or $MLOPS_CACHE_DIR). With --out the schemas are
    also written in GROUP/KIND_VERSION.json layout so a team can commit them and list the
    folder under schemaLocations. Exit 1 when a kind has no schema anywhere.
    """
    synced = sync_repository(repo, schema_settings(schema_locations, kubernetes_version, offline, online), out)
    echo_lines([f"mlops: warning: {warning}" for warning in synced.warnings])
    for api_version, kind, source in synced.found:
        click.echo(f"ok       {kind} {api_version}  ({source})")
    for api_version, kind in synced.missing:
        click.echo(f"missing  {kind} {api_version}")
    finish(ExitCode.FINDINGS if synced.missing else ExitCode.OK)


@schemas.command("list", epilog=EPILOG_EXIT)
@click.option("--release", metavar="3.N", default=None,
              help="Show the platform kinds of this OpenShift AI release (default: every release).")
@handle_errors
def schemas_list(release: str | None) -> None:
    """List the built-in schemas: the custom resources `mlops validate` checks with no set-up.

    The platform kinds (DataScienceCluster, DSCInitialization, HardwareProfile, Auth,
    GatewayConfig) come once per OpenShift AI release; set `rhoaiVersion` in mlops.yaml to pick
    one. Every file's source is in the catalog's provenance.json.
    """
    for line in listing(release):
        click.echo(line)
