"""sarif: SARIF 2.1.0 as GitHub code scanning ingests it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote

from ..config import CONFIG_FILE
from ..findings import Finding, Severity
from .common import coverage_record, detail, real_line, subject
from .context import TOOL_NAME, ReportContext

INFORMATION_URI = "https://github.com/example-org/rhoai-mlops-gitops"


SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _sarif_uri(path: str) -> str:
    """A relative URI reference: forward slashes, everything but `/` and unreserved percent-encoded.

    Encoding `:` too keeps a first segment like `a:b.yaml` from reading as a URI scheme.
    """
    return quote(path.replace("\\", "/"), safe="/")


def _sarif_rules(findings: Sequence[Finding], context: ReportContext) -> list[dict[str, object]]:
    """Every rule of the context, then any other rule a finding names (with its id only)."""
    seen = sorted({f.rule for f in findings} - set(context.rules))
    rules: list[dict[str, object]] = []
    for rule_id in [*context.rules, *seen]:
        entry: dict[str, object] = {"id": rule_id}
        info = context.rules.get(rule_id)
        if info is not None:
            entry["shortDescription"] = {"text": info.summary}
            entry["fullDescription"] = {"text": info.help or info.summary}
            if info.help:
                entry["help"] = {"text": info.help, "markdown": info.help}
        rules.append(entry)
    return rules


def _sarif_result(finding: Finding, rule_index: int) -> dict[str, object]:
    text = ": ".join(part for part in (subject(finding), detail(finding)) if part)
    if finding.fix:
        text += f"\nFix: {finding.fix}"
    result: dict[str, object] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": text},
    }
    physical: dict[str, object] = {
        "artifactLocation": {"uri": _sarif_uri(finding.file or CONFIG_FILE), "uriBaseId": "%SRCROOT%"},
    }
    line = real_line(finding) if finding.file else None
    if line:
        physical["region"] = {"startLine": line}
    location: dict[str, object] = {"physicalLocation": physical}
    if finding.object:
        ref = finding.object
        qualified = "/".join(part for part in (finding.environment, ref.kind, ref.namespace, ref.name) if part)
        location["logicalLocations"] = [{"name": ref.name, "fullyQualifiedName": qualified, "kind": "resource"}]
    result["locations"] = [location]
    properties: dict[str, object] = {}
    if finding.environment:
        properties["environment"] = finding.environment
    if finding.also_in:
        properties["environments"] = list(finding.environments)
    if finding.path:
        properties["path"] = finding.path
    if not finding.file:
        properties["repositoryWide"] = True  # the location is the config file, not the cause
    if properties:
        result["properties"] = properties
    if finding.is_waived:
        result["suppressions"] = [{"kind": "inSource", "justification": finding.waived or ""}]
    return result


def write(findings: Sequence[Finding], context: ReportContext) -> str:
    """SARIF 2.1.0 as GitHub code scanning ingests it: one run, every result with a file location.

    Waived findings stay in the log with an `inSource` suppression (the waiver annotation sits in
    the source), so code scanning shows them as suppressed rather than forgetting them.
    """
    rules = _sarif_rules(findings, context)
    index = {str(rule["id"]): position for position, rule in enumerate(rules)}
    log = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL_NAME,
                "version": context.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root"}}},
            "results": [_sarif_result(f, index[f.rule]) for f in findings],
            **({"properties": {"schemaCoverage": coverage_record(context.coverage)}}
               if context.coverage is not None else {}),
        }],
    }
    return json.dumps(log, indent=2) + "\n"
