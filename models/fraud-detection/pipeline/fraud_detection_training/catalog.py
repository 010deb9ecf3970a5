"""Where the catalog entry and the data schema live, and reading them.

The package sits in models/fraud-detection/pipeline/ of the GitOps repository, next to the data
schema and below the catalog entry models/fraud-detection/model.yaml, whose `signature:` the
exported ONNX file must match. Both the local run and the pipeline compiler read them from there.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
PIPELINE_DIR = PACKAGE_DIR.parent
DATA_SCHEMA = PIPELINE_DIR / "data-schema.yaml"
PIPELINE_IR = PIPELINE_DIR / "pipeline.yaml"
DEFAULT_MODEL_URI_PREFIX = "s3://mlops-models/fraud-detection/"


class CatalogError(Exception):
    """The catalog entry or the data schema cannot be found or lacks what training needs."""


def find_catalog(start: Path = PACKAGE_DIR) -> Path:
    """The nearest model.yaml in `start` or a folder above it (the package's own catalog entry)."""
    for folder in (start, *start.parents):
        candidate = folder / "model.yaml"
        if candidate.is_file():
            return candidate
    raise CatalogError(f"no model.yaml in {start} or any folder above it; pass --catalog")


def _load_mapping(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CatalogError(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict):
        raise CatalogError(f"{path} is not a YAML mapping")
    return data


def load_catalog(path: Path) -> dict[str, Any]:
    """The catalog entry, checked for what training uses: a name and a one-input, one-output signature."""
    catalog = _load_mapping(path)
    signature = catalog.get("signature")
    if not isinstance(catalog.get("name"), str) or not isinstance(signature, dict):
        raise CatalogError(f"{path} has no name or no signature")
    for kind in ("inputs", "outputs"):
        entries = signature.get(kind)
        if not isinstance(entries, list) or len(entries) != 1:
            raise CatalogError(f"{path}: signature.{kind} must list exactly one tensor for this model")
        entry = entries[0]
        if not (isinstance(entry, dict) and isinstance(entry.get("name"), str)
                and isinstance(entry.get("datatype"), str) and isinstance(entry.get("shape"), list)):
            raise CatalogError(f"{path}: signature.{kind}[0] needs name, datatype and shape")
    return catalog


def signature_of(catalog: dict[str, Any]) -> dict[str, Any]:
    """Only the fields of the signature that the checks compare, as plain data (for the pipeline IR)."""
    return {kind: [{"name": entry["name"], "datatype": entry["datatype"], "shape": [int(d) for d in entry["shape"]]}
                   for entry in catalog["signature"][kind]] for kind in ("inputs", "outputs")}


def load_data_schema(path: Path = DATA_SCHEMA) -> dict[str, Any]:
    """The data schema, checked for consistency: the label and every feature are declared columns."""
    schema = _load_mapping(path)
    columns = schema.get("columns")
    if not isinstance(columns, list) or not all(isinstance(c, dict) and "name" in c for c in columns):
        raise CatalogError(f"{path}: columns must be a list of mappings with a name")
    names = {column["name"] for column in columns}
    features = schema.get("features")
    if not isinstance(features, list) or not features:
        raise CatalogError(f"{path}: features must list the model's input columns")
    undeclared = [name for name in [*features, schema.get("label")] if name not in names]
    if undeclared:
        raise CatalogError(f"{path}: {', '.join(map(str, undeclared))} not declared under columns")
    return schema


def check_schema_fits_signature(schema: dict[str, Any], signature: dict[str, Any]) -> None:
    """The input tensor's width must be the number of features, or the model could never be served."""
    shape = signature["inputs"][0]["shape"]
    if len(shape) != 2 or shape[1] != len(schema["features"]):
        raise CatalogError(f"the signature's input shape {shape} does not fit the data schema's "
                           f"{len(schema['features'])} features")


def repository_commit(path: Path) -> str:
    """The Git commit checked out at `path` (training-code lineage), or "" outside a Git work tree."""
    try:
        result = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""
