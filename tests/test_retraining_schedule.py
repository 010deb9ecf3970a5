"""Scheduled retraining: the recurring run declared in base/pipelines, per environment, and its script.

fraud-detection's retraining is a KFP recurring run (OpenShift AI's "Schedules") on each project's
pipeline server. An Argo CD PostSync hook Job makes the server's recurring run match Git after
every sync; each overlay sets its schedule, state and parameters. These tests render every
environment with the project's own kustomize engine and check what Argo CD would apply, then run
the Job's script against a stand-in pipeline server on loopback that checks every request body
against the API's own models.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import kfp_server_api.models
import pytest
import yaml

from loopback import serving
from mlops import config as config_module

ROOT = Path(__file__).resolve().parent.parent
CONFIG = config_module.load(ROOT)
JOB = "retrain-fraud-detection-schedule"
RECURRING_RUN = "retrain-fraud-detection"
HOOK = "argocd.argoproj.io/hook"
PIPELINE = "train-fraud-detection"
WAVE = "argocd.argoproj.io/sync-wave"
PIPELINE_IR = ROOT / "models" / "fraud-detection" / "pipeline" / "pipeline.yaml"

#: environment -> (cron expression, enabled, publish, force_retrain). Dev trains daily without
#: publishing, whatever production shows (a check of data and pipeline); test and prod look weekly
#: and retrain, publishing a candidate version by pull request, only when their project drifted.
#: A published version still reaches prod only by promotion.
EXPECTED = {
    "dev": ("0 2 * * *", "true", "false", "true"),
    "test": ("0 3 * * 1", "true", "true", "false"),
    "prod": ("0 3 * * 1", "true", "true", "false"),
}


# --- rendering ---------------------------------------------------------------------------------


@pytest.fixture
def rendered(rendered_environments: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return copy.deepcopy(rendered_environments)  # each test may change its objects


def only(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def wave(obj: dict[str, Any]) -> int:
    return int((obj["metadata"].get("annotations") or {}).get(WAVE, "0"))


def pod_spec(job: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = job["spec"]["template"]["spec"]
    return spec


def env_of(job: dict[str, Any]) -> dict[str, str]:
    [container] = pod_spec(job)["containers"]
    return {e["name"]: e.get("value", "") for e in container.get("env", []) if "valueFrom" not in e}


# --- cron expressions --------------------------------------------------------------------------

_FIELDS = (  # name, lowest, highest, names
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_ITEM = re.compile(r"^(?P<range>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")


def cron_problems(expression: str) -> list[str]:
    """Why `expression` is not a standard 5-field cron expression (as CronJob reads it), if it is not."""
    fields = expression.split()
    if len(fields) != 5:
        return [f"{len(fields)} fields, not 5"]
    problems = []
    for text, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for item in text.lower().split(","):
            match = _ITEM.match(item)
            if not match:
                problems.append(f"{name}: {item!r} is not a value, range or step")
                continue
            if match["step"] is not None and int(match["step"]) < 1:
                problems.append(f"{name}: step {match['step']} is below 1")
            if match["range"] == "*":
                continue
            values: list[int] = []
            for part in match["range"].split("-"):
                if part in names:
                    value = names.index(part) + (1 if name == "month" else 0)
                elif part.isdigit():
                    value = int(part)
                else:
                    value = -1
                if not low <= value <= high:
                    problems.append(f"{name}: {part!r} is outside {low}-{high}")
                values.append(value)
            if len(values) == 2 and values[0] > values[1]:
                problems.append(f"{name}: range {match['range']} runs backwards")
    return problems


@pytest.mark.parametrize("expression", ["0 2 * * *", "*/15 8-18 * * mon-fri", "0 0 1,15 jan,jul 0", "5 4 * * 7"])
def test_the_cron_check_accepts_valid_expressions(expression: str) -> None:
    assert cron_problems(expression) == []


@pytest.mark.parametrize("expression", ["0 2 * *", "60 2 * * *", "0 24 * * *", "0 0 0 * *", "0 0 * 13 *",
                                        "0 0 * * 8", "*/0 * * * *", "0 5-1 * * *", "@daily", "0 2 * * * *"])
def test_the_cron_check_rejects_invalid_expressions(expression: str) -> None:
    assert cron_problems(expression) != []


# --- the schedule in every environment -----------------------------------------------------------


def test_every_environment_has_an_expected_schedule() -> None:
    assert set(EXPECTED) == set(CONFIG.environment_names)


@pytest.mark.parametrize("env", list(EXPECTED))
def test_schedule_of_the_environment(rendered: dict[str, list[dict[str, Any]]], env: str) -> None:
    job = only(rendered[env], "Job", JOB)
    cron, enabled, publish, force = EXPECTED[env]
    assert job["apiVersion"] == "batch/v1"
    annotations = job["metadata"]["annotations"]
    assert annotations[HOOK] == "PostSync"  # after every sync, so the server follows Git
    assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    settings = env_of(job)
    assert settings["SCHEDULE"] == cron
    assert cron_problems(settings["SCHEDULE"]) == []
    assert settings["ENABLED"] == enabled
    assert settings["RECURRING_RUN_NAME"] == RECURRING_RUN
    assert settings["MAX_CONCURRENCY"] == "1" and settings["NO_CATCHUP"] == "true"
    assert settings["PARAM_publish"] == publish
    assert settings["PARAM_force_retrain"] == force


@pytest.mark.parametrize("env", list(EXPECTED))
def test_targets_the_pipeline_server_of_its_own_project(rendered: dict[str, list[dict[str, Any]]], env: str) -> None:
    objects = rendered[env]
    namespace = next(t.namespace for t in CONFIG.environments if t.name == env)
    job = only(objects, "Job", JOB)
    dspa = only(objects, "DataSciencePipelinesApplication")
    assert job["metadata"]["namespace"] == dspa["metadata"]["namespace"] == namespace
    env_vars = env_of(job)
    assert env_vars["PIPELINE_NAME"] == PIPELINE
    assert env_vars["DSPA_NAME"] == dspa["metadata"]["name"]
    assert "KFP_HOST" not in env_vars  # derived from DSPA_NAME and the pod's own namespace

    # The ServiceAccount may call exactly this DSPA's API: get (read), create (the experiment and the
    # recurring run, enable/disable) and delete (replace a recurring run whose declaration changed).
    spec = pod_spec(job)
    account = only(objects, "ServiceAccount", spec["serviceAccountName"])
    binding = next(b for b in objects if b["kind"] == "RoleBinding" and any(
        s["kind"] == "ServiceAccount" and s["name"] == account["metadata"]["name"] and s["namespace"] == namespace
        for s in b["subjects"]))
    role = only(objects, "Role", binding["roleRef"]["name"])
    assert role["rules"] == [{
        "apiGroups": ["datasciencepipelinesapplications.opendatahub.io"],
        "resources": ["datasciencepipelinesapplications/api"],
        "resourceNames": [dspa["metadata"]["name"]],
        "verbs": ["get", "create", "delete"],
    }]

    # The script comes from the generated ConfigMap of the same render.
    [container] = spec["containers"]
    script = container["command"][-1]
    mount = next(m for m in container["volumeMounts"] if script.startswith(m["mountPath"] + "/"))
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    config_map = only(objects, "ConfigMap", volume["configMap"]["name"])
    assert config_map["data"][Path(script).name] == (ROOT / "base/pipelines/recurring_run.py").read_text()


@pytest.mark.parametrize("env", list(EXPECTED))
def test_what_the_job_needs_syncs_after_the_pipeline_server(rendered: dict[str, list[dict[str, Any]]],
                                                            env: str) -> None:
    """The hook runs after the whole sync; the objects its pod uses come after the DSPA in it."""
    objects = rendered[env]
    dspa = only(objects, "DataSciencePipelinesApplication")
    spec = pod_spec(only(objects, "Job", JOB))
    rbac = [o for o in objects if o["kind"] in ("Role", "RoleBinding")
            and o["metadata"]["name"] == "pipeline-scheduler"]
    needed = [only(objects, "ServiceAccount", spec["serviceAccountName"]), *rbac,
              *(only(objects, "ConfigMap", v["configMap"]["name"]) for v in spec["volumes"] if "configMap" in v)]
    assert len(rbac) == 2
    for obj in needed:
        assert HOOK not in (obj["metadata"].get("annotations") or {})  # synced as resources, before the hook
        assert wave(dspa) < wave(obj), obj["metadata"]["name"]


@pytest.mark.parametrize("env", list(EXPECTED))
def test_parameters_are_inputs_of_the_compiled_pipeline(rendered: dict[str, list[dict[str, Any]]], env: str) -> None:
    parameters = {k.removeprefix("PARAM_") for k in env_of(only(rendered[env], "Job", JOB))
                  if k.startswith("PARAM_")}
    if not PIPELINE_IR.is_file():
        pytest.skip(f"{PIPELINE_IR.relative_to(ROOT)} is not compiled yet")
    documents = [d for d in yaml.safe_load_all(PIPELINE_IR.read_text()) if d]
    ir = documents[0]
    assert ir["pipelineInfo"]["name"] == PIPELINE
    inputs = ir["root"].get("inputDefinitions", {}).get("parameters", {})
    assert parameters <= set(inputs), f"not inputs of {PIPELINE}: {sorted(parameters - set(inputs))}"
    required = {name for name, spec in inputs.items() if "defaultValue" not in spec and not spec.get("isOptional")}
    assert required <= parameters, f"{env} does not set the required inputs {sorted(required - parameters)}"


# --- the script against a stand-in pipeline server ----------------------------------------------


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("recurring_run", ROOT / "base/pipelines/recurring_run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_problems(model: str, body: Any, where: str) -> list[str]:
    """What in a request body the KFP API's own model (kfp-server-api, same release as the SDK) does not know.

    The stand-in would otherwise accept whatever the script sends, typos included.
    """
    cls = getattr(kfp_server_api.models, model)
    if not isinstance(body, dict):
        return [f"{where}: not an object"]
    fields = {json_name: attribute for attribute, json_name in cls.attribute_map.items()}
    problems = [f"{where}: {model} has no field {key!r}" for key in sorted(set(body) - set(fields))]
    for key, value in body.items():
        kind = cls.openapi_types.get(fields.get(key, ""), "")
        if kind.startswith("V2beta1") and hasattr(kfp_server_api.models, kind) and \
                getattr(kfp_server_api.models, kind).attribute_map:
            problems += model_problems(kind, value, f"{where}.{key}")
        elif kind == "str" and not isinstance(value, str):
            problems.append(f"{where}.{key}: {value!r} is not a string")
        elif kind == "bool" and not isinstance(value, bool):
            problems.append(f"{where}.{key}: {value!r} is not a boolean")
        elif kind == "RecurringRunMode" and value not in kfp_server_api.models.RecurringRunMode.allowable_values:
            problems.append(f"{where}.{key}: {value!r} is not a RecurringRunMode")
    return problems


class FakeServer:
    """The KFP v2beta1 REST API calls the script makes, with an in-memory store; every request is kept.

    Request bodies are checked against the API's models; `problems` must stay empty.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.fail_creation: int | None = None
        self.requests: list[dict[str, Any]] = []
        self.experiments: list[dict[str, Any]] = []
        self.recurring_runs: dict[str, dict[str, Any]] = {}
        self.created = 0
        self.status = 200
        self.inputs = {"data_uri": "STRING", "epochs": "NUMBER_INTEGER", "version": "STRING",
                       "dry_run": "BOOLEAN"}

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> Any:
        if method == "GET" and path == "pipelines":
            if query.get("page_token") != "2":
                return {"pipelines": [{"pipeline_id": "p0", "display_name": "other"}], "next_page_token": "2"}
            return {"pipelines": [{"pipeline_id": "p1", "name": PIPELINE, "display_name": PIPELINE}]}
        if method == "GET" and path == "pipelines/p1/versions":
            if "sort_by" in query:
                assert query["sort_by"] == "created_at desc"
                return {"pipeline_versions": [{"pipeline_version_id": "v2", "display_name": "newest"}]}
            return {"pipeline_versions": [{"pipeline_version_id": "v1", "display_name": "first"},
                                          {"pipeline_version_id": "v2", "display_name": "newest"}]}
        if method == "GET" and path in ("pipelines/p1/versions/v1", "pipelines/p1/versions/v2"):
            parameters = {name: {"parameterType": kind} for name, kind in self.inputs.items()}
            version = path.rsplit("/", 1)[1]
            return {"pipeline_version_id": version, "display_name": version,
                    "pipeline_spec": {"pipelineInfo": {"name": PIPELINE}, "root": {
                        "inputDefinitions": {"parameters": parameters}}}}
        if method == "GET" and path == "experiments":
            wanted = json.loads(query["filter"])["predicates"][0]["string_value"]
            return {"experiments": [e for e in self.experiments if e["display_name"] == wanted]}
        if method == "POST" and path == "experiments":
            self.problems += model_problems("V2beta1Experiment", body, "POST experiments")
            self.experiments.append({"experiment_id": "e1", **body})
            return self.experiments[-1]
        if method == "GET" and path == "recurringruns":
            found = [r for r in self.recurring_runs.values() if r["experiment_id"] == query["experiment_id"]]
            return {"recurringRuns": found, "total_size": len(found)}
        if method == "POST" and path == "recurringruns":
            self.problems += model_problems("V2beta1RecurringRun", body, "POST recurringruns")
            self.created += 1
            run = {**body, "recurring_run_id": f"rr{self.created}", "status": "ENABLED"}
            self.recurring_runs[run["recurring_run_id"]] = run
            return run
        if method == "POST" and path.startswith("recurringruns/") and path.endswith((":enable", ":disable")):
            run_id, verb = path.removeprefix("recurringruns/").split(":")
            self.recurring_runs[run_id]["mode"] = "ENABLE" if verb == "enable" else "DISABLE"
            return {}
        if method == "DELETE" and path.startswith("recurringruns/"):
            del self.recurring_runs[path.removeprefix("recurringruns/")]
            return {}
        raise AssertionError(f"unexpected {method} {path}")


@pytest.fixture
def server() -> Iterator[tuple[FakeServer, str]]:
    fake = FakeServer()

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self, method: str) -> None:
            url = urlsplit(self.path)
            assert url.path.startswith("/apis/v2beta1/")
            path = url.path.removeprefix("/apis/v2beta1/")
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.requests.append({"method": method, "path": path, "query": query, "body": body,
                                  "authorization": self.headers.get("Authorization")})
            if fake.status != 200:
                payload, status = {"error": "denied"}, fake.status
            elif method == "POST" and path == "recurringruns" and fake.fail_creation:
                payload, status = {"error": "unavailable"}, fake.fail_creation
            else:
                payload, status = fake.answer(method, path, query, body), 200
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self.handle_one("GET")

        def do_POST(self) -> None:
            self.handle_one("POST")

        def do_DELETE(self) -> None:
            self.handle_one("DELETE")

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield fake, url
    assert fake.problems == [], fake.problems


@pytest.fixture
def environ(server: tuple[FakeServer, str], tmp_path: Path) -> dict[str, str]:
    token = tmp_path / "token"
    token.write_text("sa-token\n")
    return {"PIPELINE_NAME": PIPELINE, "KFP_HOST": server[1], "NAMESPACE": "mlops-dev",
            "TOKEN_FILE": str(token), "CA_FILE": str(tmp_path / "absent.crt"),
            "EXPERIMENT_NAME": "scheduled", "RECURRING_RUN_NAME": RECURRING_RUN, "SCHEDULE": "0 3 * * 1",
            "ENABLED": "true", "PARAM_data_uri": "s3://data/fraud/", "PARAM_epochs": "3", "PARAM_dry_run": "False"}


def mutating(fake: FakeServer) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in fake.requests if r["method"] != "GET"
            and r["path"] != "experiments"]


def test_script_creates_the_recurring_run(server: tuple[FakeServer, str], environ: dict[str, str]) -> None:
    fake, _ = server
    assert load_script().main(environ) == 0
    [run] = fake.recurring_runs.values()
    assert run["display_name"] == RECURRING_RUN
    assert run["pipeline_version_reference"] == {"pipeline_id": "p1"}  # always the newest version
    assert run["trigger"] == {"cron_schedule": {"cron": "0 0 3 * * 1"}}  # KFP's cron has seconds first
    assert run["mode"] == "ENABLE" and run["max_concurrency"] == "1" and run["no_catchup"] is True
    assert run["experiment_id"] == "e1" and fake.experiments[0]["display_name"] == "scheduled"
    assert run["runtime_config"]["parameters"] == {  # converted to the types the pipeline declares
        "data_uri": "s3://data/fraud/", "epochs": 3, "dry_run": False}
    assert {r["authorization"] for r in fake.requests} == {"Bearer sa-token"}


def test_a_second_sync_changes_nothing(server: tuple[FakeServer, str], environ: dict[str, str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    fake, _ = server
    script = load_script()
    assert script.main(environ) == 0
    before = mutating(fake)
    assert script.main(environ) == 0
    assert mutating(fake) == before
    assert '"action": "unchanged"' in capsys.readouterr().out


def test_a_changed_declaration_replaces_the_recurring_run(server: tuple[FakeServer, str], environ: dict[str, str],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    fake, _ = server
    script = load_script()
    assert script.main(environ) == 0
    assert script.main({**environ, "SCHEDULE": "30 1 * * *", "PIPELINE_VERSION": "first"}) == 0
    [run] = fake.recurring_runs.values()
    assert run["recurring_run_id"] == "rr2" and run["trigger"]["cron_schedule"]["cron"] == "0 30 1 * * *"
    assert run["pipeline_version_reference"] == {"pipeline_id": "p1", "pipeline_version_id": "v1"}
    assert mutating(fake)[-2:] == ["DELETE recurringruns/rr1", "POST recurringruns"]
    assert "pipeline version, schedule changed" in capsys.readouterr().out


def test_enabled_is_switched_in_place(server: tuple[FakeServer, str], environ: dict[str, str]) -> None:
    fake, _ = server
    script = load_script()
    assert script.main({**environ, "ENABLED": "false"}) == 0
    assert fake.recurring_runs["rr1"]["mode"] == "DISABLE"
    assert script.main(environ) == 0
    assert fake.recurring_runs["rr1"]["mode"] == "ENABLE"
    assert mutating(fake)[-1] == "POST recurringruns/rr1:enable"


def test_duplicates_made_by_hand_are_replaced_by_one(server: tuple[FakeServer, str], environ: dict[str, str]) -> None:
    fake, _ = server
    script = load_script()
    assert script.main(environ) == 0
    fake.recurring_runs["rr9"] = {**fake.recurring_runs["rr1"], "recurring_run_id": "rr9"}
    assert script.main(environ) == 0
    assert list(fake.recurring_runs) == ["rr2"]


@pytest.mark.parametrize("env", list(EXPECTED))
def test_script_runs_with_the_rendered_configuration(rendered: dict[str, list[dict[str, Any]]], env: str,
                                                     server: tuple[FakeServer, str], tmp_path: Path) -> None:
    fake, host = server
    if PIPELINE_IR.is_file():  # the stand-in server declares the compiled pipeline's inputs
        ir = next(d for d in yaml.safe_load_all(PIPELINE_IR.read_text()) if d)
        fake.inputs = {name: spec["parameterType"]
                       for name, spec in ir["root"]["inputDefinitions"]["parameters"].items()}
    token = tmp_path / "token"
    token.write_text("sa-token")
    configured = env_of(only(rendered[env], "Job", JOB))
    assert load_script().main({**configured, "KFP_HOST": host, "NAMESPACE": env, "TOKEN_FILE": str(token)}) == 0
    [run] = fake.recurring_runs.values()
    assert run["runtime_config"]["parameters"]["publish"] is (EXPECTED[env][2] == "true")
    assert run["mode"] == ("ENABLE" if EXPECTED[env][1] == "true" else "DISABLE")
    assert fake.experiments[0]["display_name"] == configured["EXPERIMENT_NAME"]


@pytest.mark.parametrize(("change", "message"), [
    ({"PARAM_learning_rate": "0.1"}, "no input learning_rate"),
    ({"PARAM_epochs": "three"}, "not a valid NUMBER_INTEGER"),
    ({"PIPELINE_NAME": "missing"}, "no pipeline named 'missing'"),
    ({"PIPELINE_NAME": ""}, "PIPELINE_NAME is not set"),
    ({"PIPELINE_VERSION": "nope"}, "has no version 'nope'"),
    ({"SCHEDULE": "0 3 * *"}, "has 4 fields"),
    ({"ENABLED": "yes"}, "neither true nor false"),
    ({"MAX_CONCURRENCY": "0"}, "at least 1"),
])
def test_script_refuses_a_wrong_configuration(server: tuple[FakeServer, str], environ: dict[str, str],
                                              capsys: pytest.CaptureFixture[str], change: dict[str, str],
                                              message: str) -> None:
    assert load_script().main({**environ, **change}) == 2
    assert message in capsys.readouterr().err
    assert server[0].recurring_runs == {}


def test_script_explains_a_refusal_of_the_proxy(server: tuple[FakeServer, str], environ: dict[str, str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    server[0].status = 403
    assert load_script().main(environ) == 1
    assert "datasciencepipelinesapplications/api" in capsys.readouterr().err


def test_a_failed_creation_is_not_retried(server: tuple[FakeServer, str], environ: dict[str, str]) -> None:
    """A POST that failed may still have taken effect: one attempt; the next sync reconciles again."""
    fake, _ = server
    fake.fail_creation = 503
    assert load_script().main(environ) == 1
    assert mutating(fake) == ["POST recurringruns"]


def test_the_model_check_catches_a_misspelt_field() -> None:
    problems = model_problems("V2beta1RecurringRun", {"display_name": "x", "pipeline_version_refrence": {},
                                                      "trigger": {"cron_schedule": {"cronn": "x"}},
                                                      "mode": "ON", "no_catchup": "true"}, "POST recurringruns")
    assert problems == ["POST recurringruns: V2beta1RecurringRun has no field 'pipeline_version_refrence'",
                        "POST recurringruns.trigger.cron_schedule: V2beta1CronSchedule has no field 'cronn'",
                        "POST recurringruns.mode: 'ON' is not a RecurringRunMode",
                        "POST recurringruns.no_catchup: 'true' is not a boolean"]


# --- Argo CD may apply what the schedule needs -------------------------------------------------


def test_the_environments_project_allows_every_kind_of_the_schedule(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    project = yaml.safe_load((ROOT / "base/argocd/appproject-environments.yaml").read_text())
    allowed = {(i["group"], i["kind"]) for i in project["spec"].get("namespaceResourceWhitelist", [])}
    for env, objects in rendered.items():
        for obj in objects:
            if obj["kind"] == "Namespace":
                continue
            group = obj["apiVersion"].rpartition("/")[0]
            assert (group, obj["kind"]) in allowed, f"{env}: Argo CD refuses {group or 'core'}/{obj['kind']}"


@pytest.mark.parametrize("env", sorted(EXPECTED))
def test_the_registration_token_is_where_runs_publish(rendered: dict[str, list[dict[str, Any]]], env: str) -> None:
    """A publishing run needs Secret mlops-git; an environment that never publishes gets no vault entry to miss."""
    tokens = [o for o in rendered[env] if o["kind"] == "ExternalSecret" and o["metadata"]["name"] == "mlops-git"]
    assert bool(tokens) is (EXPECTED[env][2] == "true")
    for token in tokens:
        assert token["spec"]["dataFrom"][0]["extract"]["key"] == f"{token['metadata']['namespace']}/git"
