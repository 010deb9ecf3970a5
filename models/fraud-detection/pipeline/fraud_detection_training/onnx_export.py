"""The ONNX file that is served: exporting the trained model to it, and checking it against the catalog.

OpenVINO Model Server serves the file and clients rely on the catalog's `signature:`, so the
export uses standard ONNX operators only, and the check refuses, with a ValueError naming every
difference, a file whose inputs or outputs differ from the signature (the package's contract of
the checks). Step functions, self-contained for KFP (see the package docstring).
"""

from typing import Any

from .features import load_feature_matrix


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
