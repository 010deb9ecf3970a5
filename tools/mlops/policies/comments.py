"""Comments that send the reader to a file of the repository name a file that exists.

The template explains itself in comments ("see ignoreDifferences in base/argocd/...", "edit
platform/subscription-patch.yaml"). A comment that names a file which was renamed or never existed
sends a platform engineer looking for it in the middle of an incident; nothing else notices, since
no tool reads comments. This rule reads the comments of every YAML file and checks each path that
starts with a top-level folder of the repository (or `./`, `../`), relative to the repository root
or to the file's own folder. Paths of other projects quoted in comments (upstream sources such as
`internal/controller/...`) start with folders this repository does not have and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import UsageError
from ..manifests import Manifest
from ..yamlsource import load_documents
from .base import PolicyContext, Rule, Scope, Violation
from .secrets import repository_texts

#: A relative path with at least one folder and a file extension, not part of a URL or a longer path.
_PATH = re.compile(r"(?<![\w./:@~-])((?:\.{1,2}/)*(?:[\w.-]+/)+[\w.-]*\w\.(?:ya?ml|json|py|md|lua|sh|toml|txt))"
                   r"(?![\w/-])")
#: A YAML comment in one line: `#` at the start of the line or after whitespace, to the end of the line.
_COMMENT = re.compile(r"(?:^|\s)#(.*)$")
#: A `#` followed, on the same line, by a `/`: the only lines that can hold a commented path (a
#: literal prefix, so the regex engine skips through large files quickly).
_CANDIDATE = re.compile(r"#[^\n/]*/")


def comment_paths(text: str) -> Iterator[tuple[int, str]]:
    """(line, path) of every file path written in a comment of a YAML text.

    Only lines with a `#` followed by a `/` are looked at, and line numbers are counted only for
    them, so a large generated file costs little.
    """
    number, counted, done = 1, 0, -1
    for candidate in _CANDIDATE.finditer(text):
        if candidate.start() < done:
            continue  # a second `#` of a line already read
        start = text.rfind("\n", 0, candidate.start()) + 1
        end = text.find("\n", candidate.start())
        done = end = len(text) if end == -1 else end
        found = _COMMENT.search(text[start:end])
        if found is None:
            continue
        paths = [match.group(1) for match in _PATH.finditer(found.group(1))]
        if paths:
            number += text.count("\n", counted, start)
            counted = start
            for path in paths:
                yield number, path


def _exists(root: Path, folder: Path, path: str) -> bool | None:
    """True/False for a path of this repository, None for a path that is not one (another project's)."""
    if path.startswith(("./", "../")):
        return (folder / path).exists()
    if (root / path).exists() or (folder / path).exists():
        return True
    # Reported only when it reads as a path from the repository root: a folder-relative path whose first
    # folder exists only beside the file (`tests/alerts-test.yaml` in base/monitoring) exists or is ambiguous.
    return False if (root / path.split("/", 1)[0]).is_dir() else None


def _object_at(context: PolicyContext, display: str, text: str, line: int) -> Manifest | None:
    """The rendered object declared by the document a comment belongs to (the one it is in, or precedes)."""
    try:
        documents = load_documents(text, display)
    except UsageError:
        return None
    chosen = None
    for document in documents:
        start, end = document.node.start_mark.line + 1, document.node.end_mark.line + 1
        if line <= end:
            chosen = document if line >= start or chosen is None else chosen
            break
    data = chosen.data if chosen is not None else None
    if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict):
        return None
    kind, name = data.get("kind"), data["metadata"].get("name")
    for manifest in context.objects(Scope.REPOSITORY):
        if manifest.kind == kind and name and str(name) in manifest.name and manifest.file == display:
            return manifest
    return None


def _check_comments(context: PolicyContext) -> Iterator[Violation]:
    root = context.root
    known: dict[tuple[Path, str], bool | None] = {}
    for path, display, text in repository_texts(context):
        if path.suffix == ".json" or "#" not in text:
            continue
        for line, named in comment_paths(text):
            key = (path.parent, named)
            if key not in known:
                known[key] = _exists(root, path.parent, named)
            if known[key] is not False:
                continue
            manifest = _object_at(context, display, text, line)
            about = f" (about {manifest.kind} {manifest.name})" if manifest is not None else ""
            yield Violation(f"a comment of {display}{about} names {named}, which does not exist in the repository",
                            manifest, file=display, line=line,
                            fix=f"point the comment at the file that exists (or remove the reference to {named})")


RULES: list[Rule] = [
    Rule(
        id="comment-paths",
        summary="Comments name files of the repository that exist",
        explanation=(
            "Comments are how the template explains itself (\"see ignoreDifferences in base/argocd/...\"), and a "
            "comment that names a missing file misleads the reader exactly when the file matters. Every path in a "
            "YAML comment that starts with a top-level folder of the repository (or `./`, `../`) must exist, "
            "relative to the repository root or to the commented file's folder. Paths quoted from other projects, "
            "URLs and globs are not checked."
        ),
        fix="correct the path in the comment",
        check=_check_comments,
        scope=Scope.REPOSITORY,
    ),
]
