"""`mlops model`: new versions in the catalog, a version added (here or by pull request), monitoring files."""

from __future__ import annotations

from pathlib import Path

import click

from ..catalog.changes import new_versions_report
from ..catalog.monitoring import write_monitoring
from ..findings import ExitCode
from ..promotion.add_version import NewVersion, add_version
from .group import EPILOG_EXIT, echo_lines, finish, handle_errors, main, repo_option


@main.group()
def model() -> None:
    """Edit the model catalog (models/MODEL/model.yaml)."""


@model.command("new-versions", epilog=EPILOG_EXIT)
@click.option("--since", required=True, metavar="REF",
              help="Commit to compare the catalog with, e.g. the commit before a push.")
@repo_option
@click.option("--output", "-o", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@handle_errors
def model_new_versions(since: str, repo: Path | None, output_format: str) -> None:
    """List, per model, the newest version the catalog gained after REF, and its first environment.

    A version added below the model's newest version (a patch of an older line) is not listed:
    it would replace a newer one in the first environment.

    \b
    The new-version workflow promotes each one:
      mlops model new-versions --since "$BEFORE" --output json
      mlops promote MODEL --to ENVIRONMENT --version VERSION
    Exit 0 whether or not there are new versions.
    """
    click.echo(new_versions_report(repo, since, output_format), nl=False)


@model.command("add-version", epilog=EPILOG_EXIT)
@click.argument("model_name", metavar="MODEL")
@click.option("--version", "version", default=None, metavar="V",
              help="Semantic version of the new entry, e.g. 1.3.0 (never reused). Required, except with "
              "--from-mlflow when the MLflow model version or run has a tag 'version'.")
@click.option("--uri", default=None, metavar="URI",
              help="Artifact location: s3://BUCKET/PATH or oci://IMAGE@sha256:DIGEST. Required, except with "
              "--from-mlflow (default: the version's source in MLflow).")
@click.option("--from-mlflow", "from_mlflow", default=None, metavar="MLFLOW_URI",
              help="Fill the entry from MLflow: models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH.")
@click.option("--tracking-uri", default=None, metavar="URL",
              help="MLflow tracking server for --from-mlflow (default: MLFLOW_TRACKING_URI).")
@click.option("--digest", default=None, metavar="sha256:HEX", help="Content digest of the artifact.")
@click.option("--metric", "metrics", multiple=True, metavar="NAME=VALUE",
              help="An evaluation metric, e.g. --metric auc=0.97. Repeatable; wins over MLflow's value.")
@click.option("--commit", default=None, metavar="SHA", help="Git commit of the training code (lineage).")
@click.option("--pipeline-run", default=None, metavar="ID", help="Pipeline run that produced it (lineage).")
@click.option("--dataset", default=None, metavar="REF", help="Training data it was built from (lineage).")
@click.option("--created", default=None, metavar="ISO",
              help="Creation date or date-time, ISO 8601 (default: when MLflow registered it, else today, UTC).")
@click.option("--pull-request", is_flag=True,
              help="Do not edit this checkout: propose the version by pull request against --base (what a "
              "pipeline run does).")
@click.option("--remote", default="origin", show_default=True, help="With --pull-request: git remote to push to.")
@click.option("--base", default="main", show_default=True, help="With --pull-request: branch the pull request targets.")
@repo_option
@handle_errors
def model_add_version(model_name: str, version: str | None, uri: str | None, from_mlflow: str | None,
                      tracking_uri: str | None, digest: str | None, metrics: tuple[str, ...], commit: str | None,
                      pipeline_run: str | None, dataset: str | None, created: str | None, pull_request: bool,
                      remote: str, base: str, repo: Path | None) -> None:
    """Append a version to models/MODEL/model.yaml, keeping its comments and formatting.

    \b
    By hand or from a pipeline:
      mlops model add-version fraud-detection --version 1.3.0 \\
          --uri s3://mlops-models/fraud-detection/1.3.0/ --metric auc=0.97 --commit 3f2a9c1
    From the MLflow model registry (its REST API, with MLflow's MLFLOW_TRACKING_URI and
    MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD):
      mlops model add-version fraud-detection --version 1.3.0 --from-mlflow models:/fraud-detection/3

    --from-mlflow fills uri (the version's s3:// source), created, every metric and parameter of
    the run, and lineage: git commit, dataset, MLflow experiment, run and registered version.
    Options given win over MLflow's values. Every metric the model's gates use must be known.

    \b
    With --pull-request, the entry is written in a temporary worktree of --base as the remote has
    it, pushed to mlops/register/MODEL-VERSION and proposed by pull request, with the metrics
    against every environment's gate; this checkout is not touched. After the merge, the
    new-version workflow opens the promotion to the first environment. GitHub as for promote.

    The result is checked against the catalog schema before the file is replaced (atomically).
    A version that exists already, a version that is not semver, an oci:// URI without a
    digest, a metric that is not a number or an MLflow version that cannot be imported changes
    nothing and exits 2 (3 when the MLflow server cannot be reached or refuses the credentials).
    """
    added = add_version(repo, NewVersion(model_name, version, uri, from_mlflow, tracking_uri, digest, metrics, commit,
                                         pipeline_run, dataset, created, pull_request, remote, base))
    echo_lines([f"mlops: note: {note}" for note in added.notes])
    click.echo(added.done)
    echo_lines([f"mlops: warning: {warning}" for warning in added.warnings])


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
    run = write_monitoring(repo, models, check)
    for line, to_stderr in run.lines:
        click.echo(line, err=to_stderr)
    finish(ExitCode.FINDINGS if run.failed else ExitCode.OK)
