"""Know which files a Kustomize root reads, without running kustomize.

The walk follows `resources`, `components`, patches, generators and the other fields that name
files, into every local base. It exists because kustomize cannot be trusted with hostile input
(an alias bomb), names no file in some of its errors, and happily follows `../../..` out of the
repository: knowing the files first lets every such problem be reported with the kustomization
file and line that caused it. Policies reuse the walk to see remote bases, and the render cache
uses it to know every input of a root (`KustomizeTree.unvouched` says when it cannot).
"""

from __future__ import annotations

import os
import re
import stat
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
#: Every field of a Kustomization (kustomize v5) whose file inputs the walk follows completely, or
#: that names no file at all. A field beyond these (a newer kustomize's) may read a file the walk
#: does not know, so such a root is never served from the render cache.
_FOLLOWED_FIELDS = frozenset({
    "apiVersion", "kind", "metadata", "resources", "bases", "components", "crds", "configurations",
    "patchesStrategicMerge", "patches", "patchesJson6902", "replacements", "configMapGenerator",
    "secretGenerator", "generatorOptions", "openapi", "namespace", "namePrefix", "nameSuffix", "commonLabels",
    "labels", "commonAnnotations", "images", "replicas", "vars", "sortOptions", "buildMetadata",
})
#: Fields whose inputs depend on more than local files: plugin configurations name further files
#: (or run programs), Helm charts come from a chart repository.
_UNFOLLOWED_FIELDS = ("generators", "transformers", "validators", "helmCharts", "helmGlobals",
                      "helmChartInflationGenerator")


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
    #: why the walk cannot name every input of this root (remote bases, Helm charts, plugins, ...)
    unvouched: list[str] = field(default_factory=list)
    #: the kustomization file names present in every folder the walk entered (kustomize refuses two)
    probes: dict[Path, tuple[str, ...]] = field(default_factory=dict)

    @property
    def vouched(self) -> bool:
        """The walk knows every file kustomize reads for this root (and kustomize reads nothing else)."""
        return not self.unvouched


class WalkCache(dict[Path, SourceDocument]):
    """What the walks of one run share: parsed kustomizations, their references, resolved paths.

    Environments include the same bases and models, so each kustomization is read, and each of
    its paths resolved, once per run rather than once per root.
    """

    def __init__(self) -> None:
        super().__init__()
        self.references: dict[Path, list[tuple[Reference, str]]] = {}
        self.resolved: dict[str, str] = {}


def find_kustomization(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _present_names(folder: Path) -> tuple[str, ...]:
    base = str(folder)
    return tuple(name for name in KUSTOMIZATION_NAMES if os.path.isfile(os.path.join(base, name)))


def resolve(folder: str, value: str, memo: dict[str, str]) -> str:
    """`os.path.realpath(folder/value)` for a real `folder`, each path component looked up once per run.

    Equivalent to `Path.resolve()` (non-strict): components are taken left to right, a symbolic
    link is replaced by its real path, and `..` goes to the parent of the real path so far.
    """
    if os.path.isabs(value):
        return os.path.realpath(value)
    current = folder
    for part in value.replace(os.sep, "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, part)
        known = memo.get(candidate)
        if known is None:
            known = os.path.realpath(candidate) if os.path.islink(candidate) else candidate
            memo[candidate] = known
        current = known
    return current


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
    include the same bases and models, so each file is read once (a `WalkCache` shares their
    references and resolved paths as well).
    """
    tree = KustomizeTree(root=folder)
    _walk_folder(folder.resolve(), repo_root.resolve(), tree, None, WalkCache() if cache is None else cache)
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
    present = _present_names(folder)  # all of them: kustomize refuses a folder with two
    kustomization = folder / present[0] if present else None
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
    tree.probes[folder] = present
    _vouch(document, display, tree)
    inside = os.path.join(str(repo_root), "")
    for reference, kind in _cached_references(document, display, folder, kustomization, cache):
        tree.references.append(reference)
        if reference.resolved is None:
            tree.unvouched.append(f"{display}: remote {reference.field} {reference.value}")
            continue
        target = reference.resolved
        if not (str(target) + os.sep).startswith(inside):  # a real path: no `..` is left in it
            tree.problems.append((reference, f"{reference.value!r} reaches outside the repository",
                                  "keep every base and resource inside the repository (or pin a remote URL)"))
            continue
        try:
            mode = os.stat(target).st_mode
        except (OSError, ValueError):
            mode = 0
        if stat.S_ISDIR(mode):
            if kind == "file":
                tree.problems.append((reference, f"{reference.value!r} is a folder, a file is expected",
                                      "name a file"))
            else:
                _walk_folder(target, repo_root, tree, reference, cache)
        elif stat.S_ISREG(mode):
            tree.files.add(target)
        else:
            tree.problems.append((reference, f"{reference.value!r} does not exist",
                                  "fix the path or create the file"))


def _vouch(document: SourceDocument, display: str, tree: KustomizeTree) -> None:
    """Note every reason why the walk may not know all files kustomize reads for this kustomization."""
    data = document.data
    for key in data:
        if key in _UNFOLLOWED_FIELDS and data[key]:
            tree.unvouched.append(f"{display}: {key} (inputs beyond the repository's files)")
        elif key not in _FOLLOWED_FIELDS and key not in _UNFOLLOWED_FIELDS:
            tree.unvouched.append(f"{display}: field {key!r}, whose inputs the walk does not follow")
    for name in _FILE_LISTS:
        for entry in _entries(data.get(name)):
            if isinstance(entry, str) and "\n" not in entry and entry.lstrip().startswith(("{", "-")):
                tree.unvouched.append(f"{display}: {name} entry {entry!r} may name a file")


def _entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _cached_references(document: SourceDocument, display: str, folder: Path, kustomization: Path,
                       cache: dict[Path, SourceDocument]) -> list[tuple[Reference, str]]:
    if not isinstance(cache, WalkCache):
        return list(_references(document, display, folder, {}))
    if kustomization not in cache.references:
        cache.references[kustomization] = list(_references(document, display, folder, cache.resolved))
    return cache.references[kustomization]


def _references(document: SourceDocument, display: str, folder: Path,
                memo: dict[str, str]) -> Iterator[tuple[Reference, str]]:
    data = document.data
    base = str(folder)

    def make(path: str, field_name: str, value: str) -> Reference:
        resolved = None if is_remote(value) else Path(resolve(base, value, memo))
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
