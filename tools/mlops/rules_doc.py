"""Describe rules for people: the `mlops rules` listing, `explain`, and README's table.

The README table is generated from the rules themselves (`mlops rules --output markdown`), and a
test fails when README's copy is stale, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .policies.base import Rule
from .report import RuleInfo

#: Findings that come from the pipeline itself rather than from a policy rule.
BUILTIN_RULES: dict[str, RuleInfo] = {
    info.id: info
    for info in (
        RuleInfo("schema", "An object does not match the JSON schema of its kind",
                 "Built-in kinds are checked against the strict Kubernetes schemas of the configured "
                 "version; custom resources against the first schema location that has their kind."),
        RuleInfo("schema-missing", "No schema was found for a kind, so its objects were not checked",
                 "Add a schema location, run `mlops schemas sync`, or `mlops schemas import` the CRD."),
        RuleInfo("yaml-syntax", "A YAML file does not parse", "Fix the YAML at the line given."),
        RuleInfo("yaml-duplicate-key", "A mapping defines the same key twice",
                 "Tools disagree on which value wins; remove one."),
        RuleInfo("yaml-encoding", "A file is not UTF-8", "Save it as UTF-8."),
        RuleInfo("yaml-alias-bomb", "YAML aliases expand to a huge document",
                 "Such a file would exhaust memory in kustomize and Argo CD; write values out."),
        RuleInfo("kustomize-reference", "A kustomization names a missing path or one outside the repository",
                 "Fix the path; keep every base inside the repository."),
        RuleInfo("render", "kustomize failed to render a target", "Run kustomize on the folder to see the error."),
        RuleInfo("symlink-out-of-bounds", "A symlink is absolute or points outside the repository",
                 "Argo CD's repo-server then refuses to render any Application of the repository; replace the "
                 "link with the file, or with a relative link that stays inside the repository."),
        RuleInfo("empty-resource", "A file listed under resources holds no object",
                 "kustomize adds nothing for it and says nothing; write the object or remove the entry."),
        RuleInfo("object-shape", "A rendered document is not a Kubernetes object",
                 "Every document needs apiVersion, kind and metadata.name."),
        RuleInfo("waiver-reason", "A waiver annotation names no reason or an unknown rule",
                 "Write why the rule does not apply to this object."),
        RuleInfo("rule-crashed", "A policy rule failed on this repository (a bug in mlops)",
                 "The other rules still ran; report the object that triggers it."),
    )
}


def explain_rule(rule: Rule) -> str:
    return (
        f"{rule.id}: {rule.summary}\n\n"
        f"severity: {rule.severity.value}\n"
        f"applies to: {rule.describe_environments()}\n\n"
        f"{rule.explanation.strip()}\n\n"
        f"Fix: {rule.fix}\n\n"
        f"Waive on one object: metadata.annotations[\"waive.mlops.dev/{rule.id}\"]: \"<reason>\"\n"
        f"Configure in mlops.yaml: rules: {{{rule.id}: {{severity: warning}}}} or {{enabled: false}}\n"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rules_listing(rules: Sequence[Rule], output_format: str) -> str:
    if output_format == "json":
        return json.dumps([
            {"id": r.id, "severity": r.severity.value, "appliesTo": r.describe_environments(),
             "summary": r.summary, "explanation": r.explanation, "fix": r.fix}
            for r in rules
        ], indent=2) + "\n"
    if output_format == "markdown":
        lines = ["| Rule | Severity | Applies to | What it checks |", "| --- | --- | --- | --- |"]
        lines += [f"| `{r.id}` | {r.severity.value} | {_cell(r.describe_environments())} | {_cell(r.summary)} |"
                  for r in rules]
        return "\n".join(lines) + "\n"
    width = max((len(r.id) for r in rules), default=0)
    return "".join(f"{r.id:<{width}}  {r.severity.value:<7}  {r.summary}\n" for r in rules)
