"""Scoring the exported ONNX file on the held-out rows: the metrics the catalog records.

The metrics are those of the file that will be served, not of the Python object it came from,
so evaluation runs after the export. Step function, self-contained for KFP (see the package
docstring).
"""

from typing import Any

from .features import load_feature_matrix


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
