"""The steps of training fraud-detection, written once for two callers.

The local entry point (`python -m fraud_detection_training`) calls these functions directly; the
Kubeflow pipeline (`pipeline.py`) wraps each one in a lightweight component and ships its source
with `@dsl.component(additional_funcs=[...])`. A lightweight component only sees the source of the
functions it is given, so every function here is self-contained: it imports what it needs inside
its body and calls no module-level name except other functions of this module, which the component
then lists as well. No classes (KFP copies functions only), no module constants.

Contract of the checks: a step that finds bad input (data that breaks the data schema, an ONNX
file that differs from the catalog signature) raises ValueError whose message is the full,
readable report. Any other exception is a fault of the step itself.
"""

from typing import Any


def generate_transactions(out_path: str, rows: int = 20000, seed: int = 42) -> str:
    """Write a synthetic, seeded card-transaction data set as CSV and return its path.

    There is no public data set to download here, and tests must run offline, so the data is
    simulated: legitimate transactions near home, at ordinary amounts, half of them with the chip;
    about one in ten is fraud, from two patterns seen in card fraud (card-not-present online
    purchases at several times the usual amount, and card-present purchases far from home and
    from the last transaction). The classes overlap enough that a good model scores AUC ~0.97,
    not 1.0. A few distances from the last transaction are missing, as in real feeds, which the
    schema tolerates and the model imputes. Same seed and row count, same bytes.
    """
    import csv
    from pathlib import Path

    import numpy as np

    if rows < 1:
        raise ValueError(f"rows must be at least 1, not {rows}")
    rng = np.random.default_rng(seed)
    fraud = rng.random(rows) < 0.10
    online_fraud = rng.random(rows) < 0.6  # which of the two fraud patterns, for fraud rows

    def lognormal(median: float, sigma: float) -> Any:
        return rng.lognormal(np.log(median), sigma, rows)

    distance_home = np.where(~fraud, lognormal(8.0, 1.0),
                             np.where(online_fraud, lognormal(15.0, 1.2), lognormal(120.0, 1.1)))
    distance_last = np.where(~fraud, lognormal(1.0, 1.2),
                             np.where(online_fraud, lognormal(2.5, 1.3), lognormal(20.0, 1.3)))
    ratio = np.where(~fraud, lognormal(0.9, 0.55),
                     np.where(online_fraud, lognormal(3.3, 0.7), lognormal(2.4, 0.7)))
    used_chip = rng.random(rows) < np.where(~fraud, 0.40, np.where(online_fraud, 0.08, 0.30))
    online_order = rng.random(rows) < np.where(~fraud, 0.60, np.where(online_fraud, 0.95, 0.20))
    missing_last = rng.random(rows) < 0.002
    distance_home = np.minimum(distance_home, 20000.0)
    distance_last = np.minimum(distance_last, 20000.0)

    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["transaction_id", "distance_from_home", "distance_from_last_transaction",
                         "ratio_to_median_purchase_price", "used_chip", "online_order", "fraud"])
        for index in range(rows):
            writer.writerow([
                f"tx-{seed}-{index:07d}",
                f"{distance_home[index]:.3f}",
                "" if missing_last[index] else f"{distance_last[index]:.3f}",
                f"{ratio[index]:.4f}",
                int(used_chip[index]),
                int(online_order[index]),
                int(fraud[index]),
            ])
    return str(path)


def fetch_data(data_uri: str, out_path: str) -> str:
    """Copy the training data from `data_uri` (s3://BUCKET/KEY, file://PATH or a path) to `out_path`.

    S3 credentials and endpoint come from the environment, as the project's data connection
    Secret mlops-s3 sets them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_S3_ENDPOINT,
    AWS_DEFAULT_REGION); a local path lets the same pipeline run on a laptop with kfp.local.
    """
    import os
    import shutil
    from pathlib import Path

    destination = Path(out_path)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if data_uri.startswith("s3://"):
        import boto3

        bucket, _, key = data_uri[len("s3://"):].partition("/")
        if not bucket or not key:
            raise ValueError(f"data_uri {data_uri!r} is not s3://BUCKET/KEY")
        client = boto3.client("s3", endpoint_url=os.environ.get("AWS_S3_ENDPOINT") or None,
                              region_name=os.environ.get("AWS_DEFAULT_REGION") or None)
        client.download_file(bucket, key, str(destination))
    else:
        source = Path(data_uri[len("file://"):] if data_uri.startswith("file://") else data_uri)
        if not source.is_file():
            raise FileNotFoundError(f"data_uri {data_uri!r}: no such file")
        shutil.copyfile(source, destination)
    return str(destination)


def validate_data(data_path: str, schema: dict[str, Any], report_path: str, source: str = "") -> dict[str, Any]:
    """Check a CSV file against the data schema; write the report to `report_path`; raise if it fails.

    Training on data that silently changed shape gives a model that looks fine and is not, so
    every check of `data-schema.yaml` runs (columns, row count, per column type, missing
    fraction, range, allowed values, and the label's class balance) and all results go in one
    report: per check PASS or FAIL, the figures, and the first offending rows by file line. A
    failed check raises ValueError with that report as its message, after the report file is
    written. `source` names the data in the report (default: the file name). Returns a summary
    (rows, positive fraction, checks) when every check passes.
    """
    import csv
    import math
    import re
    from pathlib import Path

    missing_tokens = {"", "na", "nan", "null", "none"}
    integer = re.compile(r"[+-]?\d+")
    shown = 5
    results: list[tuple[bool, str]] = []

    def record(passed: bool, text: str) -> None:
        results.append((passed, text))

    def first(offenders: list[tuple[int, str]]) -> str:
        listed = ", ".join(f"line {line}: {value!r}" for line, value in offenders[:shown])
        more = f" (and {len(offenders) - shown} more)" if len(offenders) > shown else ""
        return f"; first offending rows: {listed}{more}"

    columns = schema.get("columns") or []
    label = schema.get("label")
    min_rows = int(schema.get("min_rows", 1))
    path = Path(data_path)
    header: list[str] = []
    rows: list[list[str]] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            rows = [row for row in reader if row]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        record(False, f"file readable as UTF-8 CSV: no ({error})")

    if header:
        expected = [column["name"] for column in columns]
        absent = [name for name in expected if name not in header]
        extra = [name for name in header if name not in expected]
        text = f"columns: {len(expected) - len(absent)} of {len(expected)} expected columns present"
        if absent:
            text += f"; missing: {', '.join(absent)}"
        if extra:
            text += f"; not in the schema (ignored): {', '.join(extra)}"
        record(not absent, text)
        short = [(number + 2, f"{len(row)} fields") for number, row in enumerate(rows) if len(row) != len(header)]
        record(not short, f"row width: {len(rows) - len(short)} of {len(rows)} rows have {len(header)} fields"
               + (first(short) if short else ""))
    elif not results:
        record(False, "columns: the file has no header row")
    record(len(rows) >= min_rows, f"rows: {len(rows)} (minimum {min_rows})")

    positions = {name: index for index, name in enumerate(header)}
    parsed: dict[str, list[Any]] = {}
    for column in columns:
        name = column["name"]
        if name not in positions:
            continue
        index = positions[name]
        kind = column.get("type", "string")
        values: list[Any] = []
        missing = 0
        wrong_type: list[tuple[int, str]] = []
        for number, row in enumerate(rows):
            raw = row[index].strip() if index < len(row) else ""
            line = number + 2  # line 1 is the header
            if raw.lower() in missing_tokens:
                missing += 1
                values.append(None)
                continue
            value: Any = raw
            if kind == "int":
                if not integer.fullmatch(raw):
                    wrong_type.append((line, raw))
                    values.append(None)
                    continue
                value = int(raw)
            elif kind == "float":
                try:
                    value = float(raw)
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    wrong_type.append((line, raw))
                    values.append(None)
                    continue
            values.append((line, value))
        parsed[name] = values
        total = len(rows)
        record(not wrong_type, f"{name}: type {kind}: {len(wrong_type)} of {total - missing} present values "
               f"are not {kind}" + (first(wrong_type) if wrong_type else ""))
        allowed_missing = float(column.get("max_missing_fraction", 0.0))
        fraction = missing / total if total else 0.0
        record(fraction <= allowed_missing, f"{name}: missing: {missing} of {total} values "
               f"({fraction:.2%}, maximum {allowed_missing:.2%})")
        present = [entry for entry in values if entry is not None]
        if "min" in column or "max" in column:
            low = column.get("min", -math.inf)
            high = column.get("max", math.inf)
            outside = [(line, str(value)) for line, value in present if not low <= value <= high]
            observed = (f"observed {min(v for _, v in present)} to {max(v for _, v in present)}"
                        if present else "no values")
            record(not outside, f"{name}: range [{low}, {high}]: {len(outside)} values outside; {observed}"
                   + (first(outside) if outside else ""))
        if "allowed" in column:
            allowed = list(column["allowed"])
            others = [(line, str(value)) for line, value in present if value not in allowed]
            record(not others, f"{name}: allowed values {allowed}: {len(others)} values not allowed"
                   + (first(others) if others else ""))

    positive_fraction = None
    balance = schema.get("class_balance")
    if label and balance and label in parsed:
        labels = [entry[1] for entry in parsed[label] if entry is not None]
        if labels:
            positive_fraction = sum(1 for value in labels if value == 1) / len(labels)
            low, high = float(balance.get("min", 0.0)), float(balance.get("max", 1.0))
            record(low <= positive_fraction <= high,
                   f"{label}: class balance: {positive_fraction:.2%} of rows are positive "
                   f"(allowed {low:.2%} to {high:.2%})")
        else:
            record(False, f"{label}: class balance: no label values")

    failed = [text for passed, text in results if not passed]
    verdict = "PASSED" if not failed else f"FAILED ({len(failed)} of {len(results)} checks failed)"
    lines = [f"Data validation of {source or path.name}: {verdict}", ""]
    lines += [f"{'PASS' if passed else 'FAIL'}  {text}" for passed, text in results]
    report = "\n".join(lines) + "\n"
    report_file = Path(report_path)
    report_file.parent.mkdir(parents=True, exist_ok=True)
    report_file.write_text(report, encoding="utf-8")
    if failed:
        raise ValueError(report)
    return {"rows": len(rows), "positive_fraction": positive_fraction, "checks": len(results)}


def load_feature_matrix(data_path: str, schema: dict[str, Any]) -> tuple[Any, Any]:
    """Read the schema's feature columns (in schema order) and label from a CSV file.

    Returns (features as float64 with NaN for missing values, labels as int64). The order of
    `schema['features']` is the order of the model's input tensor, so it is read from the
    schema instead of the file's column order.
    """
    import csv

    import numpy as np

    features = list(schema["features"])
    label = schema["label"]
    missing_tokens = {"", "na", "nan", "null", "none"}
    with open(data_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        table = [row for row in reader]
    matrix = np.array([[np.nan if row[name].strip().lower() in missing_tokens else float(row[name])
                        for name in features] for row in table], dtype=np.float64).reshape(len(table), len(features))
    labels = np.array([int(row[label]) for row in table], dtype=np.int64)
    return matrix, labels


def train_model(data_path: str, schema: dict[str, Any], model_path: str, holdout_path: str, seed: int = 42,
                test_fraction: float = 0.25) -> dict[str, Any]:
    """Train the classifier on a stratified split; pickle it to `model_path`, the held-out rows to `holdout_path`.

    The model is a small multi-layer perceptron on log-scaled, standardised features, with
    missing values replaced by the training medians. Not a tree ensemble: OpenVINO Model Server
    cannot load the ai.onnx.ml operators (TreeEnsembleClassifier, LinearClassifier, ZipMap) that
    skl2onnx emits for trees and linear models, while an MLP exports to plain MatMul/Relu/Sigmoid.
    The held-out rows are written in the input CSV's format so evaluation reads them like data.
    """
    import csv
    import pickle
    import warnings
    from pathlib import Path

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    matrix, labels = load_feature_matrix(data_path, schema)
    indices = np.arange(len(labels))
    train_index, test_index = train_test_split(indices, test_size=test_fraction, random_state=seed,
                                               stratify=labels)
    by_name = {column["name"]: column for column in schema["columns"]}
    # Heavy-tailed, non-negative amounts and distances are learnt on a log scale.
    log_mask = np.array([1.0 if by_name[name].get("type") == "float" and by_name[name].get("min", -1) >= 0
                         else 0.0 for name in schema["features"]])
    train = matrix[train_index]
    medians = np.nanmedian(train, axis=0)
    medians = np.where(np.isnan(medians), 0.0, medians)

    def transform(values: Any) -> Any:
        filled = np.where(np.isnan(values), medians, values)
        return np.log1p(np.maximum(filled * log_mask, 0.0)) + filled * (1.0 - log_mask)

    transformed = transform(train)
    mean = transformed.mean(axis=0)
    scale = transformed.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    # No early stopping: holding a validation slice out of a small data set costs more than it saves.
    classifier = MLPClassifier(hidden_layer_sizes=(16, 8), activation="relu", alpha=1e-4, max_iter=200,
                               random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 200 epochs are plenty; the metrics judge the fit
        classifier.fit((transformed - mean) / scale, labels[train_index])

    model_file = Path(model_path)
    model_file.parent.mkdir(parents=True, exist_ok=True)
    with model_file.open("wb") as binary:
        pickle.dump({"classifier": classifier, "features": list(schema["features"]), "medians": medians,
                     "log_mask": log_mask, "mean": mean, "scale": scale}, binary)

    holdout_file = Path(holdout_path)
    holdout_file.parent.mkdir(parents=True, exist_ok=True)
    with holdout_file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*schema["features"], schema["label"]])
        for row in test_index:
            writer.writerow(["" if np.isnan(value) else repr(float(value)) for value in matrix[row]]
                            + [int(labels[row])])
    return {"train_rows": len(train_index), "holdout_rows": len(test_index), "iterations": int(classifier.n_iter_),
            "positive_fraction_train": float(labels[train_index].mean())}


def export_onnx(model_path: str, onnx_path: str, signature: dict[str, Any], holdout_path: str,
                schema: dict[str, Any]) -> str:
    """Write the pickled model as an ONNX graph that OVMS serves, named after the catalog signature.

    The graph is built from the fitted weights with standard ONNX operators only (IsNaN, Where,
    Log, MatMul, Relu, Sigmoid...; no ai.onnx.ml domain, which OpenVINO cannot load), with one
    input (the signature's first input, FP32 [batch, features]) and one output (the signature's
    first output, the positive-class probability FP32 [batch, 1]); opset 13 and IR version 8 so
    that older OpenVINO releases read it too. Before returning it proves the export faithful:
    the ONNX probabilities of the held-out rows must equal scikit-learn's within 1e-4.
    """
    import pickle
    from pathlib import Path

    import numpy as np
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    with open(model_path, "rb") as handle:
        state = pickle.load(handle)
    classifier = state["classifier"]
    if classifier.activation != "relu" or classifier.out_activation_ != "logistic":
        raise ValueError(f"cannot export activation {classifier.activation}/{classifier.out_activation_}: "
                         "only relu hidden layers with a logistic output are supported")
    input_name = signature["inputs"][0]["name"]
    output_name = signature["outputs"][0]["name"]
    width = len(state["features"])

    initializers = []

    def constant(name: str, value: Any) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    nodes = [
        helper.make_node("IsNaN", [input_name], ["is_missing"]),
        helper.make_node("Where", ["is_missing", constant("medians", state["medians"]), input_name], ["filled"]),
        helper.make_node("Mul", ["filled", constant("log_mask", state["log_mask"])], ["log_part"]),
        helper.make_node("Relu", ["log_part"], ["log_part_positive"]),
        helper.make_node("Add", ["log_part_positive", constant("one", 1.0)], ["log_part_plus_one"]),
        helper.make_node("Log", ["log_part_plus_one"], ["logged"]),
        helper.make_node("Mul", ["filled", constant("linear_mask", 1.0 - state["log_mask"])], ["linear_part"]),
        helper.make_node("Add", ["logged", "linear_part"], ["transformed"]),
        helper.make_node("Sub", ["transformed", constant("mean", state["mean"])], ["centred"]),
        helper.make_node("Div", ["centred", constant("scale", state["scale"])], ["layer_0"]),
    ]
    layers = len(classifier.coefs_)
    for index, (weights, bias) in enumerate(zip(classifier.coefs_, classifier.intercepts_, strict=True)):
        source, last = f"layer_{index}", index == layers - 1
        nodes.append(helper.make_node("MatMul", [source, constant(f"weights_{index}", weights)], [f"product_{index}"]))
        nodes.append(helper.make_node("Add", [f"product_{index}", constant(f"bias_{index}", bias)],
                                      [f"logits_{index}"]))
        nodes.append(helper.make_node("Sigmoid" if last else "Relu", [f"logits_{index}"],
                                      [output_name if last else f"layer_{index + 1}"]))
    graph = helper.make_graph(
        nodes, "fraud_detection",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", 1])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="fraud-detection-training")
    model.ir_version = 8
    model.doc_string = "fraud-detection: probability that a card transaction is fraud; inputs: " + ", ".join(
        state["features"])
    onnx.checker.check_model(model, full_check=True)

    destination = Path(onnx_path)
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes(model.SerializeToString())

    matrix, _ = load_feature_matrix(holdout_path, schema)
    filled = np.where(np.isnan(matrix), state["medians"], matrix)
    transformed = np.log1p(np.maximum(filled * state["log_mask"], 0.0)) + filled * (1.0 - state["log_mask"])
    expected = classifier.predict_proba((transformed - state["mean"]) / state["scale"])[:, 1]
    session = onnxruntime.InferenceSession(str(destination), providers=["CPUExecutionProvider"])
    actual = session.run([output_name], {input_name: matrix.astype(np.float32)})[0][:, 0]
    worst = float(np.max(np.abs(actual - expected))) if len(expected) else 0.0
    if worst > 1e-4:
        raise RuntimeError(f"the ONNX export differs from the scikit-learn model by up to {worst:.2e} on the "
                           "held-out rows; the export is wrong")
    return str(destination)


def check_onnx_signature(onnx_path: str, signature: dict[str, Any]) -> dict[str, Any]:
    """Compare an ONNX file's inputs and outputs with the catalog signature; run one inference.

    The catalog's `signature:` is what clients of the served model rely on, so a file whose
    names, datatypes (KServe v2 names: FP32, INT64...) or shapes (-1 = any size, matching a
    dynamic dimension) differ must not be published. Every difference is named in the
    ValueError's message. Operators outside the standard ONNX domain are refused as well:
    OpenVINO Model Server supports next to none of them (ai.onnx.ml trees, linear models,
    ZipMap). Finally one inference on a batch of two proves that the file runs and that its
    output has the declared shape. Returns the signature found.
    """
    import numpy as np
    import onnx
    import onnxruntime

    datatypes = {"tensor(float)": "FP32", "tensor(double)": "FP64", "tensor(float16)": "FP16",
                 "tensor(int64)": "INT64", "tensor(int32)": "INT32", "tensor(int16)": "INT16",
                 "tensor(int8)": "INT8", "tensor(uint8)": "UINT8", "tensor(bool)": "BOOL",
                 "tensor(string)": "BYTES"}
    numpy_types = {"FP32": np.float32, "FP64": np.float64, "FP16": np.float16, "INT64": np.int64,
                   "INT32": np.int32, "INT16": np.int16, "INT8": np.int8, "UINT8": np.uint8, "BOOL": np.bool_}

    def shape_of(dims: list[Any]) -> list[int]:
        return [dim if isinstance(dim, int) and dim >= 0 else -1 for dim in dims]

    def describe(entries: list[Any]) -> list[dict[str, Any]]:
        return [{"name": entry.name, "datatype": datatypes.get(entry.type, entry.type), "shape": shape_of(entry.shape)}
                for entry in entries]

    try:
        session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for unreadable models
        raise ValueError(f"ONNX file {onnx_path} cannot be loaded by onnxruntime: {error}") from error
    found = {"inputs": describe(session.get_inputs()), "outputs": describe(session.get_outputs())}
    problems: list[str] = []
    for kind in ("inputs", "outputs"):
        expected = signature.get(kind) or []
        actual = found[kind]
        expected_names = [entry["name"] for entry in expected]
        actual_names = [entry["name"] for entry in actual]
        if expected_names != actual_names:
            problems.append(f"{kind}: the file has {actual_names}, the catalog signature says {expected_names}")
        actual_by_name = {entry["name"]: entry for entry in actual}
        for entry in expected:
            other = actual_by_name.get(entry["name"])
            if other is None:
                continue
            if other["datatype"] != entry["datatype"]:
                problems.append(f"{kind[:-1]} {entry['name']!r}: datatype {other['datatype']} in the file, "
                                f"{entry['datatype']} in the catalog signature")
            if other["shape"] != [int(dim) for dim in entry["shape"]]:
                problems.append(f"{kind[:-1]} {entry['name']!r}: shape {other['shape']} in the file, "
                                f"{entry['shape']} in the catalog signature (-1 = any size)")
    foreign = sorted({f"{node.domain}.{node.op_type}" for node in onnx.load(onnx_path).graph.node
                      if node.domain not in ("", "ai.onnx")})
    if foreign:
        problems.append("operators outside the standard ONNX domain, which OpenVINO Model Server mostly cannot "
                        f"load (it supports next to none of ai.onnx.ml): {', '.join(foreign)}")
    if problems:
        raise ValueError(f"ONNX file {onnx_path} does not match the catalog signature:\n"
                         + "\n".join(f"- {problem}" for problem in problems) + "\n")

    feeds: dict[str, Any] = {}
    for entry in found["inputs"]:
        dims = [2 if dim == -1 else dim for dim in entry["shape"]]
        feeds[entry["name"]] = np.zeros(dims, dtype=numpy_types.get(entry["datatype"], np.float32))
    outputs = session.run(None, feeds)
    for entry, value in zip(found["outputs"], outputs, strict=True):
        declared = [2 if dim == -1 else dim for dim in entry["shape"]]
        if list(value.shape) != declared:
            raise ValueError(f"ONNX file {onnx_path}: output {entry['name']!r} of a batch of 2 has shape "
                             f"{list(value.shape)}, the signature declares {entry['shape']}\n")
    return found


def evaluate_model(onnx_path: str, holdout_path: str, signature: dict[str, Any], schema: dict[str, Any],
                   threshold: float = 0.5, latency_requests: int = 400) -> dict[str, Any]:
    """Score the exported ONNX file on the held-out rows: auc, precision, recall, latency_p95_ms.

    The metrics are those of the file that will be served, not of the Python object it came
    from. Precision and recall count a probability >= `threshold` as fraud. Latency is the 95th
    percentile of single-row requests through onnxruntime on one thread, in milliseconds: the
    model's own compute time, without network or server overhead.
    """
    import time

    import numpy as np
    import onnxruntime
    from sklearn.metrics import precision_score, recall_score, roc_auc_score

    matrix, labels = load_feature_matrix(holdout_path, schema)
    features = matrix.astype(np.float32)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    input_name = signature["inputs"][0]["name"]
    output_name = signature["outputs"][0]["name"]
    probabilities = session.run([output_name], {input_name: features})[0][:, 0]
    predicted = (probabilities >= threshold).astype(np.int64)

    timings = []
    for index in range(latency_requests + 20):
        row = features[index % len(features)][None, :]
        started = time.perf_counter()
        session.run([output_name], {input_name: row})
        if index >= 20:  # the first requests warm caches up
            timings.append((time.perf_counter() - started) * 1000.0)
    return {
        "auc": round(float(roc_auc_score(labels, probabilities)), 4),
        "precision": round(float(precision_score(labels, predicted, zero_division=0)), 4),
        "recall": round(float(recall_score(labels, predicted, zero_division=0)), 4),
        "latency_p95_ms": round(float(np.percentile(timings, 95)), 4),
    }


def file_digest(path: str) -> str:
    """Return `sha256:<hex>` of a file, the form the catalog's `digest` takes."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def next_version(catalog_path: str, requested: str = "") -> str:
    """The version to publish: `requested` if given, else the next minor after the catalog's newest.

    A version number is never reused, so a requested version already in the catalog is refused
    here, before anything is uploaded. Pre-release versions count by their MAJOR.MINOR.PATCH.
    """
    import re

    import yaml

    with open(catalog_path, encoding="utf-8") as handle:
        catalog = yaml.safe_load(handle) or {}
    listed = [str(entry.get("version")) for entry in catalog.get("versions") or [] if isinstance(entry, dict)]
    pattern = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?")
    if requested:
        if not pattern.fullmatch(requested):
            raise ValueError(f"version {requested!r} is not a semantic version MAJOR.MINOR.PATCH (e.g. 1.3.0)")
        if requested in listed:
            raise ValueError(f"version {requested} is already in {catalog_path}; a version number is never reused")
        return requested
    cores = [tuple(int(part) for part in match.groups()) for match in map(pattern.fullmatch, listed) if match]
    if not cores:
        return "1.0.0"
    major, minor, _ = max(cores)
    return f"{major}.{minor + 1}.0"


def add_version_command(model_name: str, version: str, uri: str, digest: str, metrics: dict[str, Any], commit: str = "",
                        pipeline_run: str = "", dataset: str = "", pull_request: bool = True,
                        base: str = "") -> list[str]:
    """The `mlops model add-version` command line that records a trained version in the catalog.

    Built in one place so that what the local run prints and what the pipeline's register step
    runs cannot drift apart. Empty lineage fields are left out rather than passed empty; `base`
    is the branch the pull request targets (mlops' default, main, when empty).
    """
    command = ["mlops", "model", "add-version", model_name, "--version", version, "--uri", uri]
    if digest:
        command += ["--digest", digest]
    for name in ("auc", "precision", "recall", "latency_p95_ms"):
        if name in metrics:
            command += ["--metric", f"{name}={metrics[name]}"]
    for option, value in (("--commit", commit), ("--pipeline-run", pipeline_run), ("--dataset", dataset)):
        if value:
            command += [option, value]
    if pull_request:
        command.append("--pull-request")
        if base:
            command += ["--base", base]
    return command


def clone_repository(repo_url: str, branch: str, destination: str, shallow: bool = False) -> str:
    """Clone `branch` of `repo_url` into `destination`; returns the commit checked out.

    The GitHub token is read from the environment (GITHUB_TOKEN, set from a Secret) by a
    credential helper at the moment git asks for it: it never appears in a URL, a log line or a
    file. The helper is kept in the clone's configuration so that later pushes (mlops
    --pull-request) authenticate the same way.
    """
    import subprocess

    helper = '!f() { echo username=x-access-token; echo "password=${GITHUB_TOKEN}"; }; f'
    command = ["git", "-c", "credential.helper=", "-c", f"credential.helper={helper}", "clone", "--quiet",
               "--single-branch", "--branch", branch]
    if shallow:
        command += ["--depth", "1"]
    subprocess.run([*command, repo_url, destination], check=True)
    subprocess.run(["git", "-C", destination, "config", "credential.helper", helper], check=True)
    result = subprocess.run(["git", "-C", destination, "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True)
    return result.stdout.strip()


def resolve_version(repo_url: str, base_branch: str, model_name: str, requested: str, workdir: str) -> str:
    """Clone the GitOps repository and pick the version to publish from its catalog (see next_version).

    Runs before the upload, because the version is part of the artifact's location.
    """
    from pathlib import Path

    clone = str(Path(workdir) / "repository")
    clone_repository(repo_url, base_branch, clone, shallow=True)
    return next_version(str(Path(clone) / "models" / model_name / "model.yaml"), requested)


def upload_model(model_dir: str, uri: str) -> list[str]:
    """Copy the OVMS model folder (`1/model.onnx`) to `uri`; returns the objects written.

    `uri` is s3://BUCKET/PREFIX/ (credentials from the environment, as in fetch_data) or a
    local folder for local runs. A location that already holds files is refused: a published
    version is immutable, and a half-overwritten model would be served by whoever syncs next.
    """
    import os
    import shutil
    from pathlib import Path

    source = Path(model_dir)
    files = sorted(path for path in source.rglob("*") if path.is_file())
    if not files:
        raise ValueError(f"{model_dir} holds no files to upload")
    written = []
    if uri.startswith("s3://"):
        import boto3

        bucket, _, prefix = uri[len("s3://"):].partition("/")
        prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        client = boto3.client("s3", endpoint_url=os.environ.get("AWS_S3_ENDPOINT") or None,
                              region_name=os.environ.get("AWS_DEFAULT_REGION") or None)
        if client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0):
            raise ValueError(f"{uri} already holds objects; a published version is never overwritten")
        for path in files:
            key = prefix + path.relative_to(source).as_posix()
            client.upload_file(str(path), bucket, key)
            written.append(f"s3://{bucket}/{key}")
    else:
        destination = Path(uri[len("file://"):] if uri.startswith("file://") else uri)
        if destination.exists() and any(destination.iterdir()):
            raise ValueError(f"{uri} already holds files; a published version is never overwritten")
        for path in files:
            target = destination / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            written.append(str(target))
    return written


def register_version(repo_url: str, base_branch: str, workdir: str, model_name: str, version: str, uri: str,
                     digest: str, metrics: dict[str, Any], dataset: str, pipeline_run: str,
                     code_commit: str = "") -> str:
    """Record the published version in the catalog by pull request, with the repository's own tool.

    Clones the base branch, installs `mlops` from the clone (so the catalog is edited by the
    version of the tool that validates it), and runs `mlops model add-version ... --pull-request`.
    Without `code_commit` the lineage names the base branch's head, the closest known commit.
    Exit 2 of mlops is bad input (ValueError), 3 a GitHub or git failure (RuntimeError).
    Returns the tool's output.
    """
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    clone = str(Path(workdir) / "repository")
    head = clone_repository(repo_url, base_branch, clone)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "./"], cwd=clone, check=True)
    command = add_version_command(model_name, version, uri, digest, metrics, commit=code_commit or head,
                                  pipeline_run=pipeline_run, dataset=dataset, pull_request=True,
                                  base=base_branch)
    command[0] = shutil.which("mlops") or str(Path(sys.executable).with_name("mlops"))
    environment = dict(os.environ)
    for variable, value in (("GIT_AUTHOR_NAME", "fraud-detection training pipeline"),
                            ("GIT_COMMITTER_NAME", "fraud-detection training pipeline"),
                            ("GIT_AUTHOR_EMAIL", "mlops-pipeline@users.noreply.github.com"),
                            ("GIT_COMMITTER_EMAIL", "mlops-pipeline@users.noreply.github.com")):
        environment.setdefault(variable, value)
    result = subprocess.run(command, cwd=clone, env=environment, capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    print(output)
    if result.returncode == 2:
        raise ValueError(f"mlops model add-version refused the input (exit 2):\n{output}")
    if result.returncode != 0:
        raise RuntimeError(f"mlops model add-version failed (exit {result.returncode}, 3 = GitHub or git):\n{output}")
    return output
