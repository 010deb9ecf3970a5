"""Know which files a Kustomize root reads, without running kustomize.

The walk follows `resources`, `components`, patches, generators and the other fields that name
files, into every local base. It exists because kustomize cannot be trusted with hostile input
(an alias bomb), names no file in some of its errors, and happily follows `../../..` out of the
repository: knowing the files first lets every such problem be reported with the kustomization
file and line that caused it. Policies reuse the walk to see remote bases.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .yamlsource import SourceDocument, load_file

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_REMOTE = re.compile(r"^(https?://|git@|ssh://|git::|github\.com/|gitlab\.com/|bitbucket\.org/)|\?ref=|//")

# Fields whose entries are paths (or remote URLs) to resources, bases or components.
_ROOT_LISTS = ("resources", "bases", "components")
# Fields whose entries are file paths (or inline patches, which are skipped).
_FILE_LISTS = ("patchesStrategicMerge", "crds", "configurations", "generators", "transformers", "validators")


@dataclass(frozen=True)
class Reference:
    """One path a kustomization names, where it names it, and what it resolves to."""

    kustomization: str  # repository-relative path of the kustomization file
    line: int
    field: str
    value: str
    resolved: Path | None  # None for a remote reference

    @property
    def is_remote(self) -> bool:
        return self.resolved is None


@dataclass
class KustomizeTree:
    """Everything one Kustomize root reads: local files, kustomizations and remote references."""

    root: Path
    files: set[Path] = field(default_factory=set)
    kustomizations: dict[Path, SourceDocument] = field(default_factory=dict)
    references: list[Reference] = field(default_factory=list)
    problems: list[tuple[Reference, str, str]] = field(default_factory=list)  # (where, message, fix)


def find_kustomization(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def is_remote(value: str) -> bool:
    return bool(_REMOTE.search(value))


def relative(path: Path, repo_root: Path) -> str:
    """A repository-relative name for a path (string work first: this runs for every file)."""
    text, root = str(path), str(repo_root)
    if text.startswith(root + os.sep):
        return text[len(root) + 1:].replace(os.sep, "/")
    resolved, resolved_root = path.resolve(), repo_root.resolve()
    if resolved.is_relative_to(resolved_root):
        return resolved.relative_to(resolved_root).as_posix()
    return str(path)


def walk(folder: Path, repo_root: Path, cache: dict[Path, SourceDocument] | None = None) -> KustomizeTree:
    """Walk a Kustomize root and every local base it includes.

    `cache` shares parsed kustomization files between the roots of one run: environments
    include the same bases and models, so each file is read once.
    """
    tree = KustomizeTree(root=folder)
    _walk_folder(folder.resolve(), repo_root.resolve(), tree, None, {} if cache is None else cache)
    return tree


def _load(kustomization: Path, display: str, cache: dict[Path, SourceDocument]) -> SourceDocument | None:
    if kustomization not in cache:
        documents = load_file(kustomization, display)
        if not documents or not isinstance(documents[0].data, dict):
            raise UsageError("a kustomization must be a YAML mapping", file=display, line=1)
        cache[kustomization] = documents[0]
    return cache[kustomization]


def _walk_folder(folder: Path, repo_root: Path, tree: KustomizeTree, via: Reference | None,
                 cache: dict[Path, SourceDocument]) -> None:
    kustomization = find_kustomization(folder)
    if kustomization is None:
        if via is not None:
            tree.problems.append((via, f"{via.value!r} is a folder without a kustomization.yaml",
                                  "add a kustomization.yaml there or name the files one by one"))
            return
        raise UsageError("no kustomization.yaml in this folder", file=relative(folder, repo_root))
    if kustomization in tree.kustomizations:
        return
    display = relative(kustomization, repo_root)
    document = _load(kustomization, display, cache)
    assert document is not None
    tree.kustomizations[kustomization] = document
    tree.files.add(kustomization)
    for reference, kind in _references(document, display, folder):
        tree.references.append(reference)
        if reference.resolved is None:
            continue
        target = reference.resolved
        if not target.is_relative_to(repo_root):
            tree.problems.append((reference, f"{reference.value!r} reaches outside the repository",
                                  "keep every base and resource inside the repository (or pin a remote URL)"))
            continue
        if target.is_dir():
            if kind == "file":
                tree.problems.append((reference, f"{reference.value!r} is a folder, a file is expected",
                                      "name a file"))
            else:
                _walk_folder(target, repo_root, tree, reference, cache)
        elif target.is_file():
            tree.files.add(target)
        else:
            tree.problems.append((reference, f"{reference.value!r} does not exist",
                                  "fix the path or create the file"))


def _entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _references(document: SourceDocument, display: str, folder: Path) -> Iterator[tuple[Reference, str]]:
    data = document.data

    def make(path: str, field_name: str, value: str) -> Reference:
        resolved = None if is_remote(value) else (folder / value).resolve()
        return Reference(display, document.line_of(path), field_name, value, resolved)

    for name in _ROOT_LISTS:
        for index, entry in enumerate(_entries(data.get(name))):
            if isinstance(entry, str):
                yield make(f"{name}[{index}]", name, entry), "any"
    for name in _FILE_LISTS:
        for index, entry in enumerate(_entries(data.get(name))):
            if isinstance(entry, str) and "\n" not in entry and not entry.lstrip().startswith(("{", "-")):
                yield make(f"{name}[{index}]", name, entry), "file"
    for name in ("patches", "patchesJson6902", "replacements"):
        for index, entry in enumerate(_entries(data.get(name))):
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                yield make(f"{name}[{index}].path", name, entry["path"]), "file"
    for name in ("configMapGenerator", "secretGenerator"):
        for index, generator in enumerate(_entries(data.get(name))):
            if not isinstance(generator, dict):
                continue
            for key in ("files", "envs"):
                for item_index, item in enumerate(_entries(generator.get(key))):
                    if isinstance(item, str):
                        path = item.split("=", 1)[-1]
                        yield make(f"{name}[{index}].{key}[{item_index}]", name, path), "file"
            if isinstance(generator.get("env"), str):
                yield make(f"{name}[{index}].env", name, generator["env"]), "file"
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield make("openapi.path", "openapi", openapi["path"]), "file"
