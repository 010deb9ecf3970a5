"""Pieces every writer shares: order, positions, the summary line, the parts of a finding shown."""

from __future__ import annotations

from collections.abc import Sequence

from ..findings import Finding, SchemaCoverage, counts
from .context import ReportContext


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """`Finding.sort_key` first; the rest only makes ties (same file, line, rule, message) stable."""
    return sorted(findings, key=lambda f: (*f.sort_key(), str(f.object or ""), f.path or "", f.waived or ""))


def real_line(finding: Finding) -> int | None:
    """The line when it is a real one: every consumer (SARIF most strictly) counts from 1."""
    return finding.line if finding.line is not None and finding.line >= 1 else None


def location_of(finding: Finding) -> str:
    if not finding.file:
        return ""
    line = real_line(finding)
    return f"{finding.file}:{line}" if line else finding.file


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def summary_line(findings: Sequence[Finding], context: ReportContext) -> str:
    """`2 errors, 1 warning, 1 waived in 42 objects across dev, prod` (infos only when there are any)."""
    scope = plural(context.objects_checked, "object")
    if len(context.environments) > 8:
        scope += f" across {len(context.environments)} targets"
    elif context.environments:
        scope += " across " + ", ".join(context.environments)
    coverage = f"; {context.coverage.describe()}" if context.coverage is not None else ""
    if not findings:
        return f"no findings in {scope}{coverage}"
    total = counts(list(findings))
    parts = [plural(total["error"], "error"), plural(total["warning"], "warning")]
    if total["info"]:
        parts.append(plural(total["info"], "info"))
    parts.append(f"{total['waived']} waived")
    return f"{', '.join(parts)} in {scope}{coverage}"


def coverage_record(coverage: SchemaCoverage) -> dict[str, object]:
    """The coverage figures as json and SARIF carry them."""
    return {
        "checked": coverage.checked,
        "total": coverage.total,
        "percent": round(coverage.percent(), 1),
        "unchecked_kinds": list(coverage.unchecked_kinds),
        "by_environment": {name: {"checked": checked, "total": total}
                           for name, (checked, total) in coverage.by_environment.items()},
    }


def one_line(text: str) -> str:
    """Line breaks become spaces, so a multi-line message (kustomize's errors) stays one record."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def subject(finding: Finding) -> str:
    """`prod InferenceService/ml-prod/fraud`: which rendered object, in which environment."""
    return " ".join(part for part in (finding.targets_label(), str(finding.object) if finding.object else None) if part)


def detail(finding: Finding) -> str:
    """The message with its JSON path, the part every format shows."""
    return finding.message + (f" (at {finding.path})" if finding.path else "")
