"""Which version of each model runs in each environment, and since when (from git history).

"Since" is the committer date of the commit that pinned the version: a quick overview, not a
gate (the soak gate of a promotion takes the merge time GitHub recorded, see `soak`).

Read from the pin files of the checkout and their history on HEAD, so it answers for the branch
you are on without a cluster; open promotion pull requests are added when a forge answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..catalog import pin_file, pin_version
from ..check import load_config
from ..config import Config
from ..errors import MlopsError
from ..git import Git
from .plan import BRANCH_PREFIX
from .soak import pin_commit


@dataclass(frozen=True)
class Cell:
    version: str | None
    since: datetime | None


@dataclass(frozen=True)
class OpenPromotion:
    number: int
    url: str
    branch: str
    title: str


@dataclass
class StatusTable:
    environments: tuple[str, ...]
    rows: dict[str, dict[str, Cell]]
    promotions: list[OpenPromotion]
    note: str | None = None


def model_names(root: Path) -> list[str]:
    return sorted(p.parent.name for p in (root / "models").glob("*/model.yaml"))


def collect(config: Config, git: Git | None) -> StatusTable:
    rows: dict[str, dict[str, Cell]] = {}
    prefix = git.prefix_of(config.root) if git is not None else ""
    for model in model_names(config.root):
        cells = {}
        for target in config.environments:
            path = pin_file(target, model)
            try:
                version = pin_version((config.root / path).read_text(encoding="utf-8"))
            except OSError:
                version = None
            since = None
            if version is not None and git is not None and git.rev_parse("HEAD") is not None:
                start = pin_commit(git, "HEAD", prefix + path, version, pin_version)
                since = start.date if start is not None else None
            cells[target.name] = Cell(version, since)
        rows[model] = cells
    return StatusTable(config.environment_names, rows, [])


def _cell_text(cell: Cell) -> str:
    if cell.version is None:
        return "—"
    return f"{cell.version} (since {cell.since:%Y-%m-%d})" if cell.since else cell.version


def render_text(table: StatusTable) -> str:
    headers = ["model", *table.environments]
    lines = [[model, *(_cell_text(cells[env]) for env in table.environments)] for model, cells in table.rows.items()]
    widths = [max(len(row[i]) for row in [headers, *lines]) for i in range(len(headers))]
    text = "\n".join("  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip()
                     for row in [headers, *lines]) + "\n"
    if table.promotions:
        text += "\nopen promotion pull requests:\n"
        text += "".join(f"  #{p.number} {p.title} ({p.url})\n" for p in table.promotions)
    if table.note:
        text += f"\n{table.note}\n"
    return text


def render_markdown(table: StatusTable) -> str:
    lines = ["| Model | " + " | ".join(table.environments) + " |",
             "| --- |" + " --- |" * len(table.environments)]
    for model, cells in table.rows.items():
        lines.append(f"| `{model}` | " + " | ".join(_cell_text(cells[env]) for env in table.environments) + " |")
    if table.promotions:
        lines += ["", "Open promotion pull requests:", ""]
        lines += [f"- [#{p.number}]({p.url}) {p.title}" for p in table.promotions]
    return "\n".join(lines) + "\n"


def as_json(table: StatusTable) -> dict[str, object]:
    return {
        "environments": list(table.environments),
        "models": {model: {env: {"version": cell.version, "since": cell.since.isoformat() if cell.since else None}
                           for env, cell in cells.items()} for model, cells in table.rows.items()},
        "openPromotions": [{"number": p.number, "url": p.url, "branch": p.branch, "title": p.title}
                           for p in table.promotions],
        "note": table.note,
    }


def open_promotions(config: Config, remote: str) -> tuple[list[OpenPromotion], str | None]:
    """The open promotion pull requests, and a note when they cannot be known (no token, no answer)."""
    from ..forge import connect
    from ..forge.token import discover_token

    if not discover_token():
        return [], "open pull requests not shown: no GitHub token (GITHUB_TOKEN, GH_TOKEN or gh auth login)"
    try:
        client = connect(config.root, remote)
        try:
            return [OpenPromotion(pr.number, pr.url, pr.head, pr.title)
                    for pr in client.list_open_pull_requests(head_prefix=BRANCH_PREFIX)], None
        finally:
            client.close()
    except MlopsError as error:
        return [], f"open pull requests unknown: {error.one_line()}"


def status_report(repo: Path | None, remote: str, output_format: str) -> str:
    """`mlops status`: the table of pins, the open promotions, in the chosen format."""
    config = load_config(repo)
    git = Git(config.root)
    table = collect(config, git if git.ok("rev-parse", "--is-inside-work-tree") else None)
    table.promotions, table.note = open_promotions(config, remote)
    if output_format == "json":
        return json.dumps(as_json(table), indent=2) + "\n"
    if output_format == "markdown":
        return render_markdown(table)
    return render_text(table)
