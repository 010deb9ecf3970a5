"""Training the classifier on a stratified split, keeping the held-out rows for evaluation.

Kept apart from the ONNX export: the trained model is a pickled scikit-learn object, and what is
served is built from it in onnx_export. Step function, self-contained for KFP (see the package
docstring).
"""

from typing import Any

from .features import load_feature_matrix


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
