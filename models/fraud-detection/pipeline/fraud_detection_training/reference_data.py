"""The training distribution of a version, in the form TrustyAI takes it: its drift reference.

TrustyAI measures drift between the rows it logged from live traffic and the rows tagged as the
reference (explainability-service `endpoints/metrics/drift/DriftEndpoint.java`). The reference
of a served version is the data it was trained on, so training writes a sample of it, with the
model's own outputs, next to the model: `trustyai-reference.json` at the root of the version's
folder (OpenVINO Model Server reads only the numbered version folders there), uploaded with the
model. After each sync the TrustyAI hook of base/model-monitoring uploads it to the project's
TrustyAI (POST /data/upload) tagged `training-<version>` when TrustyAI has no rows with that tag.

The body is TrustyAI's upload payload without `model_name` and `data_tag`, which the hook adds
(`payloads/data/upload/ModelInferJointPayload.java`): one input tensor shaped like the model's,
one row per array, which TrustyAI splits into the columns `<tensor>-0` … as it does for logged
inferences, and the output tensor's values flat (`data/utils/UploadUtils.java`). Step function,
self-contained for KFP (see the package docstring).
"""

from typing import Any

from .features import load_feature_matrix


def write_reference_data(data_path: str, onnx_path: str, schema: dict[str, Any], signature: dict[str, Any],
                         out_path: str, rows: int = 5000, seed: int = 42) -> dict[str, Any]:
    """Sample up to `rows` complete rows of the training data, score them, write the payload; returns a summary.

    Rows with a missing feature are left out: JSON has no NaN, and the served model never sees one
    either (its callers send every feature).
    """
    import json
    import os

    import numpy as np
    import onnxruntime

    features, _labels = load_feature_matrix(data_path, schema)
    complete = features[~np.isnan(features).any(axis=1)]
    if len(complete) == 0:
        raise ValueError(f"{data_path} has no row with every feature: nothing to measure drift against")
    chosen = np.random.default_rng(seed).permutation(len(complete))[:rows]
    sample = complete[np.sort(chosen)].astype(np.float32)
    [tensor_in], [tensor_out] = signature["inputs"], signature["outputs"]
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    (scores,) = session.run(None, {tensor_in["name"]: sample})
    payload = {
        "request": {"inputs": [{"name": tensor_in["name"], "shape": [len(sample), sample.shape[1]],
                                "datatype": tensor_in["datatype"],
                                "data": [[float(f"{v:.7g}") for v in row] for row in sample.tolist()]}]},
        "response": {"outputs": [{"name": tensor_out["name"], "shape": [len(sample), *scores.shape[1:]],
                                  "datatype": tensor_out["datatype"],
                                  "data": [float(f"{v:.7g}") for v in scores.reshape(-1).tolist()]}]},
    }
    os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, separators=(",", ":"))
    return {"reference_rows": len(sample), "rows_with_missing_features": int(len(features) - len(complete))}
