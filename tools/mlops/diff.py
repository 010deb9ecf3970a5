"""Object-level differences between two renders: what a reviewer needs to see before a merge.

Text diffs of kustomize output are noisy (objects move when a base changes order); comparing
object by object (kind, namespace, name) shows exactly which objects are added, removed or
changed, each changed one with a unified diff of its YAML.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from . import interrupt
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


#: What a Secret's value becomes in a diff: whether it changed is shown, the value never.
REDACTED = "(redacted)"
_SECRET_FIELDS = ("data", "stringData")


def _is_secret(document: dict[str, Any] | None) -> bool:
    return isinstance(document, dict) and document.get("kind") == "Secret" \
        and str(document.get("apiVersion", "v1")) == "v1"


def redact_secrets(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[Any, Any]:
    """Both sides of a Secret with every value replaced: a diff (and so a pull-request comment or a
    job summary, which anyone who can read the pull request reads) shows which keys were added,
    removed or changed, never a value. Values are compared before they are replaced."""
    if not (_is_secret(old) or _is_secret(new)):
        return old, new
    shown_old, shown_new = copy.deepcopy(old), copy.deepcopy(new)
    for name in _SECRET_FIELDS:
        before = _values(old, name)
        after = _values(new, name)
        if isinstance(shown_old, dict) and before is not None:
            shown_old[name] = dict.fromkeys(before, REDACTED)
        if isinstance(shown_new, dict) and after is not None:
            shown_new[name] = {
                key: REDACTED if before is not None and key in before and before[key] == value
                else f"{REDACTED}; {'changed' if before is not None and key in before else 'added'}"
                for key, value in after.items()
            }
    return shown_old, shown_new


def _values(document: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    values = document.get(name) if isinstance(document, dict) else None
    return values if isinstance(values, dict) else None


def diff_objects(before: dict[ObjectKey, dict[str, Any]], after: dict[ObjectKey, dict[str, Any]],
                 labels: tuple[str, str] = ("before", "after")) -> list[ObjectChange]:
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        status = "added" if old is None else "removed" if new is None else "changed"
        title = "/".join(part for part in (key[0], key[1], key[2]) if part)
        shown_old, shown_new = redact_secrets(old, new)
        lines = difflib.unified_diff(_dump(shown_old), _dump(shown_new), f"{labels[0]}/{title}",
                                     f"{labels[1]}/{title}")
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


def _block(change: ObjectChange) -> str:
    fence = _fence(change.diff)
    return (f"<details><summary>{change.status}: <code>{change.title}</code></summary>\n\n"
            f"{fence}diff\n{change.diff}{fence}\n\n</details>\n")


def _left_out(titles: list[str], room: int) -> str:
    """The note naming every object whose diff was left out, within `room` characters if it can."""
    start, end = "\n_Diffs left out to fit the size limit (`mlops diff` shows them): ", "._\n"
    named: list[str] = []
    for index, title in enumerate(titles):
        candidate = [*named, f"`{title}`"]
        rest = len(titles) - index - 1
        tail = f" and {rest} more" if rest else ""
        if named and len(start) + len(", ".join(candidate)) + len(tail) + len(end) > room:
            return start + ", ".join(named) + f" and {len(titles) - index} more" + end
        named = candidate
    return start + ", ".join(named) + end


def render_markdown(changes: list[ObjectChange], heading: str, limit: int | None = None) -> str:
    """Markdown with one collapsed diff per object.

    With `limit`, the result never exceeds it: rows of the object table and then diffs are left
    out, because GitHub refuses a comment or body that is too long as a whole, and a closing note
    names every object whose diff is not there (room for the names is kept as diffs are added).
    """
    head = f"#### {heading}\n\n"
    if not changes:
        return head + "No differences in the rendered objects.\n"
    if limit is None:
        rows = "".join(f"| {c.status} | `{c.title}` |\n" for c in changes)
        return head + "| Change | Object |\n| --- | --- |\n" + rows + "\n" + "".join(_block(c) for c in changes)
    if limit - _NOTE_ROOM < len(head) + 40:
        return head + f"_{len(changes)} changed object(s) left out to fit the size limit; run `mlops diff` locally._\n"
    text = head + "| Change | Object |\n| --- | --- |\n"
    listed = 0
    for change in changes:
        row = f"| {change.status} | `{change.title}` |\n"
        if len(text) + len(row) > limit - _NOTE_ROOM:
            break
        text += row
        listed += 1
    if listed < len(changes):
        text += f"| … | {len(changes) - listed} more object(s), named below |\n"
    text += "\n"  # GitHub needs a blank line between a table and HTML
    omitted: list[str] = [c.title for c in changes[listed:]]
    # room for the note: the names omitted so far and, at most, those of every diff still to come
    names = sum(len(change.title) + 4 for change in changes)
    for change in changes[:listed]:
        block = _block(change)
        if len(text) + len(block) + min(names + _NOTE_ROOM, limit // 2) > limit:
            omitted.append(change.title)
            continue
        names -= len(change.title) + 4  # shown: its name needs no room in the note
        text += block
    if omitted:
        left_out = set(omitted)
        text += _left_out([c.title for c in changes if c.title in left_out], limit - len(text))
    return text


@dataclass(frozen=True)
class Revisions:
    """The commits a preview compares: the head it shows, the base it compares with, and how."""

    head: str
    base: str
    merge: str | None = None  # GitHub's test merge of head into base, when that is what was rendered
    dirty: bool = False

    def line(self) -> str:
        head = f"head `{self.head[:12]}`"
        if self.merge:
            head += f" (rendered as GitHub's test merge `{self.merge[:12]}` into the base)"
        elif self.dirty:
            head += " with uncommitted changes"
        return f"Comparing {head} with base `{self.base[:12]}`."


def revisions(cfg: Config, base: str) -> Revisions:
    """What HEAD and `base` are. A checkout of GitHub's test merge (refs/pull/N/merge, what
    actions/checkout gives a pull request) is named by the pull request's head, its second parent."""
    git = Git(cfg.root)
    head, base_sha = git.rev_parse("HEAD") or "", git.rev_parse(base) or ""
    parents = git.run("rev-list", "--parents", "-n", "1", "HEAD", check=False).split()[1:] if head else []
    dirty = bool(git.run("status", "--porcelain", "--untracked-files=no", check=False).strip())
    if len(parents) == 2 and parents[0] == base_sha and not dirty:
        return Revisions(parents[1], base_sha, merge=head)
    return Revisions(head, base_sha, dirty=dirty)


class RenderFailed(OutsideError):
    """A target does not render on one side of a preview; `render_failed_markdown` says so in a comment."""

    def __init__(self, target: str, path: str, side: str, error: str) -> None:
        self.target, self.path, self.side, self.error = target, path, side, error
        super().__init__(f"kustomize failed for {path}: {error}; run `mlops validate` to see why")


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
    interrupt.check()
    old_results = dict(zip([t.name for t in present], rendered[:len(present)], strict=True))
    results = []
    for target, new in zip(targets, rendered[len(present):], strict=True):
        old = old_results.get(target.name)
        for side, rendering in (("base", old), ("head", new)):
            if rendering is not None and rendering.error is not None:
                raise RenderFailed(target.name, target.path, side, rendering.error)
        before = parse_objects(old.output) if old is not None else {}
        changes = diff_objects(before, parse_objects(new.output), (_base_label(base), "working tree"))
        results.append(TargetChanges(target.name, target.is_environment, changes))
    return results


def _base_label(base: str) -> str:
    return base[:12] if re.fullmatch(r"[0-9a-f]{40}", base) else base


def render_markdown_all(results: list[TargetChanges], base: str, limit: int,
                        revisions: Revisions | None = None) -> str:
    """One pull-request comment for every target: a summary table, then the diffs of those that change.

    Targets without changes are named in the table only, so a reviewer sees at a glance that
    prod is untouched. The diffs share `limit` characters, in the order of `mlops.yaml`
    (environments first): a comment larger than GitHub accepts would be lost entirely. The
    commits compared are named under the heading, so a comment is never taken for another push's.
    """
    changed = [result for result in results if result.changes]
    lines = [f"### Rendered changes against `{_base_label(base)}`", ""]
    if revisions is not None:
        lines += [revisions.line(), ""]
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


def render_failed_markdown(failure: RenderFailed, base: str, revisions: Revisions) -> str:
    """The comment that replaces the preview when a side does not render: it must not stand for this push."""
    at = revisions.head if failure.side == "head" else revisions.base
    side = "this pull request's head" if failure.side == "head" else f"the base (`{_base_label(base)}`)"
    fence = _fence(failure.error)
    return (f"### Rendered changes: render failed at `{at[:12]}`\n\n"
            f"{revisions.line()}\n\n"
            f"`{failure.path}` ({failure.target}) does not render at {side}, so there is no preview of this push; "
            "the earlier preview was replaced so that it cannot be taken for this one. kustomize said:\n\n"
            f"{fence}text\n{failure.error}\n{fence}\n\n"
            "`mlops validate` names the file and line.\n")
