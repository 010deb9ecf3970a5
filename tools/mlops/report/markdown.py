"""markdown: a pull-request comment, with a table of what to fix and the waivers collapsed."""

from __future__ import annotations

from collections.abc import Sequence

from ..findings import Finding
from .common import location_of, plural, summary_line
from .context import TOOL_NAME, ReportContext
from .escape import md_cell, md_code, md_plain

#: GitHub refuses comments over 65,536 characters; stay below it with room for a caller's footer.
MARKDOWN_LIMIT = 60_000


def _md_file(finding: Finding) -> str:
    where = location_of(finding)
    return md_code(where) if where else ""


def _md_message(finding: Finding, with_fix: bool) -> str:
    cell = md_cell(finding.message)
    if finding.path:
        cell += f" (at {md_code(finding.path)})"
    if with_fix and finding.fix:
        cell += f"<br>**Fix:** {md_cell(finding.fix)}"
    return cell


def _md_row(finding: Finding) -> str:
    object_cell = md_code(str(finding.object)) if finding.object else ""
    return (f"| {finding.severity.value} | {md_code(finding.rule)} | {md_plain(finding.targets_label())} | "
            f"{object_cell} | {_md_file(finding)} | {_md_message(finding, with_fix=True)} |")


def _md_waived_row(finding: Finding) -> str:
    object_cell = md_code(str(finding.object)) if finding.object else ""
    return (f"| {md_code(finding.rule)} | {md_plain(finding.targets_label())} | {object_cell} | "
            f"{_md_file(finding)} | {_md_message(finding, with_fix=False)} | {md_cell(finding.waived or '')} |")


def _fit(rows: list[str], budget: int) -> tuple[list[str], int]:
    """The leading rows that fit in `budget` characters, and the budget left."""
    kept: list[str] = []
    for row in rows:
        if len(row) + 1 > budget:
            break
        kept.append(row)
        budget -= len(row) + 1
    return kept, budget


def write(findings: Sequence[Finding], context: ReportContext) -> str:
    """A pull-request comment: heading with the counts, a table of what to fix, waivers collapsed.

    Rows that would take the comment past `MARKDOWN_LIMIT` are left out, with a line that says
    how many; unwaived findings get the room first.
    """
    active = [f for f in findings if not f.is_waived]
    waived = [f for f in findings if f.is_waived]
    lines = [f"### {TOOL_NAME} validate: {summary_line(findings, context)}", ""]
    if not findings:
        lines.append("No findings.")
        return "\n".join(lines) + "\n"
    budget = MARKDOWN_LIMIT - len(lines[0]) - 500  # 500: table headers, <details> and the notes
    if active:
        kept, budget = _fit([_md_row(f) for f in active], budget)
        lines += ["| Severity | Rule | Environment | Object | File | Message |",
                  "| --- | --- | --- | --- | --- | --- |", *kept]
        if len(kept) < len(active):
            lines += ["", f"_{plural(len(active) - len(kept), 'more finding')} not shown: see the job's log._"]
            budget = 0  # no waived rows while findings that need work are missing
    if waived:
        kept, budget = _fit([_md_waived_row(f) for f in waived], budget)
        lines += ["", f"<details><summary>{plural(len(waived), 'waived finding')}</summary>", "",
                  "| Rule | Environment | Object | File | Message | Reason |",
                  "| --- | --- | --- | --- | --- | --- |", *kept]
        if len(kept) < len(waived):
            lines += ["", f"_{plural(len(waived) - len(kept), 'more waived finding')} not shown._"]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
