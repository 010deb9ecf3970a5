"""Read a model version from an MLflow tracking server, for `mlops model add-version --from-mlflow`.

Only the tracking server's REST API 2.0 is used, with httpx: the mlflow package is not needed.
The reference is a registered model version (`models:/NAME/VERSION`, `models:/NAME@ALIAS`) or
an artifact of a run (`runs:/RUN_ID/PATH`). From it, the run and the run's experiment, the
catalog entry gets:

- uri: the version's source, followed to a location the cluster can download from (s3:// or oci://)
  the way MLflow itself resolves it: `models:/m-...` is that MLflow 3 logged model's artifact
  location; `runs:/RUN_ID/NAME[/REST]` is the artifact location (+ /REST) of the logged model named
  NAME of that run, and only when the run has none (or the server predates logged models) the
  run's artifact_uri + /NAME[/REST]. A location only the tracking server can read
  (mlflow-artifacts:/, its disk) is refused with a hint to pass --uri; an explicit --uri always wins.
- metrics: every metric of the run (latest value) whose name the catalog allows, then those that
  only the logged model records (MLflow 3 may log metrics to the model, e.g. from an evaluation);
- parameters: every parameter of the run (as strings);
- lineage: commit (tag mlflow.source.git.commit), dataset (the run's one training dataset input)
  and mlflowTrackingUri, mlflowExperiment, mlflowExperimentId, mlflowRun, mlflowModel, mlflowSource;
- created: when the model version was registered (for runs:/, when the run ended);
- version, when --version is not given: the tag `version` of the model version, else of the run
  (MLflow's own version numbers 1, 2, 3 are not semantic versions).

The connection uses MLflow's own environment variables: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN
(bearer) or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (basic), MLFLOW_TRACKING_INSECURE_TLS,
MLFLOW_TRACKING_SERVER_CERT_PATH, MLFLOW_TRACKING_CLIENT_CERT_PATH, MLFLOW_HTTP_REQUEST_TIMEOUT and
MLFLOW_WORKSPACE. Nothing is written here: every failure is one line, `UsageError` (exit 2) for a
wrong reference or missing data, `OutsideError` (exit 3) when the server cannot be used.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from .catalog import is_semver, uri_problem
from .catalog.edit import Recorded
from .errors import UsageError
from .mlflow_client import RUN_ARTIFACT, MlflowServer, Reference, as_items, as_mapping, parse_reference, tracking_from

_LOGGED_MODEL = re.compile(r"models:/(m-[0-9A-Za-z]+)/?")
_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*")  # the catalog's metricName
COMMIT_TAG = "mlflow.source.git.commit"
VERSION_TAG = "version"
DATASET_CONTEXT_TAG = "mlflow.data.context"


@dataclass(frozen=True)
class Imported:
    """What `add_version` needs: the final uri and version, MLflow's record and notes for the user."""

    uri: str
    version: str
    recorded: Recorded
    notes: tuple[str, ...]


def import_version(text: str, *, tracking_uri: str | None = None, uri: str | None = None,
                   version: str | None = None, env: Mapping[str, str] | None = None,
                   client: httpx.Client | None = None) -> Imported:
    """Read `text` (see `parse_reference`) from the tracking server. An explicit `uri` or `version`
    wins over MLflow's; without `version`, the tag `version` must give one."""
    reference = parse_reference(text)
    tracking = tracking_from(tracking_uri, os.environ if env is None else env)
    with MlflowServer(tracking, client) as server:
        return _import(reference, server, uri, version)


def _import(reference: Reference, server: MlflowServer, explicit_uri: str | None,
            explicit_version: str | None) -> Imported:
    notes: list[str] = []
    lineage: dict[str, str] = {}
    model_tags: dict[str, str] = {}
    created: str | None = None
    if reference.model is not None:
        if reference.alias is not None:
            endpoint, params = "registered-models/alias", {"name": reference.model, "alias": reference.alias}
        else:
            endpoint, params = "model-versions/get", {"name": reference.model, "version": str(reference.version)}
        model_version = server.get(endpoint, params, reference.text, "model_version")
        status = str(model_version.get("status") or "READY")
        if status != "READY":
            raise UsageError(f"{reference.text} is {status}, not READY: wait until its registration has finished "
                             "(or register it again if it failed)")
        run_id = str(model_version.get("run_id") or "") or None
        source = str(model_version.get("source") or "")
        model_tags = _tags(model_version)
        created = _iso(model_version.get("creation_timestamp"))
        registered = f"models:/{model_version.get('name') or reference.model}/{model_version.get('version')}"
        origin = f"MLflow run {run_id}" if run_id else f"MLflow model version {registered} (it names no run)"
    else:
        run_id = reference.run_id
        source = f"runs:/{run_id}" + (f"/{reference.path}" if reference.path else "")
        registered = None
        origin = f"MLflow run {run_id}"
    lineage["mlflowTrackingUri"] = server.tracking.shown

    run: dict[str, Any] = {}
    metrics: dict[str, int | float] = {}
    parameters: dict[str, str] = {}
    run_tags: dict[str, str] = {}
    if run_id:
        run = server.get("runs/get", {"run_id": run_id}, f"run {run_id}" + (
            f" (of {reference.text})" if reference.model else ""), "run")
        info = as_mapping(run.get("info"))
        if info.get("lifecycle_stage") == "deleted":
            raise UsageError(f"MLflow run {run_id} is deleted; restore it or import another run")
        if info.get("status") in ("FAILED", "KILLED"):
            raise UsageError(f"MLflow run {run_id} ended {info.get('status')}; import a run that finished")
        data = as_mapping(run.get("data"))
        metrics = _metrics(data.get("metrics"), notes)
        parameters = {str(item["key"]): str(item.get("value", "")) for item in as_items(data.get("params"))}
        parameters = dict(sorted(parameters.items()))
        run_tags = _tags(data)
        commit = run_tags.get(COMMIT_TAG, "").strip().lower()
        if commit and _COMMIT.fullmatch(commit):
            lineage["commit"] = commit
        elif commit:
            notes.append(f"tag {COMMIT_TAG}={commit!r} of {origin} is not a git commit id; lineage has no commit")
        dataset = _dataset(run.get("inputs"), origin, notes)
        if dataset:
            lineage["dataset"] = dataset
        experiment_id = str(info.get("experiment_id") or "")
        if experiment_id:
            experiment = server.get("experiments/get", {"experiment_id": experiment_id},
                                    f"experiment {experiment_id} of run {run_id}", "experiment")
            if experiment.get("name"):
                lineage["mlflowExperiment"] = str(experiment["name"])
            lineage["mlflowExperimentId"] = experiment_id
        lineage["mlflowRun"] = run_id
        if created is None:
            created = _iso(info.get("end_time")) or _iso(info.get("start_time"))
    if registered:
        lineage["mlflowModel"] = registered

    location, logged_model = _resolve(reference, source, run, server) if source else ("", {})
    if logged_model:
        run_names = {str(item["key"]) for item in as_items(as_mapping(run.get("data")).get("metrics"))}
        from_model = _model_metrics(logged_model, run_names, notes)
        if from_model:
            model_id = as_mapping(logged_model.get("info")).get("model_id")
            notes.append(f"metrics {', '.join(from_model)} come from MLflow logged model {model_id}: "
                         f"{origin} does not record them")
            metrics = dict(sorted({**from_model, **metrics}.items()))
    uri = explicit_uri or _download_location(reference, source, location)
    if source and source != uri:
        lineage["mlflowSource"] = source
    version = explicit_version or _tagged_version(model_tags, run_tags, reference, origin)
    recorded = Recorded(origin=origin, metrics=metrics, lineage=lineage, parameters=parameters, created=created)
    return Imported(uri=uri, version=version, recorded=recorded, notes=tuple(notes))


def _resolve(reference: Reference, source: str, run: dict[str, Any],
             server: MlflowServer) -> tuple[str, dict[str, Any]]:
    """Where `source` keeps its files, as MLflow resolves it, and the MLflow 3 logged model that holds
    them ({} when none does)."""
    if match := RUN_ARTIFACT.fullmatch(source):
        run_id = match.group(1)
        source_run = run if as_mapping(run.get("info")).get("run_id") == run_id else server.get(
            "runs/get", {"run_id": run_id}, f"run {run_id} (the source of {reference.text})", "run")
        info = as_mapping(source_run.get("info"))
        path = (match.group(2) or "").strip("/")
        name, _, rest = path.partition("/")
        experiment_id = str(info.get("experiment_id") or "")
        if name and experiment_id:
            logged = server.logged_model_of_run(experiment_id, run_id, name)
            if logged:  # runs:/RUN/NAME is the logged model NAME of the run, as MLflow 3 reads it
                root = str(as_mapping(logged.get("info")).get("artifact_uri") or "").rstrip("/")
                return (f"{root}/{rest}" if root and rest else root), logged
        root = str(info.get("artifact_uri") or "").rstrip("/")
        return (f"{root}/{path}" if path else root), {}
    if match := _LOGGED_MODEL.fullmatch(source):
        logged = server.get(f"logged-models/{match.group(1)}", {}, f"logged model {match.group(1)} (the source of "
                            f"{reference.text})", "model")
        return str(as_mapping(logged.get("info")).get("artifact_uri") or "").rstrip("/"), logged
    return source, {}


def _download_location(reference: Reference, source: str, location: str) -> str:
    """`location` if the cluster can download from it; a UsageError with a hint to pass --uri otherwise."""
    if not source:
        raise UsageError(f"{reference.text} records no source (artifact location); pass --uri")
    if location.startswith(("mlflow-artifacts:", "http://", "https://", "models:", "runs:")):
        raise UsageError(f"the artifact of {reference.text} is at {location}, which only the MLflow server can read; "
                         "pass --uri s3://BUCKET/PATH (where the server's artifacts destination keeps it)")
    if not location or uri_problem(location):
        raise UsageError(f"the artifact of {reference.text} is at {location or 'no location'}, which is not "
                         "s3://BUCKET/PATH or oci://IMAGE@sha256:DIGEST; pass --uri with a location the cluster "
                         "can download from")
    return location


def _model_metrics(logged_model: Mapping[str, Any], run_names: set[str], notes: list[str]) -> dict[str, int | float]:
    """The latest value (highest step, then time) of each metric of a logged model the run does not have."""
    latest: dict[str, dict[str, Any]] = {}
    for item in as_items(as_mapping(logged_model.get("data")).get("metrics")):
        name = str(item["key"])
        if name not in run_names and (name not in latest or _when(item) >= _when(latest[name])):
            latest[name] = item
    return _metrics(list(latest.values()), notes)


def _when(metric: Mapping[str, Any]) -> tuple[float, float]:
    return _number(metric.get("step")) or 0.0, _number(metric.get("timestamp")) or 0.0


def _tagged_version(model_tags: Mapping[str, str], run_tags: Mapping[str, str], reference: Reference,
                    origin: str) -> str:
    for tags, owner in ((model_tags, reference.text), (run_tags, origin)):
        tagged = tags.get(VERSION_TAG, "").strip()
        if not tagged:
            continue
        if not is_semver(tagged):
            raise UsageError(f"the MLflow tag {VERSION_TAG}={tagged!r} of {owner} is not a semantic version "
                             "MAJOR.MINOR.PATCH; fix the tag or pass --version (e.g. --version 1.3.0)")
        return tagged
    raise UsageError(f"pass --version (e.g. --version 1.3.0): MLflow's version numbers are not semantic versions, "
                     f"and neither {reference.text} nor its run has a tag {VERSION_TAG!r} holding one")


def _metrics(items: Any, notes: list[str]) -> dict[str, int | float]:
    metrics: dict[str, int | float] = {}
    for item in as_items(items):
        name, value = str(item["key"]), item.get("value")
        if not _METRIC_NAME.fullmatch(name):
            notes.append(f"MLflow metric {name!r} left out: a catalog metric name is a letter or '_', then letters, "
                         "digits, '_', '.', ':' or '-' (pass it as --metric with another name to keep it)")
            continue
        number = _number(value)
        if number is None:
            notes.append(f"MLflow metric {name} = {value!r} left out: not a finite number")
            continue
        metrics[name] = int(number) if number.is_integer() and abs(number) < 2**53 else number
    return dict(sorted(metrics.items()))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _dataset(inputs: Any, origin: str, notes: list[str]) -> str | None:
    """The run's training dataset: its source URI, else NAME@DIGEST; None unless there is exactly one."""
    found = as_items(as_mapping(inputs).get("dataset_inputs"), key="dataset")
    training = [item for item in found if _tags(item).get(DATASET_CONTEXT_TAG) == "training"]
    chosen = training or found
    if len(chosen) > 1:
        notes.append(f"{origin} has {len(chosen)} training datasets; lineage has no dataset (pass --dataset)")
    if len(chosen) != 1:
        return None
    dataset = as_mapping(chosen[0].get("dataset"))
    try:
        described = json.loads(str(dataset.get("source") or "null"))
    except ValueError:
        described = None
    if isinstance(described, dict):
        for key in ("uri", "url", "path", "table_name"):
            if isinstance(described.get(key), str) and described[key].strip():
                return str(described[key]).strip()
    name, digest = str(dataset.get("name") or "").strip(), str(dataset.get("digest") or "").strip()
    return (f"{name}@{digest}" if digest else name) if name else None


def _tags(owner: Mapping[str, Any]) -> dict[str, str]:
    return {str(item["key"]): str(item.get("value", "")) for item in as_items(owner.get("tags"))}


def _iso(milliseconds: Any) -> str | None:
    """An MLflow timestamp (milliseconds since the epoch) as an ISO 8601 UTC date-time."""
    try:
        moment = datetime.fromtimestamp(int(milliseconds) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment.year > 1970 else None
