"""github: workflow commands, shown on the pull request's files and in the run summary."""

from __future__ import annotations

from collections.abc import Sequence

from ..findings import Finding, Severity
from .common import detail, real_line, summary_line
from .context import TOOL_NAME, ReportContext
from .escape import github_data, github_property

_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def write(findings: Sequence[Finding], context: ReportContext) -> str:
    """Workflow commands; GitHub shows them on the pull request's files and in the run summary.

    Waived findings get no annotation. The last line is a `::notice` with the summary.
    """
    lines = []
    for finding in findings:
        if finding.is_waived:
            continue
        properties = []
        if finding.file:
            properties.append(f"file={github_property(finding.file)}")
            line = real_line(finding)
            if line:
                properties.append(f"line={line}")
        title = " ".join(part for part in (
            f"[{finding.rule}]",
            str(finding.object) if finding.object else "",
            f"({finding.targets_label()})" if finding.environment else "",
        ) if part)
        properties.append(f"title={github_property(title)}")
        message = detail(finding) + (f"\nFix: {finding.fix}" if finding.fix else "")
        lines.append(f"::{_GITHUB_LEVEL[finding.severity]} {','.join(properties)}::{github_data(message)}")
    lines.append(f"::notice title={TOOL_NAME}::{github_data(summary_line(findings, context))}")
    return "\n".join(lines) + "\n"
