"""Write findings in one format: every output is a view of the same list.

text for people, json for programs, github for pull-request annotations, junit for CI test
dashboards, sarif for code scanning, markdown for pull-request comments.

Like kubeconform's output writers, there is one pipeline and the writers are small: `render`
sorts the findings once (by `Finding.sort_key`, so every format lists them in the same order) and
hands them to one pure function per format, one module each (`text`, `json_report`, `github`,
`junit`, `sarif`, `markdown`); `escape` is the one place text is escaped for its consumer. A
writer never filters, re-counts differently or drops a finding silently; the only per-format
choices are the ones the consumer forces:

- github leaves out waived findings, because an annotation asks for action and a waiver says none
  is needed; it ends with one `::notice` carrying the summary line, so a clean run still says
  what it checked in the run's annotations.
- sarif gives a finding without a file the location `mlops.yaml` (no region), because GitHub
  code scanning rejects the whole upload when any result lacks a physical location.
- markdown stops adding rows before GitHub's 65,536-character comment limit and says how many it
  left out.

Text is escaped for its consumer here, never in the checks: checks write plain text in which
`backticks` mark code, as in the rest of the tool's messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..findings import Finding
from . import github, json_report, junit, markdown, sarif, text
from .common import ordered
from .context import TOOL_NAME, ReportContext, RuleInfo
from .markdown import MARKDOWN_LIMIT

__all__ = ["FORMATS", "MARKDOWN_LIMIT", "TOOL_NAME", "ReportContext", "RuleInfo", "render"]

_WRITERS: dict[str, Callable[[Sequence[Finding], ReportContext], str]] = {
    "text": text.write, "json": json_report.write, "github": github.write, "junit": junit.write,
    "sarif": sarif.write, "markdown": markdown.write,
}
FORMATS = tuple(_WRITERS)


def render(findings: Sequence[Finding], fmt: str, context: ReportContext) -> str:
    """The whole report in `fmt`, ending with a newline; ValueError names the known formats."""
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return writer(ordered(findings), context)
