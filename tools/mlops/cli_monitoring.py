"""`mlops model monitoring`: write each model's monitoring.yaml from the declaration in its catalog entry."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli import EPILOG_EXIT, _load_config, handle_errors, repo_option
from .cli_promotion import model
from .errors import UsageError
from .findings import ExitCode


@model.command("monitoring", epilog=EPILOG_EXIT)
@click.argument("models", nargs=-1, metavar="[MODEL]...")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a file is stale.")
@repo_option
@handle_errors
def model_monitoring_command(models: tuple[str, ...], check: bool, repo: Path | None) -> None:
    """Write models/MODEL/monitoring.yaml from the monitoring declaration in model.yaml.

    The file holds what each environment needs of the declaration: a ConfigMap with the TrustyAI
    requests (read by the PostSync hook of base/model-monitoring) and a PrometheusRule recording
    every threshold (read by the drift and fairness alerts). Without MODEL, every model of the
    catalog. Commit the file; `mlops validate` fails while it is stale. Exit 1 when a declaration
    has problems (nothing is written for it) or, with --check, when a file is stale.
    """
    from . import catalog as catalog_module
    from . import model_monitoring

    cfg = _load_config(repo)
    found, findings = catalog_module.load_catalog(cfg.root, cfg)
    known = catalog_module.known_model_names(cfg.root)
    for name in models:
        if name not in known:
            raise UsageError(f"no catalog entry models/{name}/model.yaml")
        if name not in found:
            bad = next((f for f in findings if f.file == catalog_module.catalog_path(name)), None)
            raise UsageError(bad.message if bad else "invalid catalog entry", file=catalog_module.catalog_path(name),
                             line=bad.line if bad else None)
    results = model_monitoring.generate(cfg.root, found, list(models) or sorted(found), write=not check)
    failed = False
    for result in results:
        detail = f": {result.detail}" if result.detail else ""
        click.echo(f"{result.state:8} {result.path}{detail}", err=result.state in ("stale", "orphan", "refused"))
        failed = failed or result.state in ("stale", "refused") or (check and result.state == "orphan")
    if failed:
        sys.exit(int(ExitCode.FINDINGS))
