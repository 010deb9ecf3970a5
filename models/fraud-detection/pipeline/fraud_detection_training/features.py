"""Reading a CSV file as the model's input: the feature matrix in schema order, and the labels.

Training, the export's faithfulness check and evaluation must read data the same way, so the
column order of the model's input tensor is decided once, here. Every component whose step
calls it lists it in its `additional_funcs` too. Self-contained for KFP (see the package
docstring).
"""

from typing import Any


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
