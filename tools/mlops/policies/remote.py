"""Remote bases and resources are pinned: a render never reads a moving branch.

A kustomization that pulls `github.com/org/repo//path` (or a raw URL) from `main` renders
something different tomorrow without a commit in this repository: the review, the promotion
gates and the rollback all lose their meaning. Only a commit or a version tag is a pin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

from ..findings import Severity
from .base import PolicyContext, Rule, Scope, Violation

_SHA = re.compile(r"^[0-9a-f]{40}$")
_VERSION_TAG = re.compile(r"^v?\d+(\.\d+){1,3}([-+][0-9A-Za-z.-]+)?$")
_RAW = re.compile(r"^https://raw\.githubusercontent\.com/[^/]+/[^/]+/(?P<ref>[^/]+)/")


def is_pinned(ref: str | None) -> bool:
    return ref is not None and bool(_SHA.match(ref) or _VERSION_TAG.match(ref))


def reference_of(value: str) -> str | None:
    """The ref a remote kustomize reference reads (`?ref=`, `?version=`, a raw URL's path segment)."""
    raw = _RAW.match(value)
    if raw:
        return raw.group("ref")
    query = parse_qs(urlsplit(value).query) if "?" in value else {}
    for key in ("ref", "version"):
        if query.get(key):
            return query[key][0]
    return None


def _check(context: PolicyContext) -> Iterator[Violation]:
    seen: set[tuple[str, int, str]] = set()
    for tree in context.trees.values():
        for reference in tree.references:
            if not reference.is_remote:
                continue
            key = (reference.kustomization, reference.line, reference.value)
            if key in seen:
                continue
            seen.add(key)
            ref = reference_of(reference.value)
            if not is_pinned(ref):
                what = f"the moving ref {ref!r}" if ref else "no ref (the default branch)"
                yield Violation(f"{reference.field} entry {reference.value} reads {what}",
                                file=reference.kustomization, line=reference.line)
        for path, document in tree.kustomizations.items():
            charts = document.data.get("helmCharts") if isinstance(document.data, dict) else None
            for index, chart in enumerate(charts if isinstance(charts, list) else []):
                if isinstance(chart, dict) and not chart.get("version"):
                    display = path.relative_to(context.root).as_posix() if path.is_relative_to(context.root) \
                        else str(path)
                    key = (display, index, "helm")
                    if key not in seen:
                        seen.add(key)
                        yield Violation(f"helm chart {chart.get('name')} has no version",
                                        file=display, line=document.line_of(f"helmCharts[{index}]"))


RULES: list[Rule] = [
    Rule("remote-unpinned", "Remote bases, resources and charts are pinned to a commit or version tag",
         "A kustomization that pulls a remote base or resource from a branch (or from no ref at all) "
         "renders differently tomorrow with no change in this repository, so reviews, gates and "
         "rollbacks no longer describe what Argo CD applies.",
         "add ?ref=<40-character commit> or ?ref=<version tag> (raw URLs: put the commit in the path)",
         _check, severity=Severity.ERROR, scope=Scope.REPOSITORY),
]
