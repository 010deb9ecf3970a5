"""json: a versioned document for programs; every field always present."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..findings import Finding, counts
from .common import coverage_record
from .context import TOOL_NAME, ReportContext


def _finding_record(finding: Finding) -> dict[str, object]:
    """Every field, always present (null when absent), so programs need no key checks."""
    ref = finding.object
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
        "file": finding.file,
        "line": finding.line,
        "object": None if ref is None else {
            "kind": ref.kind, "name": ref.name, "namespace": ref.namespace, "apiVersion": ref.api_version,
        },
        "environment": finding.environment,
        "environments": list(finding.environments),
        "path": finding.path,
        "fix": finding.fix,
        "waived": finding.waived,
    }


def write(findings: Sequence[Finding], context: ReportContext) -> str:
    """A versioned document: `version` changes only when a program reading it would break."""
    document = {
        "version": 1,
        "tool": {"name": TOOL_NAME, "version": context.tool_version},
        "summary": {
            **counts(list(findings)),
            "objects_checked": context.objects_checked,
            "environments": list(context.environments),
            **({"schema_coverage": coverage_record(context.coverage)} if context.coverage is not None else {}),
        },
        "findings": [_finding_record(f) for f in findings],
    }
    return json.dumps(document, indent=2) + "\n"
