"""Load the catalog: read each entry, check it, and build the typed model only when nothing is wrong.

A model with any problem is left out of the result (and every problem is a `catalog-schema`
finding with file and line), so nothing is promoted from an entry that is half right.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import MlopsError
from ..findings import Finding, Severity
from ..model_monitoring import parse as parse_monitoring
from ..readfile import read_bytes
from ..yamlsource import SourceDocument, decode_utf8, load_documents
from . import model as typed
from .schema import jsonable, schema_problems, semantic_problems


def _signature(data: dict[str, Any]) -> typed.Signature:
    def tensors(items: list[dict[str, Any]]) -> tuple[typed.Tensor, ...]:
        return tuple(typed.Tensor(t["name"], t["datatype"], tuple(t["shape"])) for t in items)

    return typed.Signature(tensors(data["inputs"]), tensors(data["outputs"]))


def _soak_duration(soak: Any) -> timedelta | None:
    """`soak: 72h` or `soak: {duration: 72h, source: pull-request}` (schema-valid) to its duration."""
    if soak is None:
        return None
    return typed.parse_duration(soak["duration"] if isinstance(soak, dict) else soak)


def _build(data: dict[str, Any], file: str, document: SourceDocument) -> typed.Model:
    versions = tuple(
        typed.Version(
            version=entry["version"], uri=entry["uri"], created=entry["created"], digest=entry.get("digest"),
            metrics={str(k): v for k, v in (entry.get("metrics") or {}).items()},
            lineage={str(k): str(v) for k, v in (entry.get("lineage") or {}).items()},
            signature=_signature(entry["signature"]) if entry.get("signature") else None,
            line=document.line_of(f"versions[{index}]"),
        )
        for index, entry in enumerate(data["versions"])
    )
    gates = {
        environment: typed.Gate(
            environment=environment,
            metrics=tuple(typed.MetricThreshold.parse(metric, text)
                          for metric, text in (gate.get("metrics") or {}).items()),
            soak=_soak_duration(gate.get("soak")),
            soak_source=str(gate["soak"].get("source", "any")) if isinstance(gate.get("soak"), dict) else "any",
            reviewers=tuple(gate.get("reviewers") or ()),
        )
        for environment, gate in (data.get("gates") or {}).items()
    }
    return typed.Model(
        name=data["name"], description=data["description"],
        owners=tuple(typed.Owner(o["name"], o["email"]) for o in data["owners"]),
        format=data["format"], runtime=data["runtime"], type=data["type"],
        signature=_signature(data["signature"]), versions=versions, gates=gates, file=file, source=document,
        monitoring=parse_monitoring(data["monitoring"]) if "monitoring" in data else None,
    )


def _finding(file: str, line: int | None, path: str | None, message: str, fix: str) -> Finding:
    return Finding(typed.SCHEMA_RULE, Severity.ERROR, message, file=file, line=line, path=path or None, fix=fix)


def check_text(text: str, file: str, folder: str, config: Config) -> tuple[typed.Model | None, list[Finding]]:
    """Check the text of one catalog entry; the model only when there are no findings."""
    try:
        documents = load_documents(text, file)
    except MlopsError as error:
        return None, [_finding(file, error.line, None, str(error), "fix the YAML at that line")]
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        line = documents[1].line if len(documents) > 1 else (documents[0].line if documents else 1)
        return None, [_finding(file, line, None, "a catalog entry must be exactly one YAML mapping",
                               "keep one document with name, versions, gates, ... at the top level")]
    document = documents[0]
    data = jsonable(document.data)
    problems = list(schema_problems(data))
    if not problems:
        problems = list(semantic_problems(data, folder, config))
    findings = [_finding(file, document.line_of(p.path) if p.path else document.line, p.path, p.message, p.fix)
                for p in problems]
    if findings:
        return None, findings
    return _build(data, file, document), []


def catalog_files(root: Path) -> list[Path]:
    """Every `models/<model>/model.yaml`, in name order."""
    return sorted((root / typed.CATALOG_DIR).glob(f"*/{typed.CATALOG_FILE}"))


def catalog_path(model: str) -> str:
    return f"{typed.CATALOG_DIR}/{model}/{typed.CATALOG_FILE}"


def load_model_file(root: Path, path: Path, config: Config) -> tuple[typed.Model | None, list[Finding]]:
    file = path.relative_to(root).as_posix()
    try:
        text = decode_utf8(read_bytes(path), file)
    except OSError as error:
        return None, [_finding(file, None, None, f"cannot read: {error.strerror}", "make the file readable")]
    except MlopsError as error:
        return None, [_finding(file, error.line, None, str(error), "save the file as UTF-8")]
    return check_text(text, file, path.parent.name, config)


def load_catalog(root: Path, config: Config) -> tuple[dict[str, typed.Model], list[Finding]]:
    """Every valid catalog entry by name, and a `catalog-schema` finding for every problem."""
    models: dict[str, typed.Model] = {}
    findings: list[Finding] = []
    for path in catalog_files(root):
        model, problems = load_model_file(root, path, config)
        findings += problems
        if model is not None:
            models[model.name] = model
    return models, findings


# ---------------------------------------------------------------------------------------------
# Pins


def known_model_names(root: Path) -> list[str]:
    """Folder names of every catalog entry, valid or not."""
    return [path.parent.name for path in catalog_files(root)]

