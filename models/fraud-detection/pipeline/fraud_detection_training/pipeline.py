"""The training pipeline of fraud-detection for OpenShift AI's pipeline server (Kubeflow Pipelines v2).

Every component is a thin wrapper around a step function (of the modules retraining_signal,
transactions, validation, features, training, onnx_export, evaluation, upload and registration), whose source
KFP copies into the component with `additional_funcs` (never `embedded_artifact_path`: its
tar+gzip carries timestamps, so the compiled pipeline.yaml would change on every compile). The
local run (`python -m fraud_detection_training`) calls the same functions.

The data schema (data-schema.yaml) and the catalog signature (models/fraud-detection/model.yaml)
are embedded as parameter defaults when the pipeline is compiled; `python -m
fraud_detection_training.compile` writes pipeline.yaml, which a test keeps in step with this source.

No `from __future__ import annotations` here: KFP reads the components' annotations as types.
"""

import json
from typing import Any, NamedTuple

from kfp import dsl, kubernetes
from kfp.dsl import Dataset, Input, Markdown, Metrics, Model, Output

from . import (
    evaluation,
    features,
    onnx_export,
    reference_data,
    registration,
    retraining_signal,
    training,
    transactions,
    upload,
    validation,
)
from .catalog import (
    DATA_SCHEMA,
    DEFAULT_MODEL_URI_PREFIX,
    check_schema_fits_signature,
    find_catalog,
    load_catalog,
    load_data_schema,
    signature_of,
)

# Red Hat's Python 3.11 image on UBI 9; it has git, which the register step needs. Pinned by a
# dated tag only: its digest could not be checked from where this template was written. Pinning
# by digest (image@sha256:...) is the fork's job, or pointing it at the fork's own image with the
# packages below preinstalled, so that runs need no PyPI.
BASE_IMAGE = "registry.access.redhat.com/ubi9/python-311:9.6-1756977307"

# Pinned as in this package's pyproject.toml (a test compares them): the local run, the tests and
# the pipeline train with the same libraries. kfp itself is added by the compiler, pinned to the SDK.
TRAINING_PACKAGES = ["numpy==2.4.6", "scikit-learn==1.9.1", "onnx==1.23.2", "onnxruntime==1.32.0"]
S3_PACKAGES = ["boto3==1.44.8"]
CATALOG_PACKAGES = ["PyYAML==6.0.4"]

S3_SECRET = "mlops-s3"  # the project's data connection (base/workbench/data-connection)
S3_KEYS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_ENDPOINT", "AWS_S3_BUCKET", "AWS_DEFAULT_REGION"]
GIT_SECRET = "mlops-git"  # a GitHub token that may push branches and open pull requests
GIT_TOKEN_KEY = "GITHUB_TOKEN"

_CATALOG = load_catalog(find_catalog())
MODEL_NAME: str = _CATALOG["name"]
SIGNATURE: dict = signature_of(_CATALOG)
DATA_SCHEMA_VALUES: dict = load_data_schema(DATA_SCHEMA)
check_schema_fits_signature(DATA_SCHEMA_VALUES, SIGNATURE)
# Passed as JSON text, not as dict parameters: KFP stores a dict as a protobuf Struct, whose key
# order in the compiled file changes from one compile to the next and whose numbers all turn
# into floats (shape [-1.0, 5.0]).
SIGNATURE_JSON = json.dumps(SIGNATURE, sort_keys=True)
DATA_SCHEMA_JSON = json.dumps(DATA_SCHEMA_VALUES, sort_keys=True)

# The retraining gate. The Thanos Querier's tenancy port answers PromQL for one project to a caller
# with the `view` role there (base/pipelines grants it to the pipeline runner).
PROMETHEUS_URL = "https://thanos-querier.openshift-monitoring.svc:9092"
# Signals that justify a retrain, over the window between two scheduled runs: any series in the
# answer says yes. They read what base/monitoring records from TrustyAI (model:trustyai_drift:pvalue,
# model:trustyai_fairness:distance) and the thresholds the catalog declares
# (models/<model>/monitoring.yaml); {namespace}, {model} and {window} are filled in at run time.
RETRAIN_SIGNALS = {
    "feature drift": (
        'min_over_time(model:trustyai_drift:pvalue{namespace="{namespace}", model="{model}"}[{window}])'
        " <= on (namespace, model, metricName, subcategory) "
        'max_over_time(model:trustyai_drift_threshold:pvalue{namespace="{namespace}", model="{model}"}[{window}])'),
    "fairness out of bounds": (
        'max_over_time(model:trustyai_fairness:distance{namespace="{namespace}", model="{model}"}[{window}])'
        " > on (namespace, model, metricName, protected, outcome) "
        'max_over_time(model:trustyai_fairness_threshold:delta{namespace="{namespace}", model="{model}"}[{window}])'),
}
RETRAIN_SIGNALS_JSON = json.dumps(RETRAIN_SIGNALS, sort_keys=True)


@dsl.component(base_image=BASE_IMAGE, additional_funcs=[retraining_signal.check_retraining_signal])
def check_retraining_signal_step(prometheus_url: str, retrain_signals: str, retrain_window: str, model_name: str,
                                 force_retrain: bool, report: Output[Markdown]) -> bool:
    """Ask Prometheus whether drift or a quality signal crossed its threshold; the report says what it found."""
    import os

    account = "/var/run/secrets/kubernetes.io/serviceaccount"
    namespace = os.environ.get("NAMESPACE", "")  # a local run (kfp.local) names its project here
    if os.path.isfile(f"{account}/namespace"):
        with open(f"{account}/namespace", encoding="utf-8") as handle:
            namespace = handle.read().strip()
    return check_retraining_signal(prometheus_url, retrain_signals, retrain_window,  # noqa: F821
                                   namespace, model_name, force_retrain, report.path,
                                   token_file=f"{account}/token", ca_file=f"{account}/service-ca.crt")


@dsl.component(base_image=BASE_IMAGE, packages_to_install=S3_PACKAGES, additional_funcs=[transactions.fetch_data])
def load_data(data_uri: str, data: Output[Dataset]):
    """Copy the training data from S3 (or a local path, for kfp.local) into the run's artifact store."""
    fetch_data(data_uri, data.path)  # noqa: F821 (defined in the component by additional_funcs)
    data.metadata["source"] = data_uri


@dsl.component(base_image=BASE_IMAGE, additional_funcs=[validation.validate_data])
def validate_training_data(data: Input[Dataset], data_schema: str, report: Output[Markdown]):
    """Check the data against the data schema; a failed check fails the task with the report as its error.

    The report goes to the Markdown artifact first; KFP does not upload the outputs of a failed
    task, so on the cluster a failure's report is read in the task's log (the raised error).
    """
    import json
    import os

    report_text = os.path.join(os.path.dirname(report.path), "validation-report.txt")
    try:
        validate_data(data.path, json.loads(data_schema), report_text,  # noqa: F821
                      source=data.metadata.get("source", ""))
    finally:
        if os.path.exists(report_text):
            with open(report_text, encoding="utf-8") as source, open(report.path, "w", encoding="utf-8") as target:
                target.write("```\n" + source.read() + "```\n")


@dsl.component(base_image=BASE_IMAGE, packages_to_install=TRAINING_PACKAGES,
               additional_funcs=[features.load_feature_matrix, training.train_model])
def train(data: Input[Dataset], data_schema: str, seed: int, model: Output[Model], holdout: Output[Dataset]):
    """Train the scikit-learn model on a stratified split; the held-out rows go to evaluation."""
    import json

    summary = train_model(data.path, json.loads(data_schema), model.path, holdout.path, seed=seed)  # noqa: F821
    model.metadata.update({"framework": "scikit-learn", **summary})


@dsl.component(base_image=BASE_IMAGE, packages_to_install=TRAINING_PACKAGES,
               additional_funcs=[features.load_feature_matrix, onnx_export.export_onnx,
                                 reference_data.write_reference_data])
def export_model(model: Input[Model], holdout: Input[Dataset], data: Input[Dataset], data_schema: str,
                 signature: str, onnx_model: Output[Model]):
    """Export to ONNX in the folder layout OpenVINO Model Server reads: <artifact>/1/model.onnx.

    Beside it, <artifact>/trustyai-reference.json: a sample of the training data with the model's
    outputs, TrustyAI's drift reference for this version (uploaded with the model).
    """
    import json
    import os

    onnx_file = os.path.join(onnx_model.path, "1", "model.onnx")
    export_onnx(model.path, onnx_file, json.loads(signature), holdout.path, json.loads(data_schema))  # noqa: F821
    summary = write_reference_data(data.path, onnx_file, json.loads(data_schema), json.loads(signature),  # noqa: F821
                                   os.path.join(onnx_model.path, "trustyai-reference.json"))
    onnx_model.metadata.update({"format": "onnx", **summary})


@dsl.component(base_image=BASE_IMAGE, packages_to_install=TRAINING_PACKAGES,
               additional_funcs=[onnx_export.check_onnx_signature])
def check_model_signature(onnx_model: Input[Model], signature: str) -> dict:
    """Compare the ONNX file with the catalog signature and run one inference; fail on any difference."""
    import json
    import os

    return check_onnx_signature(os.path.join(onnx_model.path, "1", "model.onnx"),  # noqa: F821
                                json.loads(signature))


@dsl.component(base_image=BASE_IMAGE, packages_to_install=TRAINING_PACKAGES,
               additional_funcs=[features.load_feature_matrix, evaluation.evaluate_model])
def evaluate(onnx_model: Input[Model], holdout: Input[Dataset], signature: str, data_schema: str,
             metrics: Output[Metrics]) -> dict:
    """Score the ONNX file on the held-out rows; the metrics show in the dashboard and go to the catalog."""
    import json
    import os

    values = evaluate_model(os.path.join(onnx_model.path, "1", "model.onnx"), holdout.path,  # noqa: F821
                            json.loads(signature), json.loads(data_schema))
    for name, value in values.items():
        metrics.log_metric(name, value)
    return values


@dsl.component(base_image=BASE_IMAGE, packages_to_install=CATALOG_PACKAGES + S3_PACKAGES,
               additional_funcs=[registration.next_version, registration.git_credential_helper,
                                 registration.clone_repository, registration.registration_branch_versions,
                                 upload.uploaded_versions, registration.resolve_version])
def resolve_model_version(repo_url: str, base_branch: str, model_name: str, model_uri_prefix: str,
                          version: str) -> str:
    """The version to publish: `version`, or the next minor after every version already taken.

    Taken: in the catalog, with a registration branch on the remote, or uploaded under model_uri_prefix.
    """
    import tempfile

    return resolve_version(repo_url, base_branch, model_name, model_uri_prefix, version,  # noqa: F821
                           tempfile.mkdtemp())


@dsl.component(base_image=BASE_IMAGE, packages_to_install=S3_PACKAGES,
               additional_funcs=[upload.file_digest, upload.upload_model])
def upload_model_version(onnx_model: Input[Model], model_uri_prefix: str, version: str) -> NamedTuple(
        "Published", [("uri", str), ("digest", str)]):
    """Upload the model folder to <model_uri_prefix><version>/ (never overwriting) and digest model.onnx."""
    import os
    from collections import namedtuple

    uri = model_uri_prefix.rstrip("/") + "/" + version + "/"
    for written in upload_model(onnx_model.path, uri):  # noqa: F821
        print(f"uploaded {written}")
    published = namedtuple("Published", ["uri", "digest"])
    return published(uri, file_digest(os.path.join(onnx_model.path, "1", "model.onnx")))  # noqa: F821


@dsl.component(base_image=BASE_IMAGE,
               additional_funcs=[registration.add_version_command, registration.git_credential_helper,
                                 registration.clone_repository, registration.register_version])
def register_model_version(repo_url: str, base_branch: str, model_name: str, version: str, uri: str, digest: str,
                           metrics: dict, dataset: str, pipeline_run: str, code_commit: str) -> str:
    """Open the pull request that adds the version to the catalog (mlops model add-version --pull-request)."""
    import tempfile

    return register_version(repo_url, base_branch, tempfile.mkdtemp(), model_name, version, uri,  # noqa: F821
                            digest, metrics, dataset, pipeline_run, code_commit)


def _s3_credentials(task: dsl.PipelineTask) -> None:
    kubernetes.use_secret_as_env(task, secret_name=S3_SECRET, secret_key_to_env={key: key for key in S3_KEYS})


def _git_credentials(task: dsl.PipelineTask) -> None:
    kubernetes.use_secret_as_env(task, secret_name=GIT_SECRET, secret_key_to_env={GIT_TOKEN_KEY: GIT_TOKEN_KEY})


def _resources(task: dsl.PipelineTask, cpu: str = "500m", memory: str = "1Gi") -> None:
    """Requests and a memory limit on every step: projects with a ResourceQuota refuse pods without them."""
    task.set_cpu_request(cpu).set_memory_request(memory).set_memory_limit(memory)


def _train_and_publish(data_uri: Any, seed: Any, version: Any, model_uri_prefix: Any, repo_url: Any,
                       base_branch: Any, code_commit: Any, publish: Any, model_name: Any, signature: Any,
                       data_schema: Any) -> None:
    """The tasks after the gate (pipeline channels in, tasks out)."""
    loaded = load_data(data_uri=data_uri).set_display_name("load data")
    loaded.set_caching_options(False)  # the object behind data_uri may have changed since the last run
    _s3_credentials(loaded)
    _resources(loaded)

    validated = validate_training_data(data=loaded.outputs["data"], data_schema=data_schema)
    validated.set_display_name("validate data")
    _resources(validated)

    trained = train(data=loaded.outputs["data"], data_schema=data_schema, seed=seed).after(validated)
    trained.set_display_name("train")
    _resources(trained, cpu="1", memory="2Gi")

    exported = export_model(model=trained.outputs["model"], holdout=trained.outputs["holdout"],
                            data=loaded.outputs["data"], data_schema=data_schema, signature=signature)
    exported.set_display_name("export ONNX and drift reference")
    _resources(exported)

    checked = check_model_signature(onnx_model=exported.outputs["onnx_model"], signature=signature)
    checked.set_display_name("check ONNX signature")
    _resources(checked)

    evaluated = evaluate(onnx_model=exported.outputs["onnx_model"], holdout=trained.outputs["holdout"],
                              signature=signature, data_schema=data_schema).set_display_name("evaluate")
    _resources(evaluated, cpu="1")

    with dsl.If(publish == True, name="publish"):  # noqa: E712 (a KFP condition, not a Python comparison)
        resolved = resolve_model_version(repo_url=repo_url, base_branch=base_branch, model_name=model_name,
                                         model_uri_prefix=model_uri_prefix, version=version).after(checked, evaluated)
        resolved.set_display_name("resolve version").set_caching_options(False)
        _git_credentials(resolved)
        _s3_credentials(resolved)  # to see which versions model_uri_prefix already holds
        _resources(resolved)

        uploaded = upload_model_version(onnx_model=exported.outputs["onnx_model"], model_uri_prefix=model_uri_prefix,
                               version=resolved.output)
        uploaded.set_display_name("upload model").set_caching_options(False)
        _s3_credentials(uploaded)
        _resources(uploaded)

        registered = register_model_version(
            repo_url=repo_url, base_branch=base_branch, model_name=model_name, version=resolved.output,
            uri=uploaded.outputs["uri"], digest=uploaded.outputs["digest"], metrics=evaluated.outputs["Output"],
            dataset=data_uri, pipeline_run=dsl.PIPELINE_JOB_ID_PLACEHOLDER, code_commit=code_commit,
        )
        registered.set_display_name("register version").set_caching_options(False)
        _git_credentials(registered)
        _resources(registered)


@dsl.pipeline(
    name="train-fraud-detection",
    description="When production drifted (or when forced): load, validate, train, export to ONNX, check against "
                "the catalog signature, evaluate, upload and register a new version of fraud-detection by pull "
                "request.",
)
def train_fraud_detection(
    data_uri: str = "s3://mlops-data/fraud-detection/transactions.csv",
    seed: int = 42,
    version: str = "",
    model_uri_prefix: str = DEFAULT_MODEL_URI_PREFIX,
    repo_url: str = "https://github.com/example-org/rhoai-mlops-gitops.git",
    base_branch: str = "main",
    code_commit: str = "",
    publish: bool = True,
    force_retrain: bool = False,
    retrain_window: str = "7d",
    prometheus_url: str = PROMETHEUS_URL,
    retrain_signals: str = RETRAIN_SIGNALS_JSON,
    model_name: str = MODEL_NAME,
    signature: str = SIGNATURE_JSON,
    data_schema: str = DATA_SCHEMA_JSON,
):
    """Train fraud-detection when production asks for it; with publish, upload it and open the catalog pull request.

    The first step asks prometheus_url each of retrain_signals over retrain_window; the run goes on
    only when one of them answers with a series, or with force_retrain.

    data_uri: s3://BUCKET/KEY of the CSV training data (a local path for kfp.local runs).
    version: version to publish; empty = next minor after the newest taken version (in the catalog, with a
        registration branch mlops/register/<model>-<version>, or uploaded under model_uri_prefix).
    code_commit: commit of the training code for the lineage; empty = head of base_branch.
    publish: false trains, checks and evaluates only (nothing uploaded, no pull request).
    force_retrain: true retrains whatever production shows (the gate still reports what it found).
    retrain_window: Prometheus duration the signals look back over (the time between two scheduled runs).
    retrain_signals: JSON object of signal name -> PromQL with {namespace}, {model} and {window}.
    signature, data_schema: JSON, embedded from model.yaml and data-schema.yaml at compile time.
    """
    gate = check_retraining_signal_step(prometheus_url=prometheus_url, retrain_signals=retrain_signals,
                                        retrain_window=retrain_window, model_name=model_name,
                                        force_retrain=force_retrain)
    gate.set_display_name("check retraining signal").set_caching_options(False)  # production changes by the hour
    _resources(gate, cpu="100m", memory="256Mi")
    with dsl.If(gate.outputs["Output"] == True, name="retrain"):  # noqa: E712 (a KFP condition)
        _train_and_publish(data_uri, seed, version, model_uri_prefix, repo_url, base_branch, code_commit, publish,
                           model_name, signature, data_schema)
