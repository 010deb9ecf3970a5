"""text: one line per finding, `file:line:` first so editors and terminals can jump to it."""

from __future__ import annotations

from collections.abc import Sequence

from ..findings import Finding, Severity
from .common import detail, location_of, one_line, subject, summary_line
from .context import ReportContext
from .escape import visible

_RESET = "\033[0m"


_PAINT = {Severity.ERROR: "\033[1;31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}


_DIM = "\033[2m"


_BOLD = "\033[1m"


def write(findings: Sequence[Finding], context: ReportContext) -> str:
    """One line per finding, `file:line:` first so editors and terminals can jump to it."""
    lines = [_text_line(f, context.color) for f in findings]
    summary = summary_line(findings, context)
    lines.append(f"{_BOLD}{summary}{_RESET}" if context.color else summary)
    return "\n".join(lines) + "\n"


def _text_line(finding: Finding, color: bool) -> str:
    if finding.is_waived:
        reason = one_line(finding.waived or "")
        label, paint = (f"waived ({reason})" if reason else "waived"), _DIM
    else:
        label, paint = finding.severity.value, _PAINT[finding.severity]
    label = visible(label)
    if color:  # after visible, which would escape the ESC of the colour codes
        label = f"{paint}{label}{_RESET}"
    where = location_of(finding)
    rest = " ".join(part for part in (f"[{finding.rule}]", subject(finding)) if part)
    tail = one_line(detail(finding)) + (f" — fix: {one_line(finding.fix)}" if finding.fix else "")
    return (visible(f"{where}: ") if where else "") + f"{label} {visible(rest)}: {visible(tail)}"
