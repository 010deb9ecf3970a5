"""Describe rules for people: the `mlops rules` listing, `explain`, and README's table.

The README table is generated from the rules themselves (`mlops rules --output markdown`), and a
test fails when README's copy is stale, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .policies.base import Rule
from .report.escape import md_cell


def explain_rule(rule: Rule) -> str:
    return (
        f"{rule.id}: {rule.summary}\n\n"
        f"severity: {rule.severity.value}\n"
        f"applies to: {rule.describe_environments()}\n\n"
        f"{rule.explanation.strip()}\n\n"
        f"Fix: {rule.fix}\n\n"
        + (f"Waive on one object: metadata.annotations[\"waive.mlops.dev/{rule.id}\"]: \"<reason>\"\n"
           if rule.check is not None else "")
        + f"Configure in mlops.yaml: rules: {{{rule.id}: {{severity: warning}}}} or {{enabled: false}}\n"
    )


def rules_listing(rules: Sequence[Rule], output_format: str) -> str:
    if output_format == "json":
        return json.dumps([
            {"id": r.id, "severity": r.severity.value, "appliesTo": r.describe_environments(),
             "summary": r.summary, "explanation": r.explanation, "fix": r.fix}
            for r in rules
        ], indent=2) + "\n"
    if output_format == "markdown":
        lines = ["| Rule | Severity | Applies to | What it checks |", "| --- | --- | --- | --- |"]
        lines += [f"| `{r.id}` | {r.severity.value} | {md_cell(r.describe_environments())} | {md_cell(r.summary)} |"
                  for r in rules]
        return "\n".join(lines) + "\n"
    width = max((len(r.id) for r in rules), default=0)
    return "".join(f"{r.id:<{width}}  {r.severity.value:<7}  {r.summary}\n" for r in rules)
