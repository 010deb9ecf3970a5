"""The retraining gate against a real Prometheus: retrain only when declared drift crossed its threshold.

A real `prometheus` server scrapes an exporter the test controls, which publishes TrustyAI's drift
gauges (`trustyai_meanshift`, `trustyai_kstest` with a `subcategory` per column), and evaluates the
repository's own rules: base/monitoring's rules file (model:trustyai_drift:pvalue) and the
thresholds fraud-detection's catalog declaration records (models/fraud-detection/monitoring.yaml,
with the `namespace` label user-workload monitoring would add). The gate's default signals are
then asked, first by the step function, then by the pipeline itself under kfp.local.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml
from fraud_detection_training import pipeline
from fraud_detection_training.retraining_signal import check_retraining_signal
from fraud_detection_training.transactions import generate_transactions
from kfp import local

from loopback import serving
from mlops.catalog import load_catalog
from mlops.config import load as load_config
from mlops.model_monitoring import rule_spec
from prometheus_server import Exporter, Prometheus, running_prometheus

pytestmark = pytest.mark.slow  # a real Prometheus server: see the marker in pyproject.toml

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "mlops-test"
MODEL = "fraud-detection"
FEATURES = {"MEANSHIFT": ("distance_from_home", "distance_from_last_transaction", "ratio_to_median_purchase_price"),
            "KSTEST": ("used_chip", "online_order")}
DRIFTED = 'model:trustyai_drift:pvalue{subcategory="distance_from_home"} <= 0.05'


def publish(exporter: Exporter, metric: str, subcategory: str, p_value: float) -> None:
    """A TrustyAI drift gauge as TrustyAI tags it (prometheus/PrometheusPublisher.java)."""
    exporter.set(f"trustyai_{metric.lower()}", p_value, model=MODEL, metricName=metric,
                 requestName=f"{MODEL}-{metric.lower()}", request=f"req-{metric.lower()}", batch_size="5000",
                 subcategory=subcategory)


def in_distribution(exporter: Exporter) -> None:
    for metric, features in FEATURES.items():
        for feature in features:
            publish(exporter, metric, feature, 0.6)


@pytest.fixture
def thresholds(tmp_path: Path) -> Path:
    """fraud-detection's declared thresholds as a rules file, with the namespace user-workload monitoring adds."""
    models, findings = load_catalog(ROOT, load_config(ROOT))
    assert findings == []
    spec = rule_spec(models[MODEL])
    for group in spec["groups"]:
        for rule in group["rules"]:
            rule["labels"]["namespace"] = NAMESPACE
    path = tmp_path / "thresholds.rules.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


@pytest.fixture
def exporter() -> Exporter:
    found = Exporter()
    in_distribution(found)
    return found


@pytest.fixture
def prometheus(tmp_path: Path, exporter: Exporter, thresholds: Path) -> Iterator[Prometheus]:
    rules = [ROOT / "base/monitoring/rules/model-alerts.rules.yaml", thresholds]
    with running_prometheus(tmp_path, exporter, rules, {"namespace": NAMESPACE}) as server:
        # both sides of the drift signal are being recorded
        server.wait_for('model:trustyai_drift:pvalue{subcategory="online_order"}')
        server.wait_for('model:trustyai_drift_threshold:pvalue{subcategory="online_order"}')
        yield server


def ask(prometheus: Prometheus, tmp_path: Path, force: bool = False, url: str | None = None,
        attempts: int = 3) -> tuple[bool, str]:
    report = tmp_path / "report.md"
    decision = check_retraining_signal(url or prometheus.url, pipeline.RETRAIN_SIGNALS_JSON, "10m", NAMESPACE, MODEL,
                                       force, str(report), attempts=attempts)
    return decision, report.read_text(encoding="utf-8")


def test_no_retraining_while_the_features_stay_in_distribution(prometheus: Prometheus, tmp_path: Path) -> None:
    retrain, report = ask(prometheus, tmp_path)
    assert retrain is False
    assert "**Decision:** skip: no signal crossed its threshold in the last 10m" in report
    assert report.count("no series: not crossed") == 2  # drift and fairness
    assert 'min_over_time(model:trustyai_drift:pvalue{namespace="mlops-test", model="fraud-detection"}[10m])' in report


def test_retraining_when_a_declared_feature_drifts(prometheus: Prometheus, exporter: Exporter, tmp_path: Path) -> None:
    publish(exporter, "MEANSHIFT", "distance_from_home", 0.01)
    prometheus.wait_for(DRIFTED)
    retrain, report = ask(prometheus, tmp_path)
    assert retrain is True
    assert "**Decision:** retrain: feature drift crossed its threshold in the last 10m" in report
    assert "metricName=MEANSHIFT, subcategory=distance_from_home: 0.01" in report
    # the drift dip is remembered over the window: back in distribution, the gate still says retrain
    publish(exporter, "MEANSHIFT", "distance_from_home", 0.7)
    prometheus.wait_for('model:trustyai_drift:pvalue{subcategory="distance_from_home"} > 0.5')
    assert ask(prometheus, tmp_path)[0] is True


def test_each_test_has_its_own_declared_threshold(prometheus: Prometheus, exporter: Exporter, tmp_path: Path) -> None:
    publish(exporter, "KSTEST", "online_order", 0.02)  # below meanshift's 0.05, above kstest's declared 0.01
    prometheus.wait_for('model:trustyai_drift:pvalue{subcategory="online_order"} == 0.02')
    assert ask(prometheus, tmp_path)[0] is False
    publish(exporter, "KSTEST", "online_order", 0.005)
    prometheus.wait_for('model:trustyai_drift:pvalue{subcategory="online_order"} == 0.005')
    assert ask(prometheus, tmp_path)[0] is True


def test_a_column_nobody_declared_does_not_retrain(prometheus: Prometheus, exporter: Exporter, tmp_path: Path) -> None:
    publish(exporter, "MEANSHIFT", "fraud_probability", 0.0001)  # TrustyAI computes every column, outputs too
    prometheus.wait_for('model:trustyai_drift:pvalue{subcategory="fraud_probability"}')
    assert ask(prometheus, tmp_path)[0] is False


def test_a_forced_run_retrains_and_still_reports_what_it_found(prometheus: Prometheus, tmp_path: Path) -> None:
    retrain, report = ask(prometheus, tmp_path, force=True)
    assert retrain is True
    assert "**Decision:** retrain: forced (force_retrain)" in report and "no series: not crossed" in report


def test_an_unreachable_prometheus_fails_the_gate_unless_forced(prometheus: Prometheus, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    with pytest.raises(RuntimeError, match="could not be reached"):
        ask(prometheus, tmp_path, url="http://127.0.0.1:9")
    assert waits == [2, 4]  # three attempts of a read
    retrain, report = ask(prometheus, tmp_path, force=True, url="http://127.0.0.1:9", attempts=1)
    assert retrain is True and report.count("query failed") == 2


def test_a_refused_query_fails_the_gate(prometheus: Prometheus, tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    with pytest.raises(RuntimeError, match="HTTP 400"):
        check_retraining_signal(prometheus.url, json.dumps({"broken": "sum(("}), "10m", NAMESPACE, MODEL, False,
                                str(report))


@pytest.mark.parametrize(("window", "signals", "message"), [
    ("a week", "{}", "not a Prometheus duration"),
    ("7d", '["drift"]', "must be a JSON object"),
])
def test_a_malformed_gate_is_refused(tmp_path: Path, window: str, signals: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_retraining_signal("http://127.0.0.1:9", signals, window, NAMESPACE, MODEL, False,
                                str(tmp_path / "r.md"))


def test_the_tenancy_port_gets_the_project_and_the_token(tmp_path: Path) -> None:
    """The Thanos Querier's port 9092 answers only with ?namespace= and a token allowed to view that project."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            data = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    token = tmp_path / "token"
    token.write_text("runner-token\n")
    with serving(Handler) as url:
        assert check_retraining_signal(url, pipeline.RETRAIN_SIGNALS_JSON, "7d", NAMESPACE, MODEL, False,
                                       str(tmp_path / "r.md"), token_file=str(token)) is False
    assert len(seen) == 2 and {s["authorization"] for s in seen} == {"Bearer runner-token"}
    assert all(s["path"].startswith("/api/v1/query?") and "namespace=mlops-test" in s["path"] for s in seen)


# --- the pipeline itself, gated, under kfp.local -------------------------------------------------

LOCAL_NOOPS = pytest.mark.filterwarnings("ignore:Task .* have no effect in the current local runner:UserWarning")


@pytest.fixture
def local_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """kfp.local in this environment, offline (as in test_training_pipeline.py), in project mlops-test."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.setenv("NAMESPACE", NAMESPACE)
    root = tmp_path / "local-outputs"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True)
    return root


def _tasks(root: Path) -> set[str]:
    (run,) = root.iterdir()
    return {path.name for path in run.iterdir() if path.is_dir()}


@LOCAL_NOOPS
def test_the_scheduled_run_stops_after_the_gate_without_drift_and_trains_with_it(
        prometheus: Prometheus, exporter: Exporter, local_runner: Path, tmp_path: Path) -> None:
    data = tmp_path / "transactions.csv"
    generate_transactions(str(data), rows=1500, seed=5)
    arguments = {"data_uri": str(data), "publish": False, "prometheus_url": prometheus.url, "retrain_window": "10m"}
    pipeline.train_fraud_detection(**arguments)
    assert _tasks(local_runner) == {"check-retraining-signal-step"}
    (report,) = local_runner.glob("*/check-retraining-signal-step/report")
    assert "**Decision:** skip" in report.read_text(encoding="utf-8")

    publish(exporter, "MEANSHIFT", "ratio_to_median_purchase_price", 0.001)
    prometheus.wait_for('model:trustyai_drift:pvalue{subcategory="ratio_to_median_purchase_price"} <= 0.05')
    for run in local_runner.iterdir():
        shutil.rmtree(run)  # the second run's tasks alone
    pipeline.train_fraud_detection(**arguments)
    assert {"check-retraining-signal-step", "load-data", "train", "evaluate"} <= _tasks(local_runner)
    (report,) = local_runner.glob("*/check-retraining-signal-step/report")
    assert "subcategory=ratio_to_median_purchase_price: 0.001" in report.read_text(encoding="utf-8")
