"""The pull requests mlops opens (promotion, rollback, registration): what a reviewer needs, in GitHub markdown.

Gates with their figures, the version's lineage, the rendered objects that change (each diff
collapsed), and how to roll back. GitHub refuses bodies over 65,536 characters, so the diff is
trimmed with a note when the whole would not fit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..diff import render_markdown

if TYPE_CHECKING:
    from ..catalog import Model
    from .plan import Plan
    from .register import Registration

MAX_BODY = 65_536
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_MARGIN = 200


def _is_sha(text: str) -> bool:
    return bool(_SHA.match(text))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _link(text: str, web_url: str | None, ref: str, path: str) -> str:
    return f"[`{text}`]({web_url}/blob/{ref}/{path})" if web_url else f"`{text}`"


def requested_by(env: Mapping[str, str]) -> str | None:
    """Who started the workflow run that opens the pull request, and the run, in GitHub Actions.

    The pull request's author is the bot whose token opened it, so without this line nobody can
    tell that the approval of the person who asked for the promotion is not a second opinion.
    """
    actor = env.get("GITHUB_TRIGGERING_ACTOR") or env.get("GITHUB_ACTOR")
    if env.get("GITHUB_ACTIONS") != "true" or not actor:
        return None
    run, repository = env.get("GITHUB_RUN_ID"), env.get("GITHUB_REPOSITORY")
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    where = f" in [run {run}]({server}/{repository}/actions/runs/{run})" if run and repository else ""
    return f"@{actor}{where}"


def pull_request_body(plan: Plan, web_url: str | None = None, requester: str | None = None) -> str:
    """The body; `web_url` (https://github.com/owner/name) turns files and commits into links;
    `requester` names who asked for it (see `requested_by`)."""
    action = "Rolls back" if plan.kind == "rollback" else "Promotes"
    source = f" from **{plan.previous.name}**" if plan.previous and plan.kind == "promote" else ""
    head = [
        f"{action} **{plan.model}** to version `{plan.version}` in **{plan.target.name}**{source}.",
        f"It runs `{plan.current_version}` there now." if plan.current_version else "It does not run there yet.",
        "",
        f"Merging this pull request is the release: Argo CD syncs `{plan.target.path}` to the cluster "
        "(by itself where the environment syncs automatically, otherwise when someone syncs it).",
    ]
    if plan.breaking:
        head += ["", "> [!WARNING]",
                 "> The model's inputs or outputs differ from the running version: callers may break."]
    gates = ["", "### Gates", "", "| Gate | Result | Details |", "| --- | --- | --- |"]
    gates += [f"| {r.name} | {'✅ pass' if r.passed and not r.skipped else ('⏭ skipped' if r.skipped else '❌ fail')} "
              f"| {_cell(r.detail)} |" for r in plan.gate_results]
    catalog = f"models/{plan.model}/model.yaml"
    lineage = ["", "### Version", "", "| | |", "| --- | --- |",
               f"| model | {_link(plan.model, web_url, plan.base_sha, catalog)} |",
               f"| version | `{plan.version}` |",
               f"| pin file | {_link(plan.pin_path, web_url, plan.branch, plan.pin_path)} |"]
    for key, value in plan.lineage.items():
        shown = f"`{_cell(str(value))}`"
        if key == "commit" and web_url and _is_sha(str(value)):
            shown = f"[`{str(value)[:12]}`]({web_url}/commit/{value})"
        lineage.append(f"| {_cell(key)} | {shown} |")
    rollback = [
        "", "### Roll back", "",
        "Before the merge: close this pull request. After it: revert the merge commit, or run",
        "",
        "```sh",
        f"mlops rollback {plan.model} --env {plan.target.name}" + (f" --to {plan.current_version}"
                                                                   if plan.current_version else ""),
        "```",
        "",
        "which opens a pull request that pins the previous version again.",
        "",
        f"<sub>Opened by `mlops {plan.kind}` from `{plan.base}` at `{plan.base_sha[:12]}`"
        + (f" for {requester}" if requester else "") + ".</sub>",
        "",
    ]
    fixed = "\n".join([*head, *gates, *lineage, ""]) + "\n"
    tail = "\n".join(rollback)
    budget = MAX_BODY - len(fixed) - len(tail) - _MARGIN
    diff = render_markdown(plan.changes, f"Rendered changes in {plan.target.name}", limit=max(budget, 0))
    body = fixed + "### What changes in the cluster\n\n" + diff + tail
    return body[:MAX_BODY]


def registration_body(registration: Registration, model: Model) -> str:
    """The pull request a reviewer sees: the version, its figures against every gate, its lineage."""
    entry = registration.entry
    lines = [
        f"Adds version `{entry.version}` of **{model.name}** to `{model.file}`.",
        "",
        f"- artifact: `{entry.uri}`" + (f" (digest `{entry.digest}`)" if entry.digest else ""),
        f"- created: {entry.created}",
    ]
    lines += [f"- {key}: `{value}`" for key, value in entry.lineage.items()]
    lines += ["", "| metric | value |", "| --- | --- |"]
    lines += [f"| {name} | {value:g} |" for name, value in sorted(entry.metrics.items())]
    lines += ["", "| environment | metric gate | figures |", "| --- | --- | --- |"]
    for environment, result in registration.gate_results.items():
        lines.append(f"| {environment} | {'pass' if result.passed else 'FAIL'} | {result.detail} |")
    lines += [
        "",
        f"Merging records the version; it runs nowhere yet. The new-version workflow then opens its "
        f"promotion to **{registration.first_environment}** (`mlops promote {model.name} --to "
        f"{registration.first_environment} --version {entry.version}`), where the gates above apply.",
    ]
    return "\n".join(lines) + "\n"
