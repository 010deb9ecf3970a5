"""Declare a recurring run (a schedule) of a pipeline on the project's pipeline server, from Git.

OpenShift AI 3.x pipelines (Data Science Pipelines, Kubeflow Pipelines 2) schedule pipelines as
*recurring runs*: the dashboard's "Schedules", KFP's RecurringRun, which the server keeps in its
database and carries out through its ScheduledWorkflow controller. They have no Kubernetes object
a GitOps tool could apply, so this script makes the server's recurring run match what Git says. It
is what the Argo CD PostSync hook Jobs of base/pipelines run after each sync (mounted from the
ConfigMap that kustomization.yaml generates from this file), so a change of schedule, parameters
or state in an overlay reaches the pipeline server with the merge that made it.

It uses only the Python standard library, so any Python 3.11+ image runs it, and it talks to the
pipeline server the way the dashboard and the KFP SDK do: through the kube-rbac-proxy of the
`ds-pipeline-<dspa>` Service (port 8443), with the pod's ServiceAccount token. The proxy lets a
request through when that ServiceAccount may `get` (GET), `create` (POST) or `delete` (DELETE)
the subresource `datasciencepipelinesapplications/api` of the DataSciencePipelinesApplication.

Steps: find the pipeline by name (and the version, when one is pinned), find or create the
experiment, check the parameters against the pipeline's inputs and convert them to their declared
types, then compare the recurring run of that name in the experiment with the one wanted: equal,
nothing to do; only enabled/disabled differs, enable or disable it; anything else differs, delete
it and create it anew (KFP has no update of a recurring run). Without a pinned version the recurring
run names only the pipeline, and every run it starts uses the newest version uploaded then.

Configuration (environment variables):

    PIPELINE_NAME      name or display name of the pipeline on the server (required)
    PIPELINE_VERSION   name or display name of the version to run; empty: always the newest version
    RECURRING_RUN_NAME name of the recurring run (default: the pipeline name)
    EXPERIMENT_NAME    experiment of the recurring run, created when missing (default: scheduled-<pipeline>)
    SCHEDULE           cron expression, UTC: five fields (minute hour day month weekday) as a
                       CronJob takes them, or six with seconds first as KFP shows them (required)
    ENABLED            "true": the schedule starts runs; "false": it exists, disabled (default: "true")
    MAX_CONCURRENCY    runs of this schedule at the same time (default: 1)
    NO_CATCHUP         "true": triggers missed while disabled or down are skipped (default: "true")
    PARAM_<input>      value of the pipeline input <input>
    DECLARED_IN        where the declaration lives, written into the recurring run's description
    DSPA_NAME          the DataSciencePipelinesApplication (default: dspa)
    KFP_HOST           the API base URL (default: https://ds-pipeline-<DSPA_NAME>.<namespace>.svc:8443)
    NAMESPACE, TOKEN_FILE, CA_FILE   default to the pod's ServiceAccount files

Exit codes: 0 the recurring run is as declared, 1 the pipeline server refused or failed, 2 the
configuration is wrong (unknown pipeline, version or parameter, a bad schedule).
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
from typing import Any

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
PAGE_SIZE = 100
ATTEMPTS = 4


class ConfigurationError(Exception):
    """The declaration asks for something the pipeline server does not have, or is malformed (exit code 2)."""


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
        # Only reads are retried: a POST or DELETE that timed out may have taken effect already;
        # the next sync (the hook runs on every one) reconciles again instead.
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
        "display_name": name, "description": "Runs of schedules declared in Git (base/pipelines)."})
    print(f"created experiment {name} ({created['experiment_id']})")
    return str(created["experiment_id"])


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


def parameters(environ: dict[str, str], types: dict[str, str]) -> dict[str, Any]:
    values = {key.removeprefix("PARAM_"): value for key, value in environ.items() if key.startswith("PARAM_")}
    unknown = sorted(set(values) - set(types))
    if unknown and types:
        raise ConfigurationError(f"the pipeline has no input {', '.join(unknown)} "
                                 f"(its inputs: {', '.join(sorted(types))})")
    return {name: convert(name, value, types.get(name, "STRING")) for name, value in sorted(values.items())}


def kfp_cron(expression: str) -> str:
    """KFP's six-field cron (seconds first) from a five-field CronJob expression or a six-field one."""
    fields = expression.split()
    if len(fields) == 5:
        return " ".join(["0", *fields])
    if len(fields) == 6:
        return " ".join(fields)
    raise ConfigurationError(f"SCHEDULE={expression!r} has {len(fields)} fields; write five (minute hour "
                             "day-of-month month day-of-week, e.g. '0 3 * * 1') or six with seconds first")


def flag(environ: dict[str, str], name: str, default: bool) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in ("true", "false"):
        raise ConfigurationError(f"{name}={environ[name]!r} is neither true nor false")
    return value == "true"


def wanted_recurring_run(environ: dict[str, str], pipeline: dict[str, Any], version: dict[str, Any] | None,
                         experiment_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """The recurring run the declaration asks for, as the KFP v2beta1 API takes it."""
    reference = {"pipeline_id": pipeline["pipeline_id"]}
    if version is not None:
        reference["pipeline_version_id"] = version["pipeline_version_id"]
    try:
        concurrency = int(environ.get("MAX_CONCURRENCY") or "1")
    except ValueError:
        raise ConfigurationError(f"MAX_CONCURRENCY={environ['MAX_CONCURRENCY']!r} is not a number") from None
    if concurrency < 1:
        raise ConfigurationError("MAX_CONCURRENCY must be at least 1")
    name = environ.get("RECURRING_RUN_NAME") or environ["PIPELINE_NAME"]
    return {
        "display_name": name,
        "description": f"Declared in Git ({environ.get('DECLARED_IN') or 'base/pipelines'}); "
                       "changed by the next sync, not by hand.",
        "experiment_id": experiment_id,
        "pipeline_version_reference": reference,
        "runtime_config": {"parameters": values},
        "trigger": {"cron_schedule": {"cron": kfp_cron(environ.get("SCHEDULE", ""))}},
        "max_concurrency": str(concurrency),
        "no_catchup": flag(environ, "NO_CATCHUP", True),
        "mode": "ENABLE" if flag(environ, "ENABLED", True) else "DISABLE",
    }


def differences(existing: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The settings of `wanted` that `existing` does not have, mode aside."""
    def reference(run: dict[str, Any]) -> tuple[str, str]:
        ref = run.get("pipeline_version_reference") or {}
        return str(ref.get("pipeline_id") or ""), str(ref.get("pipeline_version_id") or "")

    def cron(run: dict[str, Any]) -> str:
        return " ".join(str(((run.get("trigger") or {}).get("cron_schedule") or {}).get("cron") or "").split())

    checks = {
        "pipeline version": (reference(existing), reference(wanted)),
        "parameters": (json.dumps(((existing.get("runtime_config") or {}).get("parameters") or {}), sort_keys=True),
                       json.dumps(wanted["runtime_config"]["parameters"], sort_keys=True)),
        "schedule": (cron(existing), cron(wanted)),
        "max concurrency": (str(existing.get("max_concurrency") or "1"), wanted["max_concurrency"]),
        "catch-up": (bool(existing.get("no_catchup")), wanted["no_catchup"]),
        "description": (existing.get("description") or "", wanted["description"]),
    }
    return [name for name, (have, want) in checks.items() if have != want]


def recurring_runs_named(client: Client, experiment_id: str, name: str) -> list[dict[str, Any]]:
    # the list answer names its items `recurringRuns` (the proto's JSON name), unlike runs and experiments
    runs = client.list_all("recurringruns", "recurringRuns", {"experiment_id": experiment_id})
    return [run for run in runs if run.get("display_name") == name]


def main(environ: dict[str, str]) -> int:
    try:
        pipeline_name = environ.get("PIPELINE_NAME", "").strip()
        if not pipeline_name:
            raise ConfigurationError("PIPELINE_NAME is not set")
        kfp_cron(environ.get("SCHEDULE", ""))  # a malformed schedule fails before any call
        namespace = environ.get("NAMESPACE") or _read(f"{SERVICE_ACCOUNT_DIR}/namespace")
        dspa = environ.get("DSPA_NAME") or "dspa"
        host = environ.get("KFP_HOST") or f"https://ds-pipeline-{dspa}.{namespace}.svc:8443"
        client = Client(host, environ.get("TOKEN_FILE", f"{SERVICE_ACCOUNT_DIR}/token"),
                        environ.get("CA_FILE", f"{SERVICE_ACCOUNT_DIR}/service-ca.crt"))

        pipeline = find_pipeline(client, pipeline_name)
        pinned = environ.get("PIPELINE_VERSION", "").strip()
        version = find_version(client, pipeline, pinned)  # the newest one gives the inputs when none is pinned
        values = parameters(environ, input_types(version))
        experiment_name = environ.get("EXPERIMENT_NAME") or f"scheduled-{pipeline_name}"
        experiment_id = find_or_create_experiment(client, experiment_name)
        wanted = wanted_recurring_run(environ, pipeline, version if pinned else None, experiment_id, values)
        existing = recurring_runs_named(client, experiment_id, wanted["display_name"])
        if len(existing) == 1 and not differences(existing[0], wanted):
            current = existing[0]
            if (current.get("mode") or "ENABLE") == wanted["mode"]:
                action = "unchanged"
            else:
                verb = "enable" if wanted["mode"] == "ENABLE" else "disable"
                client.call("POST", f"recurringruns/{current['recurring_run_id']}:{verb}", body={})
                action = f"{verb}d"
            recurring_run_id = str(current["recurring_run_id"])
        else:
            changed = differences(existing[0], wanted) if len(existing) == 1 else []
            for run in existing:
                client.call("DELETE", f"recurringruns/{run['recurring_run_id']}")
            created = client.call("POST", "recurringruns", body=wanted)
            recurring_run_id = str(created.get("recurring_run_id"))
            action = (f"replaced ({', '.join(changed)} changed)" if changed
                      else "replaced duplicates" if existing else "created")
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"action": action, "recurring_run_id": recurring_run_id, "name": wanted["display_name"],
                      "schedule": wanted["trigger"]["cron_schedule"]["cron"], "mode": wanted["mode"],
                      "pipeline": pipeline_name, "version": pinned or "newest at each run",
                      "experiment": experiment_name, "parameters": values}))
    return 0


if __name__ == "__main__":
    sys.exit(main(dict(os.environ)))
