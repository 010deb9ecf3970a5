"""Object-level differences between two renders: what a reviewer needs to see before a merge.

Text diffs of kustomize output are noisy (objects move when a base changes order); comparing
object by object (kind, namespace, name) shows exactly which objects are added, removed or
changed, each changed one with a unified diff of its YAML.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from .config import Config
from .errors import OutsideError
from .git import Git
from .kustomize import Engine, render_many
from .yamlsource import FastLoader

ObjectKey = tuple[str, str, str]  # (kind, namespace, name)


@dataclass(frozen=True)
class ObjectChange:
    """One object that differs; `diff` is a unified diff of its YAML (empty for none)."""

    status: str  # "added" | "removed" | "changed"
    kind: str
    namespace: str
    name: str
    diff: str

    @property
    def title(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


def parse_objects(text: str) -> dict[ObjectKey, dict[str, Any]]:
    """Rendered YAML to objects by key."""
    objects: dict[ObjectKey, dict[str, Any]] = {}
    for document in yaml.load_all(text, Loader=FastLoader):
        if not isinstance(document, dict):
            continue
        metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
        assert isinstance(metadata, dict)
        key = (str(document.get("kind", "")), str(metadata.get("namespace") or ""), str(metadata.get("name", "")))
        objects[key] = document
    return objects


def _dump(document: dict[str, Any] | None) -> list[str]:
    if document is None:
        return []
    return yaml.safe_dump(document, sort_keys=True, default_flow_style=False).splitlines(keepends=True)


def diff_objects(before: dict[ObjectKey, dict[str, Any]], after: dict[ObjectKey, dict[str, Any]],
                 labels: tuple[str, str] = ("before", "after")) -> list[ObjectChange]:
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        status = "added" if old is None else "removed" if new is None else "changed"
        title = "/".join(part for part in (key[0], key[1], key[2]) if part)
        lines = difflib.unified_diff(_dump(old), _dump(new), f"{labels[0]}/{title}", f"{labels[1]}/{title}")
        changes.append(ObjectChange(status, key[0], key[1], key[2], "".join(lines)))
    return changes


def summary(changes: Iterable[ObjectChange]) -> str:
    changes = list(changes)
    counts = {status: sum(1 for c in changes if c.status == status) for status in ("added", "changed", "removed")}
    return ", ".join(f"{count} {status}" for status, count in counts.items())


def render_text(changes: list[ObjectChange], heading: str) -> str:
    lines = [f"{heading}: {summary(changes) if changes else 'no differences'}"]
    for change in changes:
        lines.append(f"{change.status:<8} {change.title}")
    body = "".join(change.diff for change in changes)
    return "\n".join(lines) + "\n" + (f"\n{body}" if body else "")


#: Room kept under a `limit` for the closing lines (a "more objects" row and the note on what was left out).
_NOTE_ROOM = 200


def _fence(diff: str) -> str:
    """A code fence longer than any run of backticks in `diff`, so no content can end the block early."""
    longest = max((len(run) for run in re.findall(r"`+", diff)), default=0)
    return "`" * max(3, longest + 1)


def render_markdown(changes: list[ObjectChange], heading: str, limit: int | None = None) -> str:
    """Markdown with one collapsed diff per object.

    With `limit`, the result never exceeds it: rows of the object table and then diffs are left
    out, each with a note, because GitHub refuses a comment or body that is too long as a whole.
    """
    head = f"#### {heading}\n\n"
    if not changes:
        return head + "No differences in the rendered objects.\n"
    budget = None if limit is None else limit - _NOTE_ROOM
    if budget is not None and budget < len(head) + 40:
        return head + f"_{len(changes)} changed object(s) left out to fit the size limit; run `mlops diff` locally._\n"
    text = head + "| Change | Object |\n| --- | --- |\n"
    listed = 0
    for change in changes:
        row = f"| {change.status} | `{change.title}` |\n"
        if budget is not None and len(text) + len(row) > budget:
            break
        text += row
        listed += 1
    if listed < len(changes):
        text += f"| … | {len(changes) - listed} more object(s) |\n"
    text += "\n"  # GitHub needs a blank line between a table and HTML
    omitted = 0
    for change in changes:
        fence = _fence(change.diff)
        block = (f"<details><summary>{change.status}: <code>{change.title}</code></summary>\n\n"
                 f"{fence}diff\n{change.diff}{fence}\n\n</details>\n")
        if budget is not None and len(text) + len(block) > budget:
            omitted += 1
            continue
        text += block
    if omitted:
        text += f"\n_{omitted} object diff(s) left out to fit the size limit; run `mlops diff` locally to see all._\n"
    return text


@dataclass(frozen=True)
class TargetChanges:
    """The rendered changes of one environment or target between a git revision and the working tree."""

    name: str
    is_environment: bool
    changes: list[ObjectChange]


def changes_against(cfg: Config, engine: Engine, base: str) -> list[TargetChanges]:
    """Every environment and target of `cfg` as it renders at git revision `base` and in the working tree.

    All roots of both sides are rendered in one parallel batch. A target that does not exist at
    `base` (added by the change) counts as empty there, so all its objects show as added.
    """
    git = Git(cfg.root)
    targets = list(cfg.all_targets)
    with git.snapshot(base) as snapshot:
        old_root = snapshot / cfg.root.relative_to(git.toplevel())
        present = [target for target in targets if (old_root / target.path).is_dir()]
        roots = [old_root / t.path for t in present] + [cfg.root / t.path for t in targets]
        rendered = render_many(engine, roots)
    old_results = dict(zip([t.name for t in present], rendered[:len(present)], strict=True))
    results = []
    for target, new in zip(targets, rendered[len(present):], strict=True):
        old = old_results.get(target.name)
        for rendering in (old, new):
            if rendering is not None and rendering.error is not None:
                raise OutsideError(f"kustomize failed for {target.path}: {rendering.error}; "
                                   "run `mlops validate` to see why")
        before = parse_objects(old.output) if old is not None else {}
        changes = diff_objects(before, parse_objects(new.output), (base, "working tree"))
        results.append(TargetChanges(target.name, target.is_environment, changes))
    return results


def render_markdown_all(results: list[TargetChanges], base: str, limit: int) -> str:
    """One pull-request comment for every target: a summary table, then the diffs of those that change.

    Targets without changes are named in the table only, so a reviewer sees at a glance that
    prod is untouched. The diffs share `limit` characters, in the order of `mlops.yaml`
    (environments first): a comment larger than GitHub accepts would be lost entirely.
    """
    changed = [result for result in results if result.changes]
    lines = [f"### Rendered changes against `{base}`", ""]
    lines += ["| Environment or target | Changes |", "| --- | --- |"]
    lines += [f"| {result.name} | {summary(result.changes) if result.changes else 'none'} |" for result in results]
    text = "\n".join(lines) + "\n\n"
    if not changed:
        return text + "No environment renders differently: this change does not alter what Argo CD applies.\n"
    left_out = []
    for result in changed:
        room = limit - len(text) - _NOTE_ROOM
        if room < 2 * _NOTE_ROOM:
            left_out.append(result.name)
            continue
        text += render_markdown(result.changes, result.name, limit=room) + "\n"
    if left_out:
        text += f"_Diffs of {', '.join(left_out)} left out to fit the size limit; run `mlops diff --base {base}`._\n"
    return text
