"""`mlops model add-version --from-mlflow` against a real MLflow tracking server.

One `mlflow server` per test session (per xdist worker) holds the experiments, runs and registered
versions below, made with MLflow's own client; the CLI reads them over the REST API. MLflow is a dev
dependency: without it this module fails to import, it is never skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag

from mlflow_server import CLIENT_VARIABLES, canned_server, closed_port, mlflow_server, refusing_server
from mlops.catalog import check_text
from mlops.cli import main
from mlops.config import load
from repo_builder import copy_template

pytestmark = pytest.mark.slow  # end to end: see the marker in pyproject.toml

MODEL = "fraud-detection"
CATALOG = f"models/{MODEL}/model.yaml"
COMMIT = "3f2a9c1d5e7b9a0c2e4f6a8b0d1c3e5f7a9b1d3e"
BUCKET_ROOT = "s3://mlops-models/mlflow"
DATASET = "s3://mlops-data/fraud-detection/transactions-2025-08.parquet"
GATE_METRICS = {"auc": 0.975, "precision": 0.88, "recall": 0.83, "latency_p95_ms": 13.0}
ACCEPTED = "models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH"


@dataclass(frozen=True)
class Registry:
    """What the session's MLflow server holds."""

    url: str
    experiment_id: str
    run: str  # every gate metric, params, git commit, a training dataset; registered as fraud-detection/1
    run_created: str  # ISO date-time of fraud-detection/1
    logged_model: str  # MLflow 3 logged model "model" of `run` (so runs:/RUN/model), registered as fraud-detection/2
    logged_model_location: str  # in the bucket; an evaluation logged f1 (and an auc the run's wins over) to it
    no_precision_run: str  # lacks the prod gate's metric
    local_run: str  # artifacts on the server's disk (a small file under model/)
    failed_run: str
    proxied_run: str  # its logged model "model" is in mlflow-artifacts:/ (only the server reads it)


def _log_run(client: MlflowClient, experiment_id: str, metrics: Mapping[str, float], *, status: str = "FINISHED",
             tags: Mapping[str, str] | None = None) -> str:
    run_id: str = client.create_run(experiment_id, tags=dict(tags or {})).info.run_id
    for name, value in metrics.items():
        client.log_metric(run_id, name, value)
    client.set_terminated(run_id, status=status)
    return run_id


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    folder = tmp_path_factory.mktemp("mlflow")
    with mlflow_server(folder) as url:
        client = MlflowClient(tracking_uri=url, registry_uri=url)
        experiment = client.create_experiment(MODEL, artifact_location=BUCKET_ROOT)
        run = client.create_run(experiment, tags={"mlflow.source.git.commit": COMMIT.upper()}).info.run_id
        client.log_metric(run, "auc", 0.96, step=0)
        for name, value in GATE_METRICS.items():
            client.log_metric(run, name, value, step=1)  # the latest value counts
        client.log_metric(run, "eval/loss", 0.12)  # a name the catalog does not allow
        client.log_param(run, "n_estimators", "200")
        client.log_param(run, "learning_rate", "0.01")
        dataset = Dataset(name="transactions", digest="d0ca2a63", source_type="s3", source=json.dumps({"uri": DATASET}))
        client.log_inputs(run, datasets=[DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")])])
        client.set_terminated(run)
        client.create_registered_model(MODEL)
        first = client.create_model_version(MODEL, source=f"{BUCKET_ROOT}/{run}/artifacts/model", run_id=run,
                                            tags={"version": "1.3.0"})
        client.set_registered_model_alias(MODEL, "champion", first.version)
        logged = client.create_logged_model(experiment_id=experiment, source_run_id=run, name="model")
        client.create_model_version(MODEL, source=f"models:/{logged.model_id}", run_id=run, model_id=logged.model_id)
        evaluation = client.create_run(experiment).info.run_id  # MLflow 3 evaluations log to the model
        client.log_metric(evaluation, "f1", 0.855, model_id=logged.model_id)
        client.log_metric(evaluation, "auc", 0.5, model_id=logged.model_id)
        client.set_terminated(evaluation)

        no_precision = _log_run(client, experiment, {k: v for k, v in GATE_METRICS.items() if k != "precision"})
        failed = _log_run(client, experiment, GATE_METRICS, status="FAILED")
        local = client.create_experiment("local-artifacts")  # the server's --default-artifact-root: its disk
        local_run = _log_run(client, local, GATE_METRICS)
        artifact = folder / "model.onnx"
        artifact.write_bytes(b"not really onnx")
        client.log_artifact(local_run, str(artifact), "model")
        proxied = client.create_experiment("proxied", artifact_location="mlflow-artifacts:/proxied")
        proxied_run = client.create_run(proxied).info.run_id
        client.create_logged_model(experiment_id=proxied, source_run_id=proxied_run, name="model")
        client.create_registered_model("proxied-model")
        client.create_model_version("proxied-model", source=f"mlflow-artifacts:/proxied/{proxied_run}/artifacts/model",
                                    run_id=proxied_run)
        created = datetime.fromtimestamp(first.creation_timestamp / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        yield Registry(url, experiment, run, created, logged.model_id, logged.artifact_location, no_precision,
                       local_run, failed, proxied_run)


@pytest.fixture
def repo(repo_root: Path, tmp_path: Path) -> Path:
    return copy_template(repo_root, tmp_path / "repo")


def add_version(repo: Path, *args: str, tracking_uri: str | None = None, **env: str) -> Result:
    environment: dict[str, str | None] = dict.fromkeys(CLIENT_VARIABLES)
    environment["MLFLOW_TRACKING_URI"] = tracking_uri
    environment.update(env)
    return CliRunner().invoke(main, ["model", "add-version", MODEL, "--repo", str(repo), *args], env=environment)


def last_entry(repo: Path) -> dict[str, Any]:
    entry: dict[str, Any] = yaml.safe_load((repo / CATALOG).read_text())["versions"][-1]
    return entry


def assert_refused(result: Result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlops: "), result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]


# --- imports -------------------------------------------------------------------------------------------


def test_registered_version_fills_the_entry(registry: Registry, repo: Path) -> None:
    before = (repo / CATALOG).read_text()
    result = add_version(repo, "--version", "1.4.0", "--from-mlflow", f"models:/{MODEL}/1", tracking_uri=registry.url)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"added {MODEL} 1.4.0 to {CATALOG}\n"
    assert "'eval/loss' left out" in result.stderr  # said, not silently dropped
    assert last_entry(repo) == {
        "version": "1.4.0",
        "uri": f"{BUCKET_ROOT}/{registry.run}/artifacts/model",
        "created": registry.run_created,
        "metrics": {"auc": 0.975, "latency_p95_ms": 13, "precision": 0.88, "recall": 0.83},
        "lineage": {
            "commit": COMMIT,  # the tag is upper-case; git ids are written lower-case
            "dataset": DATASET,
            "mlflowTrackingUri": registry.url,
            "mlflowExperiment": MODEL,
            "mlflowExperimentId": registry.experiment_id,
            "mlflowRun": registry.run,
            "mlflowModel": f"models:/{MODEL}/1",
        },
        "parameters": {"learning_rate": "0.01", "n_estimators": "200"},
    }
    after = (repo / CATALOG).read_text()
    assert after.startswith(before.split("gates:")[0].rstrip("\n"))  # everything else as it was
    assert 'learning_rate: "0.01"' in after  # a string, as the schema wants
    assert f'mlflowExperimentId: "{registry.experiment_id}"' in after and f"mlflowRun: {registry.run}\n" in after
    model, findings = check_text(after, CATALOG, MODEL, load(repo))
    assert not findings and model is not None
    assert model.version("1.4.0").lineage["mlflowRun"] == registry.run  # type: ignore[union-attr]


def test_alias_and_version_tag_and_tracking_option(registry: Registry, repo: Path) -> None:
    with closed_port() as port:
        # --tracking-uri wins over MLFLOW_TRACKING_URI; credentials in it never reach the catalog.
        with_password = registry.url.replace("http://", "http://someone:pa55word@")
        result = add_version(repo, "--from-mlflow", f"models:/{MODEL}@champion", "--tracking-uri", with_password,
                             tracking_uri=f"http://127.0.0.1:{port}")
    assert result.exit_code == 0, result.output
    entry = last_entry(repo)
    assert entry["version"] == "1.3.0"  # the model version's tag `version`
    assert entry["lineage"]["mlflowModel"] == f"models:/{MODEL}/1"  # the alias resolved
    assert entry["lineage"]["mlflowTrackingUri"] == registry.url
    assert "pa55word" not in (repo / CATALOG).read_text()


def test_run_artifact_with_explicit_values_winning(registry: Registry, repo: Path) -> None:
    result = add_version(repo, "--version", "2.0.0", "--from-mlflow", f"runs:/{registry.run}/model",
                         "--metric", "auc=0.99", "--commit", "abcdef1", "--dataset", "s3://mlops-data/other.parquet",
                         "--pipeline-run", "train-fraud-detection-20250901", "--created", "2025-09-01",
                         tracking_uri=registry.url)
    assert result.exit_code == 0, result.output
    entry = last_entry(repo)
    assert entry["uri"] == registry.logged_model_location  # the run's logged model "model", as MLflow reads it
    assert entry["created"] == "2025-09-01"
    assert entry["metrics"]["auc"] == 0.99 and entry["metrics"]["recall"] == 0.83 and entry["metrics"]["f1"] == 0.855
    assert entry["lineage"] == {
        "commit": "abcdef1", "pipelineRun": "train-fraud-detection-20250901", "dataset": "s3://mlops-data/other.parquet",
        "mlflowTrackingUri": registry.url, "mlflowExperiment": MODEL, "mlflowExperimentId": registry.experiment_id,
        "mlflowRun": registry.run, "mlflowSource": f"runs:/{registry.run}/model",
    }


def test_logged_model_source_is_followed_to_its_bucket(registry: Registry, repo: Path) -> None:
    result = add_version(repo, "--version", "1.4.0", "--from-mlflow", f"models:/{MODEL}/2", tracking_uri=registry.url)
    assert result.exit_code == 0, result.output
    entry = last_entry(repo)
    assert entry["uri"] == registry.logged_model_location and entry["uri"].startswith(BUCKET_ROOT)
    assert "/models/m-" in entry["uri"] and registry.run not in entry["uri"]
    assert entry["lineage"]["mlflowSource"] == f"models:/{registry.logged_model}"
    # Metrics the run lacks come from the logged model; the run's own win (auc 0.975, not the model's 0.5).
    assert entry["metrics"] == {"auc": 0.975, "f1": 0.855, "latency_p95_ms": 13, "precision": 0.88, "recall": 0.83}
    assert f"metrics f1 come from MLflow logged model {registry.logged_model}" in result.stderr


def test_run_path_inside_the_logged_model(registry: Registry, repo: Path) -> None:
    result = add_version(repo, "--version", "1.4.0", "--from-mlflow", f"runs:/{registry.run}/model/MLmodel",
                         tracking_uri=registry.url)
    assert result.exit_code == 0, result.output
    assert last_entry(repo)["uri"] == f"{registry.logged_model_location}/MLmodel"


def test_run_path_that_is_no_logged_model_is_the_runs_artifact(registry: Registry, repo: Path) -> None:
    # The run has a logged model, but not one named "extras": its artifact_uri + PATH, no model metrics.
    result = add_version(repo, "--version", "1.4.0", "--from-mlflow", f"runs:/{registry.run}/extras/onnx",
                         tracking_uri=registry.url)
    assert result.exit_code == 0, result.output
    entry = last_entry(repo)
    assert entry["uri"] == f"{BUCKET_ROOT}/{registry.run}/artifacts/extras/onnx"
    assert "f1" not in entry["metrics"] and entry["metrics"]["auc"] == 0.975
    assert entry["lineage"]["mlflowSource"] == f"runs:/{registry.run}/extras/onnx"


def test_gate_metric_may_come_from_the_option(registry: Registry, repo: Path) -> None:
    result = add_version(repo, "--version", "1.4.0", "--from-mlflow", f"runs:/{registry.no_precision_run}/model",
                         "--metric", "precision=0.9", tracking_uri=registry.url)
    assert result.exit_code == 0, result.output
    entry = last_entry(repo)
    assert entry["metrics"]["precision"] == 0.9
    assert entry["uri"] == f"{BUCKET_ROOT}/{registry.no_precision_run}/artifacts/model"  # no logged model: the run's


@pytest.mark.parametrize("missing", [404, 405])
def test_server_without_logged_models_gives_the_runs_artifact(repo: Path, missing: int) -> None:
    # An MLflow 2.x server has no logged-models/search: runs:/RUN/PATH is the run's artifact_uri + PATH.
    run_id = "0123456789abcdef0123456789abcdef"
    run = {"info": {"run_id": run_id, "experiment_id": "7", "status": "FINISHED", "lifecycle_stage": "active",
                    "artifact_uri": f"{BUCKET_ROOT}/7/{run_id}/artifacts", "end_time": 1756684800000},
           "data": {"metrics": [{"key": name, "value": value} for name, value in GATE_METRICS.items()]}}
    answers = {"/api/2.0/mlflow/runs/get": {"run": run},
               "/api/2.0/mlflow/experiments/get": {"experiment": {"experiment_id": "7", "name": MODEL}}}
    with canned_server(answers, missing) as (url, seen):
        result = add_version(repo, "--version", "1.4.0", "--from-mlflow", f"runs:/{run_id}/model", tracking_uri=url)
    assert result.exit_code == 0, result.output
    assert last_entry(repo)["uri"] == f"{BUCKET_ROOT}/7/{run_id}/artifacts/model"
    assert "POST /api/2.0/mlflow/logged-models/search" in seen


def test_artifacts_on_the_server_need_an_explicit_uri(registry: Registry, repo: Path) -> None:
    before = (repo / CATALOG).read_bytes()
    reference = f"runs:/{registry.local_run}/model"
    assert_refused(add_version(repo, "--version", "1.4.0", "--from-mlflow", reference, tracking_uri=registry.url),
                   2, reference, "pass --uri")
    assert_refused(add_version(repo, "--version", "1.4.0", "--from-mlflow", "models:/proxied-model/1",
                               tracking_uri=registry.url), 2, "mlflow-artifacts:/proxied/", "pass --uri s3://")
    assert_refused(add_version(repo, "--version", "1.4.0", "--from-mlflow", f"runs:/{registry.proxied_run}/model",
                               tracking_uri=registry.url), 2, "mlflow-artifacts:/proxied/", "/models/m-",
                   "pass --uri s3://")
    assert (repo / CATALOG).read_bytes() == before
    result = add_version(repo, "--version", "1.4.0", "--from-mlflow", reference, "--uri", "s3://mlops-models/fd/1.4.0/",
                         tracking_uri=registry.url)
    assert result.exit_code == 0, result.output
    entry = last_entry(repo)
    assert entry["uri"] == "s3://mlops-models/fd/1.4.0/" and entry["lineage"]["mlflowSource"] == reference


# --- refusals: one line, nothing written -----------------------------------------------------------------

REFUSED = [
    # (id, reference, extra arguments, exit code, words in the message)
    ("version-missing", f"models:/{MODEL}/99", (), 2, (f"models:/{MODEL}/99 does not exist", "not found")),
    ("model-missing", "models:/no-such-model/1", (), 2, ("models:/no-such-model/1 does not exist",)),
    ("alias-missing", f"models:/{MODEL}@nope", (), 2, (f"models:/{MODEL}@nope does not exist",)),
    ("run-missing", "runs:/0123456789abcdef0123456789abcdef/model", (), 2,
     ("run 0123456789abcdef0123456789abcdef does not exist",)),
    ("gate-metric-missing", "runs:/{no_precision_run}/model", (), 2,
     ("metric precision required by the gates of prod is missing from MLflow run {no_precision_run}",
      "--metric precision=VALUE", CATALOG)),
    ("failed-run", "runs:/{failed_run}/model", (), 2, ("MLflow run {failed_run} ended FAILED",)),
    ("no-semver", "runs:/{run}/model", None, 2, ("pass --version", "not semantic versions")),
    ("duplicate", f"models:/{MODEL}/1", ("--version", "1.2.0"), 2, ("version 1.2.0 is already listed",)),
]


@pytest.mark.parametrize(("reference", "extra", "code", "words"), [case[1:] for case in REFUSED],
                         ids=[case[0] for case in REFUSED])
def test_refusals_change_nothing(registry: Registry, repo: Path, reference: str, extra: tuple[str, ...] | None,
                                 code: int, words: tuple[str, ...]) -> None:
    ids = {"run": registry.run, "no_precision_run": registry.no_precision_run, "failed_run": registry.failed_run}
    before = (repo / CATALOG).read_bytes()
    arguments = ("--version", "1.4.0") if extra == () else (extra or ())
    result = add_version(repo, "--from-mlflow", reference.format(**ids), *arguments, tracking_uri=registry.url)
    assert_refused(result, code, *(word.format(**ids) for word in words))
    assert (repo / CATALOG).read_bytes() == before


@pytest.mark.parametrize("reference", [f"models:/{MODEL}", f"models:/{MODEL}/latest", f"models:/{MODEL}/1/x",
                                       "runs:/", f"s3://mlops-models/{MODEL}/", f"{MODEL}/3", ""])
def test_malformed_reference_lists_the_accepted_forms(repo: Path, reference: str) -> None:
    before = (repo / CATALOG).read_bytes()
    assert_refused(add_version(repo, "--version", "1.4.0", "--from-mlflow", reference, tracking_uri="http://unused"),
                   2, ACCEPTED)
    assert (repo / CATALOG).read_bytes() == before


def test_unreachable_server_exits_3_naming_it(repo: Path) -> None:
    before = (repo / CATALOG).read_bytes()
    with closed_port() as port:
        result = add_version(repo, "--version", "1.4.0", "--from-mlflow", f"models:/{MODEL}/1",
                             tracking_uri=f"http://127.0.0.1:{port}/")
    assert_refused(result, 3, f"http://127.0.0.1:{port}", "MLFLOW_TRACKING_URI")
    assert (repo / CATALOG).read_bytes() == before


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_exit_3_naming_the_variables(repo: Path, status: int) -> None:
    before = (repo / CATALOG).read_bytes()
    with refusing_server(status) as (url, seen):
        with_token = add_version(repo, "--version", "1.4.0", "--from-mlflow", f"models:/{MODEL}/1", tracking_uri=url,
                                 MLFLOW_TRACKING_TOKEN="t0ken")
        with_password = add_version(repo, "--version", "1.4.0", "--from-mlflow", f"models:/{MODEL}/1",
                                    tracking_uri=url, MLFLOW_TRACKING_USERNAME="ci", MLFLOW_TRACKING_PASSWORD="pw")
    for result in (with_token, with_password):
        assert_refused(result, 3, f"HTTP {status}", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME",
                       "MLFLOW_TRACKING_PASSWORD", url)
        assert "t0ken" not in result.stderr
    assert seen == ["Bearer t0ken", "Basic Y2k6cHc="]  # base64 of ci:pw
    assert (repo / CATALOG).read_bytes() == before


def test_tracking_server_is_required(repo: Path) -> None:
    assert_refused(add_version(repo, "--version", "1.4.0", "--from-mlflow", f"models:/{MODEL}/1"),
                   2, "MLFLOW_TRACKING_URI", "--tracking-uri")
    assert_refused(add_version(repo, "--version", "1.4.0", "--from-mlflow", f"models:/{MODEL}/1",
                               tracking_uri="databricks"), 2, "http(s)://")


def test_without_mlflow_uri_and_version_stay_required(repo: Path) -> None:
    assert_refused(add_version(repo, "--version", "1.4.0"), 2, "--uri is required", "--from-mlflow")
    assert_refused(add_version(repo, "--uri", "s3://mlops-models/x/"), 2, "--version is required")
    assert_refused(add_version(repo, "--version", "1.4.0", "--uri", "s3://mlops-models/x/", "--tracking-uri",
                               "http://unused"), 2, "--tracking-uri is only used with --from-mlflow")


def test_help_teaches_the_mlflow_import() -> None:
    result = CliRunner().invoke(main, ["model", "add-version", "--help"])
    assert result.exit_code == 0
    assert f"--from-mlflow models:/{MODEL}/3" in result.output
    assert "MLFLOW_TRACKING_URI" in result.output and "runs:/RUN_ID/PATH" in result.output
