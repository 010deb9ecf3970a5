"""The plan of a promotion as the command prints it: lines for people, one JSON document for programs."""

from __future__ import annotations

import json

from ..diff import render_text
from .plan import Plan
from .promote import Outcome


def plan_json(plan: Plan, outcome: Outcome | None = None, dry_run: bool = False) -> str:
    """The plan, its gates, its rendered changes and the pull request, as `--output json` prints them."""
    document = {
        "kind": plan.kind, "model": plan.model, "version": plan.version, "environment": plan.target.name,
        "from": plan.previous.name if plan.previous else None, "current": plan.current_version,
        "branch": plan.branch, "pinFile": plan.pin_path, "labels": plan.labels, "reviewers": plan.reviewers,
        "dryRun": dry_run, "passed": plan.passed,
        "gates": [{"name": r.name, "status": r.status, "detail": r.detail} for r in plan.gate_results],
        "changes": [{"status": c.status, "object": c.title} for c in plan.changes],
        "pullRequest": None if outcome is None or outcome.pull_request is None else {
            "number": outcome.pull_request.number, "url": outcome.pull_request.url, "created": outcome.created},
    }
    return json.dumps(document, indent=2) + "\n"


def plan_text(plan: Plan, outcome: Outcome | None = None, dry_run: bool = False) -> str:
    """The plan as lines: title, what runs now, one line per gate, the rendered diff, what was done."""
    lines = [f"{plan.title}  (branch {plan.branch}, pin {plan.pin_path})",
             f"  {plan.target.name} runs {plan.current_version or 'nothing'} now"]
    lines += [f"  gate {result.name:<9} {result.status:<7} {result.detail}" for result in plan.gate_results]
    text = "\n".join(lines) + "\n"
    if plan.changes:
        text += render_text(plan.changes, f"rendered changes in {plan.target.name}")
    if outcome is not None and outcome.pull_request is not None:
        verb = "opened" if outcome.created else "updated"
        text += f"pull request #{outcome.pull_request.number} {verb}: {outcome.pull_request.url}\n"
    elif dry_run:
        text += "dry run: no file, branch, push or network call was made\n"
    return text
