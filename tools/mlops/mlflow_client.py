"""The MLflow tracking server's REST API 2.0, over httpx: references, connection settings, one client.

Kept apart from what the import makes of the answers (`mlflow_source`), because the connection
rules are MLflow's own (its environment variables, TLS and timeout settings, credentials never
shown in a message) and apply to every request alike.
"""
from __future__ import annotations

import base64
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from .errors import OutsideError, UsageError

ACCEPTED = "models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH"
CREDENTIALS = "MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
API = "api/2.0/mlflow"
DEFAULT_TIMEOUT = 30.0
SEARCH_PAGE = 100  # logged models per page of logged-models/search
SEARCH_PAGES = 20  # pages read at most while looking for a run's logged model

_MODEL_VERSION = re.compile(r"models:/([^/@\s]+)/([0-9]+)")  # all used with fullmatch
_MODEL_ALIAS = re.compile(r"models:/([^/@\s]+)@([^/@\s]+)")
RUN_ARTIFACT = re.compile(r"runs:/([0-9A-Za-z_-]+)(?:/(\S*))?")
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
    if match := RUN_ARTIFACT.fullmatch(text):
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
                                   f"of run {run_id} ({_short(as_mapping(_json(response)).get('message')) or code}); "
                                   "pass --uri with the model's location")
            answer = self._answer(response, endpoint, f"the logged models of run {run_id}", None)
            for model in as_items(answer.get("models"), key="info"):
                info = as_mapping(model.get("info"))
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


def as_mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_items(value: Any, key: str = "key") -> list[dict[str, Any]]:
    """The objects of a JSON list that have `key` (MLflow leaves empty lists out of its answers)."""
    return [item for item in value if isinstance(item, dict) and item.get(key) is not None] \
        if isinstance(value, list) else []
