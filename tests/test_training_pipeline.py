"""The Kubeflow pipeline of fraud-detection: committed IR in step with the source, wiring, local runs.

The pipeline runs here with kfp.local's SubprocessRunner in this virtual environment
(use_venv=False). Each component still starts with `pip install` of its pinned packages; with
PIP_NO_INDEX=1 pip never reaches an index and succeeds only because the pins equal what the
package's pyproject.toml installed (test_pins_match_the_package), so the runs work offline.
The components run from the source KFP embedded, not from the installed package: a step function
that is not self-contained fails here.
"""

from __future__ import annotations

import builtins
import re
import symtable
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from fraud_detection_training import pipeline
from fraud_detection_training.catalog import PIPELINE_DIR, PIPELINE_IR
from fraud_detection_training.compile import COMMAND, compile_pipeline
from fraud_detection_training.onnx_export import check_onnx_signature
from fraud_detection_training.transactions import generate_transactions
from kfp import local

pytestmark = pytest.mark.slow  # end to end: see the marker in pyproject.toml


def _documents(path: Path) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_pipeline(tmp_path_factory.mktemp("ir") / "pipeline.yaml")


def test_compilation_is_deterministic(compiled: Path, tmp_path: Path) -> None:
    again = compile_pipeline(tmp_path / "again.yaml")
    assert again.read_bytes() == compiled.read_bytes(), "two compiles of the same source differ"


def test_committed_pipeline_is_up_to_date(compiled: Path) -> None:
    relative = PIPELINE_IR.relative_to(PIPELINE_DIR.parent.parent.parent).as_posix()
    assert PIPELINE_IR.is_file(), f"{relative} is missing; run `{COMMAND}` and commit it"
    assert PIPELINE_IR.read_bytes() == compiled.read_bytes(), (
        f"{relative} is stale: the pipeline source, data-schema.yaml or the catalog signature changed since it "
        f"was compiled. Run `{COMMAND}` (with the package installed: pip install -e {PIPELINE_DIR.name}) "
        "and commit the result.")


def test_ir_embeds_step_source_not_archives(compiled: Path) -> None:
    spec, _platform = _documents(compiled)
    executors = spec["deploymentSpec"]["executors"]
    validate = "\n".join(executors["exec-validate-training-data"]["container"]["command"])
    assert "def validate_data(data_path: str, schema: dict[str, Any], report_path: str, source: str = \"\")" \
        in validate
    text = compiled.read_text(encoding="utf-8")
    assert "base64" not in text and "tarfile" not in text  # no embedded_artifact_path
    images = {executor["container"]["image"] for executor in executors.values()}
    assert images == {pipeline.BASE_IMAGE}


def test_ir_embeds_the_catalog_signature_and_schema(compiled: Path) -> None:
    spec, _platform = _documents(compiled)
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert yaml.safe_load(parameters["signature"]["defaultValue"]) == pipeline.SIGNATURE
    assert yaml.safe_load(parameters["data_schema"]["defaultValue"]) == pipeline.DATA_SCHEMA_VALUES
    assert parameters["model_uri_prefix"]["defaultValue"] == "s3://mlops-models/fraud-detection/"
    assert parameters["version"]["defaultValue"] == ""


def test_ir_injects_secrets_only_where_needed(compiled: Path) -> None:
    _spec, platform = _documents(compiled)
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    secrets = {name: {entry["secretName"]: sorted(pair["envVar"] for pair in entry["keyToEnv"])
                      for entry in executor.get("secretAsEnv", [])} for name, executor in executors.items()}
    s3 = {"mlops-s3": sorted(pipeline.S3_KEYS)}
    git = {"mlops-git": ["GITHUB_TOKEN"]}
    assert secrets == {"exec-load-data": s3, "exec-upload-model-version": s3,
                       "exec-resolve-model-version": {**git, **s3},  # s3: which versions are uploaded already
                       "exec-register-model-version": git}


def _component_program(executor: dict[str, Any]) -> str:
    """The Python program KFP embeds in a lightweight component's container (what ephemeral_component.py holds)."""
    container = executor["container"]
    programs = [text for text in container["command"] + container.get("args", [])
                if "\ndef " in text and "import kfp" in text]
    assert len(programs) == 1, f"expected one embedded program, found {len(programs)}"
    return programs[0]


def _unresolved_globals(program: str) -> dict[str, set[str]]:
    """Per function of `program`, the global names it uses that neither the program nor the builtins define.

    The program runs in a fresh namespace (it only imports kfp and typing and defines functions, so
    every module-level name, annotations included, must resolve or exec fails); the compiler's
    symbol table then says which names each function, and every scope nested in it, reads as a
    global. Such a name defined nowhere is a step function missing from `additional_funcs`: the
    component would fail with NameError on the cluster, only when that code path runs.
    """
    namespace: dict[str, Any] = {"__name__": "ephemeral_component"}
    exec(compile(program, "ephemeral_component.py", "exec"), namespace)
    defined = set(namespace) | set(dir(builtins))

    def global_names(scope: symtable.SymbolTable) -> set[str]:
        names = {symbol.get_name() for symbol in scope.get_symbols() if symbol.is_global()}
        for child in scope.get_children():
            names |= global_names(child)
        return names

    functions = [scope for scope in symtable.symtable(program, "ephemeral_component.py", "exec").get_children()
                 if scope.get_type() == "function"]
    assert functions, "no functions in the embedded program"
    return {function.get_name(): global_names(function) - defined for function in functions}


@pytest.mark.parametrize("which", ["committed", "compiled from this source"])
def test_every_component_carries_the_step_functions_it_calls(which: str, compiled: Path) -> None:
    """`additional_funcs` is complete for every component, the publishing ones (never run locally) included."""
    spec, _platform = _documents(PIPELINE_IR if which == "committed" else compiled)
    executors = spec["deploymentSpec"]["executors"]
    assert len(executors) == 10
    unresolved = {}
    for name, executor in sorted(executors.items()):
        program = _component_program(executor)
        entry = executor["container"]["args"][executor["container"]["args"].index("--function_to_execute") + 1]
        functions = _unresolved_globals(program)
        assert entry in functions, f"{name}: {entry} is not defined in its program"
        unresolved.update({f"{name}: {function}": names for function, names in functions.items() if names})
    assert not unresolved, f"global names no function of the component defines (add them to additional_funcs): " \
                           f"{unresolved}"


def test_the_global_name_check_finds_a_missing_step_function() -> None:
    program = ("from typing import *\n\ndef helper() -> int:\n    return 1\n\n"
               "def step(x: Any) -> int:\n    import os\n"
               "    return [missing(v) for v in os.sep][0] + helper() + len(x)\n")
    assert _unresolved_globals(program) == {"helper": set(), "step": {"missing"}}


def _condition(spec: dict[str, Any], tasks: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the condition task among `tasks`, the tasks inside it)."""
    task = next(task for name, task in tasks.items() if name.startswith("condition"))
    return task, spec["components"][task["componentRef"]["name"]]["dag"]["tasks"]


def test_everything_runs_only_when_the_retraining_gate_says_so(compiled: Path) -> None:
    spec, _platform = _documents(compiled)
    tasks = spec["root"]["dag"]["tasks"]
    gate = "check-retraining-signal-step"
    condition, inner = _condition(spec, tasks)
    assert set(tasks) == {gate, next(name for name in tasks if name.startswith("condition"))}
    wanted = f"inputs.parameter_values['pipelinechannel--{gate}-Output'] == true"
    assert condition["triggerPolicy"]["condition"] == wanted
    assert {"load-data", "validate-training-data", "train", "evaluate"} <= set(inner)
    assert tasks[gate]["cachingOptions"] == {}  # production changes between runs: never a cached answer
    arguments = tasks[gate]["inputs"]["parameters"]
    assert {name: arguments[name]["componentInputParameter"] for name in ("force_retrain", "retrain_window")} == {
        "force_retrain": "force_retrain", "retrain_window": "retrain_window"}


def test_publishing_steps_are_never_cached(compiled: Path) -> None:
    spec, _platform = _documents(compiled)
    _, retrain = _condition(spec, spec["root"]["dag"]["tasks"])
    _, inner = _condition(spec, retrain)
    assert set(inner) == {"resolve-model-version", "upload-model-version", "register-model-version"}
    for name, task in inner.items():
        assert task["cachingOptions"] == {}, name  # {} = enableCache false
    assert retrain["load-data"]["cachingOptions"] == {}


def test_register_step_runs_add_version_with_pull_request(compiled: Path) -> None:
    spec, _platform = _documents(compiled)
    register = spec["components"]["comp-condition-2"]["dag"]["tasks"]["register-model-version"]
    arguments = register["inputs"]["parameters"]
    assert arguments["pipeline_run"]["runtimeValue"]["constant"] == "{{$.pipeline_job_uuid}}"
    assert arguments["metrics"] == {"componentInputParameter": "pipelinechannel--evaluate-Output"}
    assert arguments["uri"]["taskOutputParameter"]["producerTask"] == "upload-model-version"
    source = "\n".join(spec["deploymentSpec"]["executors"]["exec-register-model-version"]["container"]["command"])
    assert '"install", "--quiet", "./"' in source and "command.append(\"--pull-request\")" in source


def test_pins_match_the_package() -> None:
    """The pipeline installs what the local run and the tests use: the same pins as pyproject.toml."""
    project = tomllib.loads((PIPELINE_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = {re.split(r"[=<>!~ ]", line, maxsplit=1)[0].lower(): line.replace(" ", "")
                    for line in project["project"]["dependencies"]}
    for pin in pipeline.TRAINING_PACKAGES + pipeline.S3_PACKAGES + pipeline.CATALOG_PACKAGES:
        name = pin.split("==")[0].lower()
        assert dependencies.get(name) == pin, f"pyproject.toml pins {dependencies.get(name)}, the pipeline {pin}"


# --- local runs with kfp.local -------------------------------------------------------------------

# kfp.local warns that resources and display names have no effect locally; that is expected.
LOCAL_NOOPS = pytest.mark.filterwarnings("ignore:Task .* have no effect in the current local runner:UserWarning")


@pytest.fixture
def local_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """kfp.local in this environment, offline: pip may only confirm that the pins are installed."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    root = tmp_path / "local-outputs"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True)
    return root


def _task_folders(root: Path) -> set[str]:
    (run,) = root.iterdir()
    return {path.name for path in run.iterdir() if path.is_dir()}


@LOCAL_NOOPS
def test_pipeline_stops_at_validation_with_the_report(local_runner: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    generate_transactions(str(bad), rows=300, seed=3)  # fewer rows than the schema's minimum
    with pytest.raises(RuntimeError, match="validate-training-data"):
        pipeline.train_fraud_detection(data_uri=str(bad), publish=False, force_retrain=True, retrain_signals="{}")
    printed = capsys.readouterr().out
    assert f"ValueError: Data validation of {bad}: FAILED" in printed
    assert "FAIL  rows: 300 (minimum 1000)" in printed
    # nothing after validation ran
    assert _task_folders(local_runner) == {"check-retraining-signal-step", "load-data", "validate-training-data"}
    (report,) = local_runner.glob("*/validate-training-data/validation-report.txt")
    assert "FAIL  rows: 300 (minimum 1000)" in report.read_text(encoding="utf-8")


@LOCAL_NOOPS
def test_pipeline_trains_locally_without_publishing(local_runner: Path, tmp_path: Path) -> None:
    data = tmp_path / "transactions.csv"
    generate_transactions(str(data), rows=1500, seed=5)
    run = pipeline.train_fraud_detection(data_uri=str(data), publish=False, force_retrain=True, retrain_signals="{}")
    assert _task_folders(local_runner) == {"check-retraining-signal-step", "load-data", "validate-training-data",
                                           "train", "export-model", "check-model-signature", "evaluate"}
    (report,) = local_runner.glob("*/check-retraining-signal-step/report")
    assert "**Decision:** retrain: forced (force_retrain)" in report.read_text(encoding="utf-8")
    (onnx_file,) = local_runner.glob("*/export-model/onnx_model/1/model.onnx")
    assert check_onnx_signature(str(onnx_file), pipeline.SIGNATURE) == pipeline.SIGNATURE
    # the drift reference sits at the root of the uploaded model folder, beside OVMS's version folder
    assert (onnx_file.parent.parent / "trustyai-reference.json").is_file()
    assert run is not None
