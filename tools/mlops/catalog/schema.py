"""The catalog schema and the checks a JSON schema cannot express, as located problems.

The schema ships in the package (`data/catalog.schema.json`, for editors too); its errors are
rewritten into one sentence with the JSON path and a fix, and only a schema-valid entry gets the
semantic checks (name matches the folder, versions unique, gate environments exist in mlops.yaml).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs

from ..config import Config
from .model import LABEL_VALUE, OCI_DIGEST, VERSION_LABEL, MetricThreshold, parse_created

SCHEMA_RESOURCE = "data/catalog.schema.json"
SCHEMA_FIX = "compare with the catalog schema (mlops/data/catalog.schema.json in the mlops package)"



@cache
def catalog_schema() -> dict[str, Any]:
    """The JSON schema of a catalog entry, as shipped in the package."""
    text = resources.files("mlops").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Any:
    return jsonschema_rs.validator_for(catalog_schema())


def jsonable(value: Any) -> Any:
    """YAML data as JSON data: dates (an unquoted `created: 2025-07-08`) become ISO strings."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def dotted(parts: list[Any] | tuple[Any, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _subschema(path: list[Any]) -> dict[str, Any]:
    node: Any = catalog_schema()
    for step in path:
        if (isinstance(node, dict) and step in node) or (
                isinstance(node, list) and isinstance(step, int) and step < len(node)):
            node = node[step]
        else:
            return {}
    return node if isinstance(node, dict) else {}


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class _Problem:
    path: str
    message: str
    fix: str


def schema_problems(data: Any) -> Iterator[_Problem]:
    errors = list(_validator().iter_errors(data))
    # A misspelt key is reported once, as unknown with a suggestion, not also as a missing key.
    unknown: dict[tuple[Any, ...], list[str]] = {}
    for error in errors:
        if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            unknown.setdefault(tuple(error.instance_path), []).extend(error.kind.unexpected)
    for error in errors:
        parts = list(error.instance_path)
        where = dotted(parts)
        kind = error.kind
        owner = _subschema(list(error.schema_path)[:-1])  # the schema holding the failed keyword
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            allowed = list(owner.get("properties", {}))
            for key in kind.unexpected:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                yield _Problem(dotted([*parts, key]),
                               f"unknown key {key!r}" + (f" in {where}" if where else "") + hint,
                               f"remove {key!r} or correct its spelling; allowed here: {', '.join(allowed) or 'none'}")
            continue
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            if difflib.get_close_matches(kind.property, unknown.get(tuple(parts), []), n=1):
                continue
            wanted = _subschema([*list(error.schema_path)[:-1], "properties", kind.property]).get("description")
            yield _Problem(where, f"missing required key {kind.property!r}" + (f" in {where}" if where else ""),
                           f"add {kind.property}: " + (wanted or "(see the catalog schema)"))
            continue
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.PropertyNames):
            key = str(kind.error.instance)
            described = _subschema(list(kind.error.schema_path)[:-1]).get("description") or "a valid key"
            yield _Problem(dotted([*parts, key]), f"key {key!r} in {where} is not {described}",
                           f"rename {key!r} to {described}")
            continue
        described = owner.get("description")
        if described:
            yield _Problem(where, f"{where or 'the document'}: {_shown(error.instance)} is not {described}",
                           f"write {described}")
        else:
            yield _Problem(where, f"{where or 'the document'}: {error.message}", SCHEMA_FIX)


def semantic_problems(data: dict[str, Any], folder: str, config: Config) -> Iterator[_Problem]:
    """What the schema cannot say. Runs only on schema-valid data, so shapes are known."""
    if data["name"] != folder:
        yield _Problem("name", f"name {data['name']!r} differs from its folder models/{folder}/",
                       f"write name: {folder} (or rename the folder; the InferenceService has the same name)")
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["versions"]):
        where = f"versions[{index}]"
        version = entry["version"]
        if version in seen:
            yield _Problem(f"{where}.version", f"version {version} is listed twice (also versions[{seen[version]}])",
                           "give each version its own number; never reuse one for different bytes")
        seen.setdefault(version, index)
        if not LABEL_VALUE.fullmatch(version):
            yield _Problem(f"{where}.version",
                           f"version {version} cannot be the Kubernetes label {VERSION_LABEL} "
                           "(at most 63 letters, digits, '-', '_' or '.'; build metadata '+...' is not allowed)",
                           "drop the '+build' part or shorten the version")
        if parse_created(entry["created"]) is None:
            yield _Problem(f"{where}.created", f"created {entry['created']!r} is not a real date or date-time",
                           "write an ISO 8601 date such as \"2025-07-08\"")
        digest = entry.get("digest")
        in_uri = OCI_DIGEST.search(entry["uri"])
        if digest and in_uri and in_uri.group(1) != digest:
            yield _Problem(f"{where}.digest", f"digest {digest} differs from the digest in uri ({in_uri.group(1)})",
                           "write the digest of the uri, or drop digest (the uri's digest is authoritative)")
        for metric, value in (entry.get("metrics") or {}).items():
            if not math.isfinite(value):
                yield _Problem(f"{where}.metrics.{metric}", f"metric {metric} is {value}, not a finite number",
                               "write the measured value")
        yield from _signature_problems(entry.get("signature"), f"{where}.signature")
    yield from _signature_problems(data["signature"], "signature")
    environments = config.environment_names
    for environment, gate in (data.get("gates") or {}).items():
        where = f"gates.{environment}"
        if environment not in environments and environments:  # none: validated without mlops.yaml environments
            yield _Problem(where, f"gate for environment {environment!r}, which mlops.yaml does not define "
                           f"(environments: {', '.join(environments)})",
                           f"use one of {', '.join(environments)}, or add the environment to mlops.yaml")
            continue
        if gate.get("soak") is not None and environments and environments.index(environment) == 0:
            yield _Problem(f"{where}.soak", f"{environment} is the first environment: no environment runs before it, "
                           "so its soak can never be measured",
                           f"remove soak from gates.{environment} "
                           "(soak is the time a version must have been pinned in the previous environment)")
        for metric, text in (gate.get("metrics") or {}).items():
            try:
                MetricThreshold.parse(metric, text)
            except ValueError as error:
                yield _Problem(f"{where}.metrics.{metric}", str(error), "write e.g. auc: \">= 0.95\"")


def _signature_problems(signature: Any, where: str) -> Iterator[_Problem]:
    if not isinstance(signature, dict):
        return
    for side in ("inputs", "outputs"):
        names: set[str] = set()
        for index, tensor in enumerate(signature.get(side) or []):
            if tensor["name"] in names:
                yield _Problem(f"{where}.{side}[{index}].name", f"{side} tensor {tensor['name']!r} is named twice",
                               "give every tensor its own name")
            names.add(tensor["name"])


# ---------------------------------------------------------------------------------------------
# Loading


