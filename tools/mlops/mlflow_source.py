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

import base64
import json
import math
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from .catalog import is_semver, uri_problem
from .catalog_edit import Recorded
from .errors import OutsideError, UsageError

ACCEPTED = "models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH"
CREDENTIALS = "MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
COMMIT_TAG = "mlflow.source.git.commit"
VERSION_TAG = "version"
DATASET_CONTEXT_TAG = "mlflow.data.context"
API = "api/2.0/mlflow"
DEFAULT_TIMEOUT = 30.0
SEARCH_PAGE = 100  # logged models per page of logged-models/search
SEARCH_PAGES = 20  # pages read at most while looking for a run's logged model

_MODEL_VERSION = re.compile(r"models:/([^/@\s]+)/([0-9]+)")  # all used with fullmatch
_MODEL_ALIAS = re.compile(r"models:/([^/@\s]+)@([^/@\s]+)")
_RUN_ARTIFACT = re.compile(r"runs:/([0-9A-Za-z_-]+)(?:/(\S*))?")
_LOGGED_MODEL = re.compile(r"models:/(m-[0-9A-Za-z]+)/?")
_METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*")  # the catalog's metricName
_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Reference:
    """A parsed --from-mlflow value: a registered model version or alias, or a run's artifact."""

    text: str
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    run_id: str | None = None
    path: str = ""


def parse_reference(text: str) -> Reference:
    """`models:/NAME/VERSION`, `models:/NAME@ALIAS` or `runs:/RUN_ID/PATH`; a UsageError otherwise."""
    if match := _MODEL_VERSION.fullmatch(text):
        return Reference(text, model=match.group(1), version=str(int(match.group(2))))
    if match := _MODEL_ALIAS.fullmatch(text):
        return Reference(text, model=match.group(1), alias=match.group(2))
    if match := _RUN_ARTIFACT.fullmatch(text):
        return Reference(text, run_id=match.group(1), path=(match.group(2) or "").strip("/"))
    raise UsageError(f"--from-mlflow {text!r} is not {ACCEPTED} (e.g. models:/fraud-detection/3)")


@dataclass(frozen=True)
class Tracking:
    """Where the tracking server is and how to talk to it."""

    base: str  # as configured, without a trailing slash (may hold user:password@)
    shown: str  # without credentials, query or fragment: safe for messages and the catalog
    headers: Mapping[str, str]
    verify: bool | ssl.SSLContext
    timeout: float


def tracking_from(option: str | None, env: Mapping[str, str]) -> Tracking:
    """The tracking server from --tracking-uri, else MLFLOW_TRACKING_URI, with MLflow's auth variables."""
    text = (option or env.get("MLFLOW_TRACKING_URI") or "").strip()
    if not text:
        raise UsageError("no MLflow tracking server: set MLFLOW_TRACKING_URI or pass --tracking-uri "
                         "(e.g. https://mlflow.example.org)")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise UsageError(f"tracking URI {_without_credentials(text)!r} is not http(s)://HOST[:PORT][/PATH]; "
                         "mlops reads MLflow through its REST API (set MLFLOW_TRACKING_URI or --tracking-uri)")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    shown = f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path.rstrip('/')}"
    headers = {"Accept": "application/json", "User-Agent": "mlops-rhoai"}
    token = env.get("MLFLOW_TRACKING_TOKEN")
    username, password = env.get("MLFLOW_TRACKING_USERNAME"), env.get("MLFLOW_TRACKING_PASSWORD")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif username or password:
        pair = f"{username or ''}:{password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    if env.get("MLFLOW_WORKSPACE"):
        headers["X-MLFLOW-WORKSPACE"] = env["MLFLOW_WORKSPACE"]
    return Tracking(text.split("?", 1)[0].split("#", 1)[0].rstrip("/"), shown, headers, _tls(env), _timeout(env))


def _without_credentials(text: str) -> str:
    return re.sub(r"//[^/@\s]*@", "//", text)


def _tls(env: Mapping[str, str]) -> bool | ssl.SSLContext:
    if env.get("MLFLOW_TRACKING_INSECURE_TLS", "").strip().lower() in _TRUE:
        return False
    server_cert, client_cert = env.get("MLFLOW_TRACKING_SERVER_CERT_PATH"), env.get("MLFLOW_TRACKING_CLIENT_CERT_PATH")
    if not server_cert and not client_cert:
        return True
    try:
        context = ssl.create_default_context(cafile=server_cert or None)
        if client_cert:
            context.load_cert_chain(client_cert)
    except (OSError, ssl.SSLError) as error:
        raise UsageError(f"cannot use the certificate of MLFLOW_TRACKING_SERVER_CERT_PATH or "
                         f"MLFLOW_TRACKING_CLIENT_CERT_PATH: {error}") from None
    return context


def _timeout(env: Mapping[str, str]) -> float:
    text = env.get("MLFLOW_HTTP_REQUEST_TIMEOUT")
    try:
        value = float(text) if text else DEFAULT_TIMEOUT
    except ValueError:
        raise UsageError(f"MLFLOW_HTTP_REQUEST_TIMEOUT {text!r} is not a number of seconds") from None
    return value if value > 0 else DEFAULT_TIMEOUT


class MlflowServer:
    """GET requests to the REST API; each failure becomes one line naming the server."""

    def __init__(self, tracking: Tracking, client: httpx.Client | None = None) -> None:
        self.tracking = tracking
        self._client = client or httpx.Client(
            headers=dict(tracking.headers), verify=tracking.verify, follow_redirects=False,
            timeout=httpx.Timeout(tracking.timeout, connect=min(tracking.timeout, 10.0)),
        )

    def __enter__(self) -> MlflowServer:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def get(self, endpoint: str, params: Mapping[str, str], what: str, key: str) -> dict[str, Any]:
        """The object `key` of the answer to GET `endpoint`; `what` names the thing asked for."""
        return self._answer(self._send("GET", endpoint, params=params), endpoint, what, key)

    def logged_model_of_run(self, experiment_id: str, run_id: str, name: str) -> dict[str, Any] | None:
        """The MLflow 3 logged model named `name` whose source is run `run_id` (the first the server
        lists, as MLflow picks it), {} when the run has none, None when the server has no logged models."""
        endpoint = "logged-models/search"
        clauses = [f"source_run_id = '{run_id}'"]  # run ids are [0-9A-Za-z_-]
        if not set(name) & set("'\\"):
            clauses.insert(0, f"name = '{name}'")  # else the name is compared below only
        request: dict[str, Any] = {"experiment_ids": [experiment_id], "filter": " AND ".join(clauses),
                                   "max_results": SEARCH_PAGE}
        for _ in range(SEARCH_PAGES):
            response = self._send("POST", endpoint, body=request)
            code = _error_code(response)
            if response.status_code in (404, 405, 501) and code in (None, "ENDPOINT_NOT_FOUND"):
                return None  # MLflow 2.x: no logged models, runs:/ is the run's artifact_uri
            if code == "INVALID_PARAMETER_VALUE" and response.status_code == 400:
                raise OutsideError(f"the MLflow tracking server {self.tracking.shown} cannot search the logged models "
                                   f"of run {run_id} ({_short(_mapping(_json(response)).get('message')) or code}); "
                                   "pass --uri with the model's location")
            answer = self._answer(response, endpoint, f"the logged models of run {run_id}", None)
            for model in _items(answer.get("models"), key="info"):
                info = _mapping(model.get("info"))
                if info.get("name") == name and info.get("source_run_id") == run_id:
                    return model
            token = answer.get("next_page_token")
            if not token:
                break
            request["page_token"] = str(token)
        return {}

    def _send(self, method: str, endpoint: str, *, params: Mapping[str, str] | None = None,
              body: Mapping[str, Any] | None = None) -> httpx.Response:
        shown = self.tracking.shown
        try:
            return self._client.request(method, f"{self.tracking.base}/{API}/{endpoint}",
                                        params=dict(params) if params else None,
                                        json=dict(body) if body is not None else None)
        except httpx.TimeoutException:
            raise OutsideError(f"the MLflow tracking server {shown} did not answer within {self.tracking.timeout:g} s; "
                               "check MLFLOW_TRACKING_URI (or --tracking-uri) and the network") from None
        except httpx.HTTPError as error:
            raise OutsideError(f"cannot reach the MLflow tracking server {shown} ({type(error).__name__}: {error}); "
                               "check MLFLOW_TRACKING_URI (or --tracking-uri)") from None

    def _answer(self, response: httpx.Response, endpoint: str, what: str, key: str | None) -> dict[str, Any]:
        """The object `key` of a JSON answer (the whole answer for None); one line for each failure."""
        shown = self.tracking.shown
        body = _json(response)
        code = _error_code(response)
        message = _short(body.get("message")) if isinstance(body, dict) else ""
        if response.status_code in (401, 403):
            raise OutsideError(f"the MLflow tracking server {shown} refused access (HTTP {response.status_code}"
                               f"{f': {message}' if message else ''}); set {CREDENTIALS} to an account that may "
                               "read the model registry and runs")
        if response.is_redirect:
            raise OutsideError(f"the MLflow tracking server {shown} redirected {endpoint} to "
                               f"{response.headers.get('location', '?')} (HTTP {response.status_code}); set "
                               f"MLFLOW_TRACKING_URI to the API's address, or if it is a login page set {CREDENTIALS}")
        if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") and response.status_code in (400, 404):
            raise UsageError(f"{what} does not exist on the MLflow tracking server {shown} ({message or code})")
        if not response.is_success:
            raise OutsideError(f"the MLflow tracking server {shown} answered {endpoint} with HTTP "
                               f"{response.status_code}{f' {code}' if code else ''}{f': {message}' if message else ''}"
                               "; check MLFLOW_TRACKING_URI (is it the MLflow tracking server?)")
        found = (body.get(key) if key is not None else body) if isinstance(body, dict) else None
        if not isinstance(found, dict):
            raise OutsideError(f"{shown} answered {endpoint} without a JSON {key or 'object'!r}; is "
                               "MLFLOW_TRACKING_URI the MLflow tracking server (not a login page or proxy)?")
        return found


def _error_code(response: httpx.Response) -> str | None:
    body = _json(response)
    code = body.get("error_code") if isinstance(body, dict) else None
    return str(code) if code else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _short(value: object, limit: int = 200) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
        info = _mapping(run.get("info"))
        if info.get("lifecycle_stage") == "deleted":
            raise UsageError(f"MLflow run {run_id} is deleted; restore it or import another run")
        if info.get("status") in ("FAILED", "KILLED"):
            raise UsageError(f"MLflow run {run_id} ended {info.get('status')}; import a run that finished")
        data = _mapping(run.get("data"))
        metrics = _metrics(data.get("metrics"), notes)
        parameters = {str(item["key"]): str(item.get("value", "")) for item in _items(data.get("params"))}
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
        run_names = {str(item["key"]) for item in _items(_mapping(run.get("data")).get("metrics"))}
        from_model = _model_metrics(logged_model, run_names, notes)
        if from_model:
            model_id = _mapping(logged_model.get("info")).get("model_id")
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
    if match := _RUN_ARTIFACT.fullmatch(source):
        run_id = match.group(1)
        source_run = run if _mapping(run.get("info")).get("run_id") == run_id else server.get(
            "runs/get", {"run_id": run_id}, f"run {run_id} (the source of {reference.text})", "run")
        info = _mapping(source_run.get("info"))
        path = (match.group(2) or "").strip("/")
        name, _, rest = path.partition("/")
        experiment_id = str(info.get("experiment_id") or "")
        if name and experiment_id:
            logged = server.logged_model_of_run(experiment_id, run_id, name)
            if logged:  # runs:/RUN/NAME is the logged model NAME of the run, as MLflow 3 reads it
                root = str(_mapping(logged.get("info")).get("artifact_uri") or "").rstrip("/")
                return (f"{root}/{rest}" if root and rest else root), logged
        root = str(info.get("artifact_uri") or "").rstrip("/")
        return (f"{root}/{path}" if path else root), {}
    if match := _LOGGED_MODEL.fullmatch(source):
        logged = server.get(f"logged-models/{match.group(1)}", {}, f"logged model {match.group(1)} (the source of "
                            f"{reference.text})", "model")
        return str(_mapping(logged.get("info")).get("artifact_uri") or "").rstrip("/"), logged
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
    for item in _items(_mapping(logged_model.get("data")).get("metrics")):
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
    for item in _items(items):
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
    found = _items(_mapping(inputs).get("dataset_inputs"), key="dataset")
    training = [item for item in found if _tags(item).get(DATASET_CONTEXT_TAG) == "training"]
    chosen = training or found
    if len(chosen) > 1:
        notes.append(f"{origin} has {len(chosen)} training datasets; lineage has no dataset (pass --dataset)")
    if len(chosen) != 1:
        return None
    dataset = _mapping(chosen[0].get("dataset"))
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


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any, key: str = "key") -> list[dict[str, Any]]:
    """The objects of a JSON list that have `key` (MLflow leaves empty lists out of its answers)."""
    return [item for item in value if isinstance(item, dict) and item.get(key) is not None] \
        if isinstance(value, list) else []


def _tags(owner: Mapping[str, Any]) -> dict[str, str]:
    return {str(item["key"]): str(item.get("value", "")) for item in _items(owner.get("tags"))}


def _iso(milliseconds: Any) -> str | None:
    """An MLflow timestamp (milliseconds since the epoch) as an ISO 8601 UTC date-time."""
    try:
        moment = datetime.fromtimestamp(int(milliseconds) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment.year > 1970 else None
