"""Start one run of a pipeline on the project's pipeline server (Kubeflow Pipelines 2 REST API).

This is what the retraining CronJobs of base/pipelines run (mounted from the ConfigMap that
kustomization.yaml generates from this file). It uses only the Python standard library, so any
Python 3.11+ image runs it, and it talks to the pipeline server the way the OpenShift AI dashboard
and the KFP SDK do: through the kube-rbac-proxy of the `ds-pipeline-<dspa>` Service (port 8443),
with the pod's ServiceAccount token. The proxy lets the call through when that ServiceAccount may
`get` (read) and `create` (start runs) the subresource `datasciencepipelinesapplications/api` of
the DataSciencePipelinesApplication.

Steps: find the pipeline by name, pick its version (the newest, or the one named), find or create
the experiment, skip when a run of the same pipeline in that experiment is still active (the
`maxConcurrency: 1` of a KFP recurring run), check the parameters against the pipeline's inputs
and convert them to the declared types, start the run.

Configuration (environment variables):

    PIPELINE_NAME      name or display name of the pipeline on the server (required)
    PIPELINE_VERSION   name or display name of the version to run; empty: the newest version
    EXPERIMENT_NAME    experiment of the runs, created when missing (default: scheduled-<pipeline>)
    RUN_NAME_PREFIX    runs are named <prefix>-<UTC timestamp> (default: the pipeline name)
    PARAM_<input>      value of the pipeline input <input>; "{date}" (YYYYMMDD) and "{timestamp}"
                       (YYYYMMDDhhmmss, UTC) in a value are replaced by the time of the trigger
    SKIP_IF_ACTIVE     "false" starts a run even while another one is active (default: "true")
    DSPA_NAME          the DataSciencePipelinesApplication (default: dspa)
    KFP_HOST           the API base URL (default: https://ds-pipeline-<DSPA_NAME>.<namespace>.svc:8443)
    NAMESPACE, TOKEN_FILE, CA_FILE   default to the pod's ServiceAccount files
    TRIGGERED_BY       written into the run's description (the CronJob passes its Job's name)

Exit codes: 0 a run was started (or skipped on purpose), 1 the pipeline server refused or failed,
2 the configuration is wrong (unknown pipeline, version or parameter).
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
ACTIVE_STATES = {"PENDING", "RUNNING", "PAUSED", "CANCELING"}
PAGE_SIZE = 100
ATTEMPTS = 4


class ConfigurationError(Exception):
    """The cron job asks for something the pipeline server does not have (exit code 2)."""


class ServerError(Exception):
    """The pipeline server could not be reached or answered with an error (exit code 1)."""


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


class Client:
    """The few calls of the KFP v2beta1 REST API that starting a run needs."""

    def __init__(self, host: str, token_file: str | None, ca_file: str | None) -> None:
        self.host = host.rstrip("/")
        self.token_file = token_file
        self.context: ssl.SSLContext | None = None
        if self.host.startswith("https://"):
            cafile = ca_file if ca_file and os.path.isfile(ca_file) else None
            self.context = ssl.create_default_context(cafile=cafile)

    def call(self, method: str, path: str, query: dict[str, Any] | None = None,
             body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.host}/apis/v2beta1/{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v not in (None, "")})
        data = None if body is None else json.dumps(body).encode("utf-8")
        # Only reads are retried: a POST that timed out may have started the run already, and a
        # second one would start another; the next scheduled trigger tries again instead.
        attempts = ATTEMPTS if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(url, data=data, method=method)
            request.add_header("Accept", "application/json")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            if self.token_file and os.path.isfile(self.token_file):
                # Read every time: projected ServiceAccount tokens are rotated.
                request.add_header("Authorization", "Bearer " + _read(self.token_file))
            try:
                with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
                    text = response.read().decode("utf-8")
                    return json.loads(text) if text.strip() else {}
            except urllib.error.HTTPError as error:
                detail = error.read().decode("utf-8", "replace")[:500]
                if error.code in (401, 403):
                    raise ServerError(
                        f"{method} {path}: HTTP {error.code}; the ServiceAccount needs get and create on "
                        f"datasciencepipelinesapplications/api of the DSPA (Role pipeline-scheduler): {detail}"
                    ) from None
                if error.code < 500 or attempt == attempts:
                    raise ServerError(f"{method} {path}: HTTP {error.code}: {detail}") from None
                problem = f"HTTP {error.code}"
            except (urllib.error.URLError, OSError) as error:
                if attempt == attempts:
                    raise ServerError(f"{method} {url}: {error}") from None
                problem = str(error)
            wait = 5 * 2 ** (attempt - 1)
            print(f"{method} {path}: {problem}; retrying in {wait} s", file=sys.stderr)
            time.sleep(wait)
        raise AssertionError("unreachable")

    def list_all(self, path: str, key: str, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            page = self.call("GET", path, {**(query or {}), "page_size": PAGE_SIZE, "page_token": token})
            items += page.get(key) or []
            token = page.get("next_page_token") or ""
            if not token:
                return items


def _named(item: dict[str, Any], name: str) -> bool:
    return name in (item.get("name"), item.get("display_name"))


def find_pipeline(client: Client, name: str) -> dict[str, Any]:
    found = [p for p in client.list_all("pipelines", "pipelines") if _named(p, name)]
    if not found:
        raise ConfigurationError(f"no pipeline named {name!r} on the pipeline server; upload it first")
    if len(found) > 1:
        raise ConfigurationError(f"{len(found)} pipelines are named {name!r}; rename all but one")
    return found[0]


def find_version(client: Client, pipeline: dict[str, Any], version: str) -> dict[str, Any]:
    path = f"pipelines/{pipeline['pipeline_id']}/versions"
    if version:
        found = [v for v in client.list_all(path, "pipeline_versions") if _named(v, version)]
        if not found:
            raise ConfigurationError(f"pipeline {pipeline.get('display_name')!r} has no version {version!r}")
        chosen = found[0]
    else:
        page = client.call("GET", path, {"page_size": 1, "sort_by": "created_at desc"})
        newest = page.get("pipeline_versions") or []
        if not newest:
            raise ConfigurationError(f"pipeline {pipeline.get('display_name')!r} has no version")
        chosen = newest[0]
    # The list may leave out the (large) pipeline spec: fetch the version itself.
    return client.call("GET", f"{path}/{chosen['pipeline_version_id']}")


def find_or_create_experiment(client: Client, name: str) -> str:
    predicate = {"key": "display_name", "operation": "EQUALS", "string_value": name}
    page = client.call("GET", "experiments", {"filter": json.dumps({"predicates": [predicate]})})
    for experiment in page.get("experiments") or []:
        if experiment.get("display_name") == name:
            return str(experiment["experiment_id"])
    created = client.call("POST", "experiments", body={
        "display_name": name, "description": "Runs started by a retraining CronJob declared in Git."})
    print(f"created experiment {name} ({created['experiment_id']})")
    return str(created["experiment_id"])


def active_runs(client: Client, experiment_id: str, pipeline_id: str) -> list[str]:
    page = client.call("GET", "runs", {"experiment_id": experiment_id, "page_size": PAGE_SIZE,
                                       "sort_by": "created_at desc"})
    return [str(run.get("display_name") or run.get("run_id")) for run in page.get("runs") or []
            if run.get("state") in ACTIVE_STATES
            and (run.get("pipeline_version_reference") or {}).get("pipeline_id") == pipeline_id]


def input_types(version: dict[str, Any]) -> dict[str, str]:
    """Parameter name -> IR parameterType of the pipeline's inputs (from the compiled pipeline spec)."""
    spec = version.get("pipeline_spec") or {}
    if "root" not in spec and isinstance(spec.get("pipeline_spec"), dict):
        spec = spec["pipeline_spec"]  # pipeline and platform spec of a multi-document IR
    parameters = ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    return {name: str(definition.get("parameterType", "STRING")) for name, definition in parameters.items()}


def convert(name: str, value: str, parameter_type: str) -> Any:
    try:
        if parameter_type == "NUMBER_INTEGER":
            return int(value)
        if parameter_type == "NUMBER_DOUBLE":
            return float(value)
        if parameter_type == "BOOLEAN":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if parameter_type in ("LIST", "STRUCT"):
            return json.loads(value)
    except ValueError:
        raise ConfigurationError(f"PARAM_{name}={value!r} is not a valid {parameter_type}") from None
    return value


def parameters(environ: dict[str, str], types: dict[str, str], now: datetime) -> dict[str, Any]:
    values = {key.removeprefix("PARAM_"): value for key, value in environ.items() if key.startswith("PARAM_")}
    unknown = sorted(set(values) - set(types))
    if unknown and types:
        raise ConfigurationError(f"the pipeline has no input {', '.join(unknown)} "
                                 f"(its inputs: {', '.join(sorted(types))})")
    stamps = {"{date}": now.strftime("%Y%m%d"), "{timestamp}": now.strftime("%Y%m%d%H%M%S")}
    result = {}
    for name, value in sorted(values.items()):
        for placeholder, stamp in stamps.items():
            value = value.replace(placeholder, stamp)
        result[name] = convert(name, value, types.get(name, "STRING"))
    return result


def main(environ: dict[str, str]) -> int:
    now = datetime.now(UTC)
    try:
        pipeline_name = environ.get("PIPELINE_NAME", "").strip()
        if not pipeline_name:
            raise ConfigurationError("PIPELINE_NAME is not set")
        namespace = environ.get("NAMESPACE") or _read(f"{SERVICE_ACCOUNT_DIR}/namespace")
        dspa = environ.get("DSPA_NAME") or "dspa"
        host = environ.get("KFP_HOST") or f"https://ds-pipeline-{dspa}.{namespace}.svc:8443"
        client = Client(host, environ.get("TOKEN_FILE", f"{SERVICE_ACCOUNT_DIR}/token"),
                        environ.get("CA_FILE", f"{SERVICE_ACCOUNT_DIR}/service-ca.crt"))

        pipeline = find_pipeline(client, pipeline_name)
        version = find_version(client, pipeline, environ.get("PIPELINE_VERSION", "").strip())
        values = parameters(environ, input_types(version), now)
        experiment_name = environ.get("EXPERIMENT_NAME") or f"scheduled-{pipeline_name}"
        experiment_id = find_or_create_experiment(client, experiment_name)
        if environ.get("SKIP_IF_ACTIVE", "true").lower() != "false":
            busy = active_runs(client, experiment_id, str(pipeline["pipeline_id"]))
            if busy:
                print(f"skipped: run {', '.join(busy)} of {pipeline_name} is still active in {experiment_name}")
                return 0
        run_name = f"{environ.get('RUN_NAME_PREFIX') or pipeline_name}-{now.strftime('%Y%m%d-%H%M%S')}"
        triggered_by = environ.get("TRIGGERED_BY") or "a retraining CronJob"
        run = client.call("POST", "runs", body={
            "display_name": run_name,
            "description": f"Scheduled retraining, started by {triggered_by} in {namespace}.",
            "experiment_id": experiment_id,
            "pipeline_version_reference": {"pipeline_id": pipeline["pipeline_id"],
                                           "pipeline_version_id": version["pipeline_version_id"]},
            "runtime_config": {"parameters": values},
        })
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"run_id": run.get("run_id"), "run": run_name, "pipeline": pipeline_name,
                      "version": version.get("display_name") or version.get("name"),
                      "experiment": experiment_name, "parameters": values}))
    return 0


if __name__ == "__main__":
    sys.exit(main(dict(os.environ)))
