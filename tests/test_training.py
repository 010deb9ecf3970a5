"""Training of fraud-detection (models/fraud-detection/pipeline): data, validation, ONNX, local entry point.

The step functions are called directly, as the local run does; the pipeline's use of them is
tested in test_training_pipeline.py. Row counts are small so that the file runs in seconds.
"""

from __future__ import annotations

import copy
import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx
import pytest
import yaml
from fraud_detection_training.__main__ import main
from fraud_detection_training.catalog import find_catalog, load_catalog, load_data_schema, signature_of
from fraud_detection_training.evaluation import evaluate_model
from fraud_detection_training.onnx_export import check_onnx_signature, export_onnx
from fraud_detection_training.reference_data import write_reference_data
from fraud_detection_training.registration import (
    add_version_command,
    next_version,
    registration_branch_versions,
    resolve_version,
)
from fraud_detection_training.training import train_model
from fraud_detection_training.transactions import generate_transactions
from fraud_detection_training.upload import file_digest, upload_model, uploaded_versions
from fraud_detection_training.validation import validate_data

from cli_parsing import parse_mlops

pytestmark = pytest.mark.slow  # end to end: see the marker in pyproject.toml

ROWS = 2500
SEED = 7


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return load_data_schema()


@pytest.fixture(scope="module")
def signature() -> dict[str, Any]:
    return signature_of(load_catalog(find_catalog()))


@pytest.fixture(scope="module")
def good_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "transactions.csv"
    generate_transactions(str(path), rows=ROWS, seed=SEED)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, good_csv: Path, schema: dict[str, Any],
            signature: dict[str, Any]) -> dict[str, Path]:
    """One training run shared by the ONNX tests: model pickle, held-out rows and the ONNX file."""
    folder = tmp_path_factory.mktemp("trained")
    files = {"model": folder / "model.pkl", "holdout": folder / "holdout.csv", "onnx": folder / "1" / "model.onnx"}
    train_model(str(good_csv), schema, str(files["model"]), str(files["holdout"]), seed=SEED)
    export_onnx(str(files["model"]), str(files["onnx"]), signature, str(files["holdout"]), schema)
    return files


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


# --- data ---------------------------------------------------------------------------------------


def test_generated_data_passes_validation(good_csv: Path, schema: dict[str, Any], tmp_path: Path) -> None:
    summary = validate_data(str(good_csv), schema, str(tmp_path / "report.txt"))
    assert summary["rows"] == ROWS
    assert 0.05 < summary["positive_fraction"] < 0.15
    report = (tmp_path / "report.txt").read_text(encoding="utf-8")
    assert report.startswith("Data validation of transactions.csv: PASSED")
    assert "FAIL" not in report


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first, second, other = (str(tmp_path / name) for name in ("a.csv", "b.csv", "c.csv"))
    generate_transactions(first, rows=300, seed=1)
    generate_transactions(second, rows=300, seed=1)
    generate_transactions(other, rows=300, seed=2)
    assert Path(first).read_bytes() == Path(second).read_bytes()
    assert Path(first).read_bytes() != Path(other).read_bytes()


def _set(column: str, line: int, value: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def change(rows: list[list[str]]) -> list[list[str]]:
        rows[line - 1][rows[0].index(column)] = value
        return rows
    return change


def _blank_every(column: str, step: int) -> Callable[[list[list[str]]], list[list[str]]]:
    def change(rows: list[list[str]]) -> list[list[str]]:
        index = rows[0].index(column)
        for row in rows[1::step]:
            row[index] = ""
        return rows
    return change


def _drop_column(column: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def change(rows: list[list[str]]) -> list[list[str]]:
        index = rows[0].index(column)
        return [row[:index] + row[index + 1:] for row in rows]
    return change


def _label_all(value: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def change(rows: list[list[str]]) -> list[list[str]]:
        index = rows[0].index("fraud")
        for row in rows[1:]:
            row[index] = value
        return rows
    return change


BAD_DATA = {
    "wrong type": (_set("distance_from_home", 6, "far away"),
                   ["FAIL  distance_from_home: type float: 1 of", "line 6: 'far away'"]),
    "out of range": (_set("ratio_to_median_purchase_price", 9, "-3.5"),
                     ["FAIL  ratio_to_median_purchase_price: range [0.0, 1000.0]: 1 values outside",
                      "observed -3.5 to", "line 9: '-3.5'"]),
    "not an allowed value": (_set("used_chip", 4, "2"),
                             ["FAIL  used_chip: allowed values [0, 1]: 1 values not allowed", "line 4: '2'"]),
    "too many missing": (_blank_every("distance_from_home", 20),
                         ["FAIL  distance_from_home: missing: 125 of 2500 values (5.00%, maximum 1.00%)"]),
    "missing column": (_drop_column("online_order"),
                       ["FAIL  columns: 6 of 7 expected columns present; missing: online_order"]),
    "too few rows": (lambda rows: rows[:51], ["FAIL  rows: 50 (minimum 1000)"]),
    "class balance": (_label_all("0"),
                      ["FAIL  fraud: class balance: 0.00% of rows are positive (allowed 2.00% to 30.00%)"]),
}


@pytest.mark.parametrize("kind", BAD_DATA)
def test_bad_data_fails_with_a_report(kind: str, good_csv: Path, schema: dict[str, Any], tmp_path: Path) -> None:
    change, expected = BAD_DATA[kind]
    bad = _write(tmp_path / "bad.csv", change(_read(good_csv)))
    report_file = tmp_path / "report.txt"
    with pytest.raises(ValueError) as raised:
        validate_data(str(bad), schema, str(report_file))
    report = str(raised.value)
    assert report.startswith("Data validation of bad.csv: FAILED (")
    for text in expected:
        assert text in report, f"{text!r} not in the report:\n{report}"
    assert report_file.read_text(encoding="utf-8") == report  # the report is also the artifact


def test_report_lists_at_most_five_offending_rows(good_csv: Path, schema: dict[str, Any], tmp_path: Path) -> None:
    rows = _read(good_csv)
    for line in range(2, 12):
        rows[line - 1][rows[0].index("online_order")] = "yes"
    with pytest.raises(ValueError, match=r"line 6: 'yes' \(and 5 more\)"):
        validate_data(str(_write(tmp_path / "bad.csv", rows)), schema, str(tmp_path / "report.txt"))


def test_report_counts_blank_lines_in_line_numbers(good_csv: Path, schema: dict[str, Any], tmp_path: Path) -> None:
    """Lines as in an editor: a blank line before a bad row moves the row, and the report says where."""
    rows = _read(good_csv)
    rows[5][rows[0].index("online_order")] = "yes"  # line 6 of the file as generated
    rows[8] = rows[8][:-1]  # line 9: one field short
    rows[3:3] = [[]]  # a blank line 4: the rows above stay, the rows below move down one line
    bad = _write(tmp_path / "bad.csv", rows)
    assert bad.read_text(encoding="utf-8").splitlines()[3] == ""
    with pytest.raises(ValueError) as raised:
        validate_data(str(bad), schema, str(tmp_path / "report.txt"))
    report = str(raised.value)
    assert "FAIL  online_order: type int: 1 of 2500 present values are not int; first offending rows: line 7: 'yes'" \
        in report
    assert f"FAIL  row width: {ROWS - 1} of {ROWS} rows have 7 fields; first offending rows: line 10: '6 fields'" \
        in report


def test_unreadable_file_fails_with_a_report(schema: dict[str, Any], tmp_path: Path) -> None:
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="FAIL  file readable as UTF-8 CSV: no"):
        validate_data(str(binary), schema, str(tmp_path / "report.txt"))


def test_schema_features_are_the_signature_width(schema: dict[str, Any], signature: dict[str, Any]) -> None:
    assert len(schema["features"]) == signature["inputs"][0]["shape"][1] == 5
    assert schema["label"] == "fraud"


# --- training, ONNX, signature ------------------------------------------------------------------


def test_local_training_gives_a_model_matching_the_catalog(trained: dict[str, Path], schema: dict[str, Any],
                                                           signature: dict[str, Any]) -> None:
    found = check_onnx_signature(str(trained["onnx"]), signature)
    assert found == signature
    metrics = evaluate_model(str(trained["onnx"]), str(trained["holdout"]), signature, schema,
                             latency_requests=50)
    assert set(metrics) == {"auc", "precision", "recall", "latency_p95_ms"}
    for name in ("auc", "precision", "recall"):
        assert 0.0 <= metrics[name] <= 1.0, metrics
    assert metrics["auc"] > 0.9, metrics
    assert 0.0 < metrics["latency_p95_ms"] < 50.0, metrics


def test_onnx_graph_is_servable_by_ovms(trained: dict[str, Path]) -> None:
    model = onnx.load(str(trained["onnx"]))
    assert {node.domain for node in model.graph.node} <= {""}, "OpenVINO cannot load ai.onnx.ml operators"
    assert [entry.name for entry in model.graph.input] == ["transaction_features"]
    assert [entry.name for entry in model.graph.output] == ["fraud_probability"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and dims[1].dim_value == 5
    assert model.ir_version == 8


def test_onnx_imputes_missing_values(trained: dict[str, Path]) -> None:
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(str(trained["onnx"]), providers=["CPUExecutionProvider"])
    rows = np.array([[5.0, np.nan, 1.0, 1.0, 0.0], [400.0, 80.0, 6.0, 0.0, 1.0]], dtype=np.float32)
    (probabilities,) = session.run(None, {"transaction_features": rows})
    assert probabilities.shape == (2, 1)
    assert np.all(np.isfinite(probabilities))
    assert probabilities[0, 0] < 0.5 < probabilities[1, 0]  # an ordinary purchase; a far, large online one


@pytest.mark.parametrize(("change", "expected"), [
    (lambda s: s["inputs"][0].update(name="features"),
     "inputs: the file has ['transaction_features'], the catalog signature says ['features']"),
    (lambda s: s["outputs"][0].update(datatype="FP64"),
     "output 'fraud_probability': datatype FP32 in the file, FP64 in the catalog signature"),
    (lambda s: s["inputs"][0].update(shape=[-1, 6]),
     "input 'transaction_features': shape [-1, 5] in the file, [-1, 6] in the catalog signature"),
    (lambda s: s["outputs"][0].update(shape=[1, 1]),
     "output 'fraud_probability': shape [-1, 1] in the file, [1, 1] in the catalog signature"),
    (lambda s: s["outputs"].append({"name": "label", "datatype": "INT64", "shape": [-1]}),
     "outputs: the file has ['fraud_probability'], the catalog signature says ['fraud_probability', 'label']"),
], ids=["input name", "output datatype", "input shape", "dynamic vs fixed", "missing output"])
def test_signature_checker_names_the_difference(change: Callable[[dict[str, Any]], Any], expected: str,
                                                trained: dict[str, Path], signature: dict[str, Any]) -> None:
    catalog_side = copy.deepcopy(signature)
    change(catalog_side)
    with pytest.raises(ValueError) as raised:
        check_onnx_signature(str(trained["onnx"]), catalog_side)
    assert expected in str(raised.value)
    assert "does not match the catalog signature" in str(raised.value)


def test_signature_checker_rejects_a_file_with_other_names(trained: dict[str, Path], schema: dict[str, Any],
                                                           signature: dict[str, Any], tmp_path: Path) -> None:
    other = copy.deepcopy(signature)
    other["outputs"][0]["name"] = "probabilities"
    wrong = tmp_path / "wrong.onnx"
    export_onnx(str(trained["model"]), str(wrong), other, str(trained["holdout"]), schema)
    with pytest.raises(ValueError, match=r"the file has \['probabilities'\], the catalog signature says "
                                         r"\['fraud_probability'\]"):
        check_onnx_signature(str(wrong), signature)


def test_signature_checker_refuses_ai_onnx_ml_operators(tmp_path: Path, signature: dict[str, Any]) -> None:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Scaler", ["transaction_features"], ["normalized"], domain="ai.onnx.ml",
                          offset=[0.0] * 5, scale=[1.0] * 5),
         helper.make_node("ReduceMax", ["normalized"], ["fraud_probability"], keepdims=1, axes=[1])],
        "ml", [helper.make_tensor_value_info("transaction_features", TensorProto.FLOAT, ["n", 5])],
        [helper.make_tensor_value_info("fraud_probability", TensorProto.FLOAT, ["n", 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 1)])
    model.ir_version = 8
    path = tmp_path / "ml.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ValueError, match=r"OpenVINO Model Server mostly cannot load .*: ai\.onnx\.ml\.Scaler"):
        check_onnx_signature(str(path), signature)


def test_signature_checker_refuses_an_unreadable_file(tmp_path: Path, signature: dict[str, Any]) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not onnx")
    with pytest.raises(ValueError, match="cannot be loaded by onnxruntime"):
        check_onnx_signature(str(path), signature)


# --- versions and the add-version command -------------------------------------------------------


def test_next_version_follows_the_catalog(tmp_path: Path) -> None:
    catalog = str(find_catalog())
    assert next_version(catalog) == "1.3.0"  # newest listed is 1.2.0
    assert next_version(catalog, "2.0.0") == "2.0.0"
    with pytest.raises(ValueError, match="already in"):
        next_version(catalog, "1.1.0")
    with pytest.raises(ValueError, match="not a semantic version"):
        next_version(catalog, "v2")
    empty = tmp_path / "model.yaml"
    empty.write_text("name: new-model\nversions: []\n", encoding="utf-8")
    assert next_version(str(empty)) == "1.0.0"
    unordered = tmp_path / "unordered.yaml"
    unordered.write_text(yaml.safe_dump({"versions": [{"version": "1.10.0"}, {"version": "1.9.2"},
                                                      {"version": "2.0.0-rc.1"}]}), encoding="utf-8")
    assert next_version(str(unordered)) == "2.1.0"
    taken = {"1.3.0": ["(b) a branch"], "1.4.0": ["(c) an upload"], "not-a-version": ["(b) a branch"]}
    assert next_version(catalog, taken=taken) == "1.5.0"
    assert next_version(catalog, "1.5.0", taken) == "1.5.0"
    with pytest.raises(ValueError, match=r"version 1\.4\.0 is taken: \(c\) an upload\. A version number is never"):
        next_version(catalog, "1.4.0", taken)


def test_add_version_command_carries_metrics_and_lineage() -> None:
    command = add_version_command(
        "fraud-detection", "1.3.0", "s3://mlops-models/fraud-detection/1.3.0/", "sha256:" + "a" * 64,
        {"auc": 0.97, "precision": 0.86, "recall": 0.8, "latency_p95_ms": 0.02}, commit="abc1234",
        pipeline_run="run-1", dataset="s3://mlops-data/fraud-detection/transactions.csv", base="release")
    assert command == [
        "mlops", "model", "add-version", "fraud-detection", "--version", "1.3.0",
        "--uri", "s3://mlops-models/fraud-detection/1.3.0/", "--digest", "sha256:" + "a" * 64,
        "--metric", "auc=0.97", "--metric", "precision=0.86", "--metric", "recall=0.8",
        "--metric", "latency_p95_ms=0.02", "--commit", "abc1234", "--pipeline-run", "run-1",
        "--dataset", "s3://mlops-data/fraud-detection/transactions.csv", "--pull-request", "--base", "release",
    ]
    assert "--commit" not in add_version_command("m", "1.0.0", "s3://b/m/1.0.0/", "", {}, commit="")
    # the register step runs exactly this: every option must exist in the mlops it installs
    assert parse_mlops(command[1:], "the register step") == ["model", "add-version"]


def test_upload_to_a_folder_never_overwrites(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    (model_dir / "1").mkdir(parents=True)
    (model_dir / "1" / "model.onnx").write_bytes(b"onnx")
    target = tmp_path / "bucket" / "1.3.0"
    assert upload_model(str(model_dir), str(target)) == [str(target / "1" / "model.onnx")]
    assert (target / "1" / "model.onnx").read_bytes() == b"onnx"
    with pytest.raises(ValueError, match="never overwritten"):
        upload_model(str(model_dir), str(target))


# --- the local entry point ----------------------------------------------------------------------


def test_local_run_writes_model_metrics_and_the_next_command(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["--out", str(out), "--rows", str(ROWS), "--seed", str(SEED)]) == 0
    printed = capsys.readouterr().out
    assert (out / "model" / "1" / "model.onnx").is_file()  # OVMS layout: <storageUri>/1/model.onnx
    # the drift reference, uploaded with model/ to the root of the version's storageUri
    reference = json.loads((out / "model" / "trustyai-reference.json").read_text(encoding="utf-8"))
    rows, columns = reference["request"]["inputs"][0]["shape"]
    assert columns == 5 and 0.95 * ROWS < rows <= ROWS  # every row with all features (a few miss one)
    assert reference["response"]["outputs"][0]["shape"] == [rows, 1]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics) == {"auc", "precision", "recall", "latency_p95_ms"}
    assert metrics["auc"] > 0.9
    assert "PASSED" in (out / "validation-report.txt").read_text(encoding="utf-8")
    assert "mlops model add-version fraud-detection --version 1.3.0 --uri s3://mlops-models/fraud-detection/1.3.0/" \
        in printed
    assert file_digest(str(out / "model" / "1" / "model.onnx")) in printed
    assert f"--metric auc={metrics['auc']}" in printed and "--pull-request" in printed
    assert f"({rows} training rows with the model's outputs)" in printed


def test_local_run_with_bad_data_exits_1_with_the_report(good_csv: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path / "bad.csv", _drop_column("fraud")(_read(good_csv)))
    assert main(["--out", str(tmp_path / "run"), "--data", str(bad)]) == 1
    error = capsys.readouterr().err
    assert "FAIL  columns: 6 of 7 expected columns present; missing: fraud" in error
    assert not (tmp_path / "run" / "model").exists()


def test_local_run_with_a_signature_it_cannot_meet_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = yaml.safe_load(find_catalog().read_text(encoding="utf-8"))
    catalog["signature"]["outputs"][0]["datatype"] = "FP16"
    changed = tmp_path / "model.yaml"
    changed.write_text(yaml.safe_dump(catalog), encoding="utf-8")
    assert main(["--out", str(tmp_path / "run"), "--rows", "1500", "--catalog", str(changed)]) == 1
    assert "datatype FP32 in the file, FP16 in the catalog signature" in capsys.readouterr().err


@pytest.mark.parametrize("arguments", [
    [],
    ["--out", "OUT", "--rows", "0"],
    ["--out", "OUT", "--rows", "many"],
    ["--out", "OUT", "--data", "no-such-file.csv"],
    ["--out", "OUT", "--version", "1.2.0"],
    ["--out", "OUT", "--catalog", "no-such-model.yaml"],
], ids=["no --out", "zero rows", "rows not a number", "missing data file", "version reused", "missing catalog"])
def test_bad_arguments_exit_2(arguments: list[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        main([str(tmp_path / "out") if argument == "OUT" else argument for argument in arguments])
    assert raised.value.code == 2
    assert not (tmp_path / "out").exists()


def test_module_entry_point_runs(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "fraud_detection_training", "--out", str(tmp_path), "--rows", "-1"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "--rows: must be at least 1" in result.stderr


def _gitops_remote(tmp_path: Path, *branches: str) -> str:
    """A bare repository standing in for the GitOps remote: the catalog on `release`, plus `branches`."""
    work, bare = tmp_path / "gitops-work", tmp_path / "gitops.git"
    (work / "models" / "fraud-detection").mkdir(parents=True)
    (work / "models" / "fraud-detection" / "model.yaml").write_bytes(find_catalog().read_bytes())
    git = ["git", "-C", str(work), "-c", "user.name=test", "-c", "user.email=test@example.org"]
    subprocess.run(["git", "init", "--quiet", "--initial-branch", "release", str(work)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "catalog"], check=True)
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    refspecs = ["HEAD:refs/heads/release", *(f"HEAD:refs/heads/{branch}" for branch in branches)]
    subprocess.run([*git, "push", "--quiet", str(bare), *refspecs], check=True)
    return f"file://{bare}"


def test_resolve_version_reads_the_catalog_of_a_clone(tmp_path: Path) -> None:
    remote = _gitops_remote(tmp_path)
    models = str(tmp_path / "no-uploads-yet")
    workdir = tmp_path / "work"
    assert resolve_version(remote, "release", "fraud-detection", models, "", str(workdir)) == "1.3.0"
    clone = workdir / "repository"
    assert subprocess.run(["git", "-C", str(clone), "config", "credential.helper"], capture_output=True, text=True,
                          check=True).stdout.startswith("!f() { echo username=x-access-token;")
    with pytest.raises(ValueError, match=r"version 1\.2\.0 is taken: \(a\) it is already in the catalog "
                                         r"models/fraud-detection/model\.yaml on release\. A version number is never "
                                         r"reused"):
        resolve_version(remote, "release", "fraud-detection", models, "1.2.0", str(tmp_path / "again"))
    assert resolve_version(remote, "release", "fraud-detection", models, "2.0.0", str(tmp_path / "free")) == "2.0.0"


def test_resolve_version_skips_a_version_with_a_registration_branch(tmp_path: Path) -> None:
    """Last week's pull request for 1.3.0 is still open (or was closed unmerged): its branch holds 1.3.0."""
    remote = _gitops_remote(tmp_path, "mlops/register/fraud-detection-1.3.0",
                            "mlops/register/fraud-detection-v2-7.0.0", "mlops/register/other-model-5.0.0")
    models = str(tmp_path / "models")
    assert registration_branch_versions(remote, "fraud-detection") == ["1.3.0", "v2-7.0.0"]
    assert resolve_version(remote, "release", "fraud-detection", models, "", str(tmp_path / "work")) == "1.4.0"
    with pytest.raises(ValueError, match=r"version 1\.3\.0 is taken: \(b\) the registration branch "
                                         r"mlops/register/fraud-detection-1\.3\.0 exists on file://"):
        resolve_version(remote, "release", "fraud-detection", models, "1.3.0", str(tmp_path / "again"))


def test_resolve_version_skips_a_version_already_uploaded(tmp_path: Path) -> None:
    """An earlier run uploaded 1.3.0 and failed before registering it: the upload would refuse 1.3.0."""
    remote = _gitops_remote(tmp_path)
    models = tmp_path / "models"
    (models / "1.3.0" / "1").mkdir(parents=True)
    (models / "1.3.0" / "1" / "model.onnx").write_bytes(b"onnx")
    (models / "1.1.0").mkdir()  # an empty folder holds nothing, and 1.1.0 is in the catalog anyway
    assert uploaded_versions(str(models)) == ["1.3.0"]
    assert uploaded_versions(f"file://{models}/") == ["1.3.0"]
    assert uploaded_versions(str(tmp_path / "absent")) == []
    assert resolve_version(remote, "release", "fraud-detection", str(models), "", str(tmp_path / "work")) == "1.4.0"
    with pytest.raises(ValueError, match=r"version 1\.3\.0 is taken: \(c\) .*/models/1\.3\.0/ already holds objects"):
        resolve_version(remote, "release", "fraud-detection", str(models), "1.3.0", str(tmp_path / "again"))


def test_resolve_version_names_every_reason_and_stays_above_all_taken(tmp_path: Path) -> None:
    remote = _gitops_remote(tmp_path, "mlops/register/fraud-detection-1.3.0", "mlops/register/fraud-detection-1.1.0")
    models = tmp_path / "models"
    for version in ("1.3.0", "1.4.0"):
        (models / version / "1").mkdir(parents=True)
        (models / version / "1" / "model.onnx").write_bytes(b"onnx")
    assert resolve_version(remote, "release", "fraud-detection", str(models), "", str(tmp_path / "work")) == "1.5.0"
    with pytest.raises(ValueError) as raised:
        resolve_version(remote, "release", "fraud-detection", str(models), "1.3.0", str(tmp_path / "again"))
    assert "(a)" not in str(raised.value) and "(b) the registration branch" in str(raised.value)
    assert "(c) " in str(raised.value)
    with pytest.raises(ValueError, match=r"\(a\) it is already in the catalog .*; \(b\) the registration branch"):
        resolve_version(remote, "release", "fraud-detection", str(models), "1.1.0", str(tmp_path / "third"))


def test_uploaded_versions_lists_the_folders_of_an_s3_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    stubber = Stubber(client)
    stubber.add_response("list_objects_v2", {"CommonPrefixes": [{"Prefix": "fraud-detection/1.3.0/"}],
                                             "IsTruncated": True, "NextContinuationToken": "next"},
                         {"Bucket": "mlops-models", "Prefix": "fraud-detection/", "Delimiter": "/"})
    stubber.add_response("list_objects_v2", {"CommonPrefixes": [{"Prefix": "fraud-detection/1.10.0/"}],
                                             "IsTruncated": False},
                         {"Bucket": "mlops-models", "Prefix": "fraud-detection/", "Delimiter": "/",
                          "ContinuationToken": "next"})
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: client)
    with stubber:
        assert uploaded_versions("s3://mlops-models/fraud-detection") == ["1.10.0", "1.3.0"]
    stubber.assert_no_pending_responses()


# --- the drift reference TrustyAI gets ----------------------------------------------------------


def test_the_drift_reference_is_a_training_sample_with_the_model_s_outputs(
        trained: dict[str, Path], good_csv: Path, schema: dict[str, Any], signature: dict[str, Any],
        tmp_path: Path) -> None:
    import numpy as np
    import onnxruntime

    from mlops.model_monitoring import REFERENCE_FILE
    from trustyai_standin import TrustyAI, body_problems

    out = tmp_path / "model" / REFERENCE_FILE
    summary = write_reference_data(str(good_csv), str(trained["onnx"]), schema, signature, str(out), rows=500, seed=1)
    payload = json.loads(out.read_text(encoding="utf-8"))
    [inputs], [outputs] = payload["request"]["inputs"], payload["response"]["outputs"]
    assert summary["reference_rows"] == 500 == inputs["shape"][0] == outputs["shape"][0] == len(outputs["data"])
    assert inputs["shape"][1] == 5 and all(len(row) == 5 for row in inputs["data"])
    rows = np.array(inputs["data"], dtype=np.float32)
    assert np.isfinite(rows).all()  # rows with a missing feature are left out: JSON has no NaN
    session = onnxruntime.InferenceSession(str(trained["onnx"]), providers=["CPUExecutionProvider"])
    (scores,) = session.run(None, {"transaction_features": rows})
    assert np.allclose(scores.reshape(-1), outputs["data"], atol=1e-5)
    # TrustyAI takes it as it is, with the name and tag the hook adds, into the columns it logs
    body = {"model_name": "fraud-detection", "data_tag": "training-1.3.0", **payload}
    assert body_problems("UploadPayload", body, "upload") == []
    service = TrustyAI()
    assert service.answer("POST", "/data/upload", {}, body)[0] == 200
    assert set(service.models["fraud-detection"].inputs) == {f"transaction_features-{i}" for i in range(5)}
    assert set(service.models["fraud-detection"].outputs) == {"fraud_probability-0"}
    assert service.problems == []

