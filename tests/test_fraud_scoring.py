"""The example application apps/fraud-scoring: its objects per environment, its alerts, and the service
itself against a KServe v2 stand-in that serves the real ONNX model of the training package.

The stand-in answers `POST /v2/models/fraud-detection/infer` the way the model server does: it
checks the request against the catalog signature, requires a bearer token like the model's
kube-rbac-proxy, and computes the answer with onnxruntime from a model trained by
`models/fraud-detection/pipeline` (a small data set, so it takes seconds).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

from loopback import serving
from mlops import config as config_module

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "apps" / "fraud-scoring"
sys.path.insert(0, str(APP))

from fraud_scoring.metrics import Metrics  # noqa: E402
from fraud_scoring.model import ModelClient  # noqa: E402
from fraud_scoring.service import Scorer, handler  # noqa: E402

CONFIG = config_module.load(ROOT)
TOKEN = "scoring-sa-token"
ORDINARY = {"transaction_id": "t-1", "amount": 42.5, "distance_from_home": 5.0, "distance_from_last_transaction": 1.0,
            "ratio_to_median_purchase_price": 1.0, "used_chip": 1, "online_order": 0}
SUSPICIOUS = {"transaction_id": "t-2", "amount": 1900.0, "distance_from_home": 400.0,
              "distance_from_last_transaction": 80.0, "ratio_to_median_purchase_price": 6.0, "used_chip": 0,
              "online_order": 1}


# --- the objects of every environment -----------------------------------------------------------


@pytest.fixture
def rendered(rendered_environments: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return copy.deepcopy(rendered_environments)  # each test may change its objects


def only(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_the_service_calls_the_model_the_way_the_environment_serves_it(
        rendered: dict[str, list[dict[str, Any]]], env: str) -> None:
    objects = rendered[env]
    deployment = only(objects, "Deployment", "fraud-scoring")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    settings = {e["name"]: e.get("value") for e in container["env"]}
    isvc = only(objects, "InferenceService", settings["MODEL_NAME"])
    # a token where the model demands one, plain http where it does not
    assert settings["MODEL_AUTH"] == isvc["metadata"]["annotations"]["security.opendatahub.io/enable-auth"]
    role = only(objects, "Role", "fraud-scoring")
    assert role["rules"] == [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
                              "resourceNames": [isvc["metadata"]["name"]], "verbs": ["get"]}]
    binding = only(objects, "RoleBinding", "fraud-scoring")
    spec = deployment["spec"]["template"]["spec"]
    assert binding["subjects"][0]["name"] == spec["serviceAccountName"] == "fraud-scoring"
    code = only(objects, "ConfigMap", next(v["configMap"]["name"] for v in spec["volumes"] if "configMap" in v))
    for name, text in code["data"].items():
        assert text == (APP / "fraud_scoring" / name).read_text(encoding="utf-8"), name
    assert set(code["data"]) == {p.name for p in (APP / "fraud_scoring").glob("*.py")}


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_the_business_metrics_are_scraped(rendered: dict[str, list[dict[str, Any]]], env: str) -> None:
    objects = rendered[env]
    service = only(objects, "Service", "fraud-scoring")
    monitor = only(objects, "ServiceMonitor", "fraud-scoring")
    labels = service["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    pod_labels = only(objects, "Deployment", "fraud-scoring")["spec"]["template"]["metadata"]["labels"]
    assert all(pod_labels.get(k) == v for k, v in service["spec"]["selector"].items())


def test_prod_pages_on_the_business_alerts(rendered: dict[str, list[dict[str, Any]]]) -> None:
    rule = only(rendered["prod"], "PrometheusRule", "fraud-scoring")
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert alerts and {a["labels"]["severity"] for a in alerts} == {"critical"}


def test_the_dashboard_shows_the_business_metrics_and_an_alert_uses_one(repo_root: Path) -> None:
    dashboard = yaml.safe_load((repo_root / "base/monitoring/grafanadashboard-model-serving.yaml").read_text())
    exprs = " ".join(t["expr"] for p in json.loads(dashboard["spec"]["json"])["panels"] for t in p.get("targets", []))
    for metric in ("fraud_transactions_scored_total", "fraud_transactions_flagged_total",
                   "namespace:fraud_amount_at_risk:increase1h"):
        assert metric in exprs
    rules = yaml.safe_load((APP / "rules/fraud-scoring.rules.yaml").read_text(encoding="utf-8"))
    records = {r["record"]: r["expr"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    spike = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "FraudFlagRateSpike")
    assert "namespace:fraud_transactions_flagged:ratio_rate1h" in spike["expr"]
    assert "fraud_transactions_flagged_total" in records["namespace:fraud_transactions_flagged:ratio_rate1h"]
    assert "fraud_amount_at_risk_total" in records["namespace:fraud_amount_at_risk:increase1h"]


def test_the_rules_file_mirrors_the_prometheus_rule() -> None:
    rule = yaml.safe_load((APP / "prometheusrule-fraud-scoring.yaml").read_text(encoding="utf-8"))
    mirror = yaml.safe_load((APP / "rules/fraud-scoring.rules.yaml").read_text(encoding="utf-8"))
    assert rule["spec"]["groups"] == mirror["groups"], "copy spec.groups of the PrometheusRule into the rules file"


@pytest.mark.slow  # promtool as a subprocess: see the marker in pyproject.toml
def test_promtool_unit_tests_of_the_business_alerts_pass() -> None:
    promtool = shutil.which("promtool")
    if promtool is None and os.environ.get("CI") == "true":
        pytest.fail("promtool is not on PATH (CI=true): install the Debian package prometheus")
    if promtool is None:
        pytest.skip("promtool is not on PATH (Debian/Ubuntu: apt-get install prometheus)")
    result = subprocess.run([promtool, "test", "rules", "fraud-scoring-test.yaml"], cwd=APP / "tests",
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_what_the_deployment_runs() -> None:
    containerfile = (APP / "Containerfile").read_text(encoding="utf-8")
    deployment = yaml.safe_load((APP / "deployment.yaml").read_text(encoding="utf-8"))
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    base = next(line.split()[1] for line in containerfile.splitlines() if line.startswith("FROM "))
    assert base == container["image"]
    cmd = next(line.split(None, 1)[1] for line in containerfile.splitlines() if line.startswith("CMD "))
    assert json.loads(cmd) == container["command"]
    assert "COPY fraud_scoring/ /opt/app/fraud_scoring/" in containerfile and container["workingDir"] == "/opt/app"


# --- the service against a KServe v2 stand-in serving the real model ----------------------------


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fraud_detection_training.catalog import find_catalog, load_catalog, load_data_schema, signature_of
    from fraud_detection_training.onnx_export import export_onnx
    from fraud_detection_training.training import train_model
    from fraud_detection_training.transactions import generate_transactions

    folder = tmp_path_factory.mktemp("model")
    schema, signature = load_data_schema(), signature_of(load_catalog(find_catalog()))
    generate_transactions(str(folder / "data.csv"), rows=2500, seed=3)
    train_model(str(folder / "data.csv"), schema, str(folder / "model.pkl"), str(folder / "holdout.csv"), seed=3)
    export_onnx(str(folder / "model.pkl"), str(folder / "1" / "model.onnx"), signature, str(folder / "holdout.csv"),
                schema)
    return folder / "1" / "model.onnx"


class ModelServer:
    """`/v2/models/fraud-detection/{infer,ready}` with onnxruntime behind a bearer-token check."""

    def __init__(self, onnx_path: Path) -> None:
        import onnxruntime

        self.session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        catalog = yaml.safe_load((ROOT / "models/fraud-detection/model.yaml").read_text(encoding="utf-8"))
        self.signature = catalog["signature"]
        self.requests: list[dict[str, Any]] = []
        self.problems: list[str] = []

    def probability(self, features: list[float]) -> float:
        import numpy as np

        (result,) = self.session.run(None, {"transaction_features": np.array([features], dtype=np.float32)})
        return float(result[0, 0])

    def infer(self, body: dict[str, Any]) -> tuple[int, Any]:
        import numpy as np

        [wanted] = self.signature["inputs"]
        inputs = body.get("inputs") or []
        if len(inputs) != 1 or {k: inputs[0].get(k) for k in ("name", "datatype")} != {
                "name": wanted["name"], "datatype": wanted["datatype"]}:
            self.problems.append(f"inputs do not match the signature: {inputs}")
            return 400, {"error": "inputs do not match the model"}
        shape = inputs[0]["shape"]
        if len(shape) != 2 or shape[1] != wanted["shape"][1]:
            self.problems.append(f"shape {shape} does not match {wanted['shape']}")
            return 400, {"error": "bad shape"}
        rows = np.array(inputs[0]["data"], dtype=np.float32).reshape(shape)
        (result,) = self.session.run(None, {wanted["name"]: rows})
        [output] = self.signature["outputs"]
        return 200, {"model_name": "fraud-detection", "model_version": "1", "outputs": [
            {"name": output["name"], "datatype": output["datatype"], "shape": list(result.shape),
             "data": result.flatten().tolist()}]}


@pytest.fixture
def model_server(onnx_model: Path) -> Iterator[tuple[ModelServer, str]]:
    server = ModelServer(onnx_model)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer(200 if self.path == "/v2/models/fraud-detection/ready" else 404, {})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            server.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                    "body": body})
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._answer(401, {"error": "Unauthorized"})  # kube-rbac-proxy without a valid token
            elif self.path != "/v2/models/fraud-detection/infer":
                self._answer(404, {"error": "no such model"})
            else:
                self._answer(*server.infer(body))

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield server, url
    assert server.problems == []


@pytest.fixture
def token(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
def service(model_server: tuple[ModelServer, str], token: Path) -> Iterator[tuple[Scorer, str]]:
    scorer = Scorer(ModelClient(model_server[1], "fraud-detection", str(token), None), Metrics("EUR"), 0.5)
    with serving(handler(scorer)) as url:
        yield scorer, url


def call(url: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if response.headers["Content-Type"].startswith(
                "application/json") else text
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read().decode())


def samples(exposition: str) -> dict[str, float]:
    """name{labels} -> value of every sample of a text exposition."""
    values: dict[str, float] = {}
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


@pytest.mark.slow
def test_scores_with_the_real_model_and_counts_the_business(service: tuple[Scorer, str],
                                                            model_server: tuple[ModelServer, str]) -> None:
    _, url = service
    server, _ = model_server
    status, ordinary = call(url, "/v1/transactions/score", ORDINARY)
    assert status == 200 and ordinary["flagged"] is False and ordinary["transaction_id"] == "t-1"
    status, suspicious = call(url, "/v1/transactions/score", SUSPICIOUS)
    assert status == 200 and suspicious["flagged"] is True
    features = ["distance_from_home", "distance_from_last_transaction", "ratio_to_median_purchase_price",
                "used_chip", "online_order"]
    assert suspicious["fraud_probability"] == pytest.approx(server.probability([SUSPICIOUS[f] for f in features]))
    assert [r["authorization"] for r in server.requests] == [f"Bearer {TOKEN}"] * 2
    status, text = call(url, "/metrics")
    values = samples(text)
    assert values['fraud_transactions_scored_total{channel="in_store"}'] == 1
    assert values['fraud_transactions_scored_total{channel="online"}'] == 1
    assert values['fraud_transactions_flagged_total{channel="online"}'] == 1
    assert values['fraud_transactions_flagged_total{channel="in_store"}'] == 0
    assert values['fraud_amount_at_risk_total{currency="EUR"}'] == 1900.0
    assert values['fraud_amount_scored_total{currency="EUR"}'] == 1942.5
    assert values["fraud_model_request_duration_seconds_count"] == 2
    assert values['fraud_model_request_duration_seconds_bucket{le="+Inf"}'] == 2
    assert call(url, "/readyz")[0] == 200


@pytest.mark.slow
def test_what_cannot_be_scored_is_answered_and_counted_by_reason(service: tuple[Scorer, str], tmp_path: Path) -> None:
    scorer, url = service
    assert call(url, "/v1/transactions/score", {**ORDINARY, "amount": "lots"})[0] == 400
    assert call(url, "/v1/transactions/score", {**ORDINARY, "online_order": 2})[0] == 400
    (tmp_path / "token").write_text("revoked")  # the token no longer passes the model's proxy
    status, answer = call(url, "/v1/transactions/score", ORDINARY)
    assert status == 502 and "HTTP 401" in answer["error"]
    scorer.client.url = "http://127.0.0.1:9"
    assert call(url, "/v1/transactions/score", ORDINARY)[0] == 503
    assert call(url, "/readyz")[0] == 503
    values = samples(call(url, "/metrics")[1])
    assert {reason: values[f'fraud_scoring_failures_total{{reason="{reason}"}}']
            for reason in ("bad_request", "model_error", "model_unreachable")} == {
        "bad_request": 2, "model_error": 1, "model_unreachable": 1}
    assert values['fraud_transactions_scored_total{channel="in_store"}'] == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_the_entry_point_serves_until_it_is_stopped(model_server: tuple[ModelServer, str], token: Path) -> None:
    port = _free_port()
    environ = {**os.environ, "PYTHONPATH": str(APP), "MODEL_URL": model_server[1], "NAMESPACE": "mlops-test",
               "TOKEN_FILE": str(token), "PORT": str(port), "BIND_ADDRESS": "127.0.0.1",
               "FLAG_THRESHOLD": "0.9"}
    process = subprocess.Popen([sys.executable, "-m", "fraud_scoring"], env=environ, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if call(url, "/healthz")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        status, answer = call(url, "/v1/transactions/score", SUSPICIOUS)
        assert status == 200 and answer["threshold"] == 0.9
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert f"scoring with {model_server[1]}/v2/models/fraud-detection, flag threshold 0.9" in out


def test_a_bad_threshold_is_refused_at_start() -> None:
    result = subprocess.run([sys.executable, "-m", "fraud_scoring"], capture_output=True, text=True, timeout=30,
                            env={**os.environ, "PYTHONPATH": str(APP), "NAMESPACE": "x", "FLAG_THRESHOLD": "1.5"},
                            check=False)
    assert result.returncode == 2 and "FLAG_THRESHOLD=1.5 is not between 0 and 1" in result.stderr

