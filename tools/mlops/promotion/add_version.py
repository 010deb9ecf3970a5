"""`mlops model add-version` as one call: fill the entry (from the options, or from MLflow), then write it here
or propose it by pull request.

The option checks live here, not in the command, because they are the rules of an entry: a
version and a URI are required unless MLflow supplies them, and `--remote`/`--base` only mean
something for a pull request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import interrupt
from ..check import load_config
from ..errors import UsageError


@dataclass(frozen=True)
class NewVersion:
    """The options of `mlops model add-version`."""

    model: str
    version: str | None
    uri: str | None
    from_mlflow: str | None = None
    tracking_uri: str | None = None
    digest: str | None = None
    metrics: tuple[str, ...] = ()
    commit: str | None = None
    pipeline_run: str | None = None
    dataset: str | None = None
    created: str | None = None
    pull_request: bool = False
    remote: str = "origin"
    base: str = "main"


@dataclass
class Added:
    """What the command says: notes of the import, the line of what was done, warnings after it."""

    done: str
    notes: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)


def _check_options(request: NewVersion) -> None:
    if request.from_mlflow is None and (request.version is None or request.uri is None):
        missing = "--version" if request.version is None else "--uri"
        raise UsageError(f"{missing} is required (or fill the entry from MLflow: --from-mlflow models:/NAME/VERSION)")
    if request.from_mlflow is None and request.tracking_uri is not None:
        raise UsageError("--tracking-uri is only used with --from-mlflow")
    if not request.pull_request and (request.remote, request.base) != ("origin", "main"):
        raise UsageError("--remote and --base are used with --pull-request only")


def add_version(repo: Path | None, request: NewVersion) -> Added:
    """Append the version to the catalog entry here, or propose it by pull request against `base`."""
    from ..catalog import edit as catalog_edit  # ruamel.yaml is only needed here

    _check_options(request)
    cfg = load_config(repo)
    uri, version = request.uri, request.version
    recorded: catalog_edit.Recorded | None = None
    notes: tuple[str, ...] = ()
    if request.from_mlflow is not None:
        from .. import mlflow_source  # httpx is only needed here

        catalog_edit.require_model(cfg.root, request.model)
        found = mlflow_source.import_version(request.from_mlflow, tracking_uri=request.tracking_uri, uri=uri,
                                             version=version)
        uri, version, recorded, notes = found.uri, found.version, found.recorded, found.notes
    assert version is not None and uri is not None
    # the entry, whether it is written here or in the pull request's worktree
    edit: dict[str, Any] = {"uri": uri, "digest": request.digest, "metrics": request.metrics,
                            "commit": request.commit, "pipeline_run": request.pipeline_run,
                            "dataset": request.dataset, "created": request.created, "recorded": recorded}
    if not request.pull_request:
        path = catalog_edit.add_version(cfg.root, cfg, request.model, version=version, **edit)
        return Added(f"added {request.model} {version} to {path.relative_to(cfg.root).as_posix()}", notes)
    from ..forge import connector
    from .register import register

    with interrupt.safe_points_of_a_command():
        registration = register(cfg.root, request.model, version=version, remote=request.remote, base=request.base,
                                forge=connector(cfg.root, request.remote), edit=edit)
    verb = "opened" if registration.created else "updated"
    return Added(f"pull request #{registration.pull_request.number} {verb}: {registration.pull_request.url}", notes,
                 registration.warnings)
