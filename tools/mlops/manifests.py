"""Turn kustomize's output into objects that know which file of the repository they came from.

Rendered output is read with PyYAML's C loader (fast: it is the bulk of the work). The file that
declares an object (`Manifest.file`) and the line of a field in it are only looked up when a
finding needs them (`origins.OriginIndex`, `SourceIndex`), and each source file is parsed once
per run for both. `PendingManifests` hands every target's objects to the policies as soon as
that target is rendered, while the others still render.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .findings import Finding, ObjectRef, Severity
from .kustomize import RenderResult
from .origins import Identity, OriginIndex, identity_of
from .readfile import read_bytes
from .yamlsource import SourceDocument, compose_text, construct, decode_utf8, find_object, load_all_fast


class Manifest:
    """One rendered Kubernetes object of one environment, with where it was written.

    The source file is looked up only when something asks for it (usually a finding), because
    attributing every object up front would cost as much as reading the repository twice. The
    identity (apiVersion, kind, name, namespace) is read once: every rule asks for it of every
    object, hundreds of thousands of times per run at 100 models, and objects are never changed.
    """

    __slots__ = ("_file", "_resolver", "api_version", "data", "environment", "group", "kind", "metadata", "name",
                 "namespace", "remote")

    def __init__(self, data: dict[str, Any], environment: str, file: str | None = None, remote: str | None = None,
                 resolver: Callable[[Manifest], str | None] | None = None) -> None:
        self.data = data
        self.environment = environment
        self.remote = remote
        self._file = file
        self._resolver = resolver
        self.api_version: str = str(data.get("apiVersion", ""))
        self.kind: str = str(data.get("kind", ""))
        self.group: str = self.api_version.rpartition("/")[0]
        metadata = data.get("metadata")
        self.metadata: dict[str, Any] = metadata if isinstance(metadata, dict) else {}
        self.name: str = str(self.metadata.get("name", ""))
        namespace = self.metadata.get("namespace")
        self.namespace: str | None = str(namespace) if namespace is not None else None

    @property
    def file(self) -> str | None:
        """Repository-relative path of the file that declares the object (None when unknown)."""
        resolver = self._resolver  # read once: rules of other threads may resolve the same object
        if self._file is None and resolver is not None:
            self._file = resolver(self)
            self._resolver = None
        return self._file

    @property
    def labels(self) -> dict[str, str]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> dict[str, str]:
        annotations = self.metadata.get("annotations")
        return annotations if isinstance(annotations, dict) else {}

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.name, self.namespace, self.api_version)


def load_rendered(output: str) -> tuple[list[Any], str | None]:
    """The documents kustomize printed, or the reason they cannot be read."""
    try:
        return load_all_fast(output), None
    except yaml.YAMLError as error:
        return [], str(error)


def parse_rendered(result: RenderResult, environment: str, display: str,
                   origins: OriginIndex | None = None) -> tuple[list[Manifest], list[Finding]]:
    """Objects of one render, and findings for documents that are not Kubernetes objects."""
    documents, error = load_rendered(result.output)
    if error is not None:
        return [], [Finding("render", Severity.ERROR, f"kustomize printed unreadable YAML: {error}",
                            file=display, environment=environment)]
    return manifests_from(documents, environment, display, origins)


def manifests_from(documents: list[Any], environment: str, display: str,
                   origins: OriginIndex | None = None) -> tuple[list[Manifest], list[Finding]]:
    """Objects of one render's documents (fresh or from the render cache), and shape findings."""
    resolver = None
    if origins is not None:
        index = origins

        def resolver(manifest: Manifest) -> str | None:
            return index.file_of(manifest.kind, manifest.name, manifest.namespace)

    manifests: list[Manifest] = []
    findings: list[Finding] = []
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, dict):
            findings.append(Finding("object-shape", Severity.ERROR, "a document is not a mapping",
                                    file=display, environment=environment,
                                    fix="every document must be a Kubernetes object"))
            continue
        manifest = Manifest(document, environment, resolver=resolver)
        missing = [key for key in ("apiVersion", "kind") if not document.get(key)]
        if missing or not manifest.name:
            what = " and ".join(missing) if missing else "metadata.name"
            findings.append(Finding("object-shape", Severity.ERROR, f"document has no {what}",
                                    file=manifest.file or display, environment=environment,
                                    fix=f"add {what} to the object"))
            continue
        manifests.append(manifest)
    return manifests, findings


class SourceIndex:
    """Finds the line of an object, or of a field in it, in the file that declares it.

    Each file is parsed once for everything that asks about it: its documents with positions
    (for lines) and the kind, name and namespace of each (for `OriginIndex`). Rules of several
    threads may ask at once; at worst a file is parsed twice, with the same result.
    """

    def __init__(self, repo_root: Path) -> None:
        self._root = repo_root
        self._parsed: dict[str, _Parsed] = {}
        #: objects several files write (a resource and the patches over it): id -> (file, document)
        self._writers: dict[int, list[tuple[str, SourceDocument]]] = {}

    def add_writers(self, manifest: Manifest, writers: list[tuple[str, SourceDocument]]) -> None:
        """Say which files write `manifest`, in the order kustomize applies them (resource, then patches)."""
        self._writers[id(manifest)] = writers

    def locate(self, manifest: Manifest, path: str | None = None) -> tuple[str | None, int | None]:
        """(file, line) where a field of the object is written: the last writer that has it, else its file."""
        writers = self._writers.get(id(manifest))
        if writers and path:
            for file, document in reversed(writers):
                if document.has_path(path):
                    return file, document.line_of(path)
        return manifest.file, self.line(manifest, path)

    def _parse(self, file: str) -> _Parsed:
        parsed = self._parsed.get(file)
        if parsed is None:
            parsed = self._parsed[file] = _Parsed(self._root / file, file)
        return parsed

    def _load(self, file: str) -> list[SourceDocument]:
        return self._parse(file).documents

    def identities(self, file: str) -> list[Identity]:
        """(kind, name, namespace) of every document, also of files too broken for line lookups."""
        return self._parse(file).identities

    def holds_no_object(self, file: str) -> bool:
        """The file parses and every document in it is empty (`empty_resources` asks, before the render)."""
        return self._parse(file).empty

    def document(self, manifest: Manifest) -> SourceDocument | None:
        if manifest.file is None or os.path.isabs(manifest.file):
            return None
        return find_object(self._load(manifest.file), manifest.kind, manifest.name)

    def line(self, manifest: Manifest, path: str | None = None) -> int | None:
        document = self.document(manifest)
        if document is None:
            return None
        return document.line_of(path) if path else document.line


class _Parsed:
    """One parse of a source file (its node trees), and what each question asked about it needs.

    Composing is the parse; the values of the documents are built from the same nodes only when
    a line or an origin is asked for (most resource files are only asked whether they are empty).
    """

    def __init__(self, path: Path, file: str) -> None:
        self._nodes: list[yaml.Node] = []
        self._clean = False  # parses, with no duplicate key and no alias bomb (what load_file accepts)
        self.empty = False  # parses and holds only empty documents
        self._built: tuple[list[SourceDocument], list[Identity]] | None = None
        try:
            text = decode_utf8(read_bytes(path), file)
        except Exception:  # a finding's line is a convenience; never fail the run for it
            return
        nodes, problems = compose_text(text)
        if any(problem.rule == "yaml-syntax" for problem in problems):
            return
        self._nodes, self._clean = nodes, not problems
        self.empty = all(node.tag == "tag:yaml.org,2002:null" for node in nodes)

    def _build(self) -> tuple[list[SourceDocument], list[Identity]]:
        built = self._built
        if built is None:
            try:
                values = [construct(node) for node in self._nodes]
            except Exception:
                values = None
            if values is None:
                built = ([], [])
            elif not self._clean:  # duplicate keys or an alias bomb: no positions, as load_file refuses it
                built = ([], [identity_of(value) for value in values])
            else:
                documents = [SourceDocument(data=value, node=node)
                             for value, node in zip(values, self._nodes, strict=True)]
                built = (documents, [identity_of(value) for value in values])
            self._built = built
        return built

    @property
    def documents(self) -> list[SourceDocument]:
        """As `load_file` gives them ([] for a file it refuses)."""
        return self._build()[0]

    @property
    def identities(self) -> list[Identity]:
        """As a plain `yaml.load_all` gives them."""
        return self._build()[1]


class PendingManifests(Mapping[str, list[Manifest]]):
    """Every target's objects, readable while later targets are still rendering.

    Reading a target waits until it is rendered (or has failed: then it is absent, as in a plain
    dict); iteration follows the order the targets were named in, so a rule sees exactly what
    it would see once everything is rendered. `close()` ends every wait (on any exit).

    Work that reads these objects in background threads runs one at a time (`exclusive()`),
    handing over only while it waits for a target: Python runs one thread at a time anyway,
    and a thread that reads files among several busy ones waits for the interpreter after every
    read (milliseconds each, seconds over a repository), so more threads would only be slower.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self._order = list(dict.fromkeys(names))
        self._values: dict[str, list[Manifest]] = {}
        self._ready = {name: threading.Event() for name in self._order}
        self._turn = threading.Lock()
        self._holder = threading.local()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Run the block as the one background job working now (it yields its turn while it waits)."""
        self._turn.acquire()
        self._holder.turn = True
        try:
            yield
        finally:
            self._holder.turn = False
            self._turn.release()

    def deliver(self, name: str, manifests: list[Manifest]) -> None:
        self._values[name] = manifests
        self._ready[name].set()

    def absent(self, name: str) -> None:
        self._ready[name].set()

    def close(self) -> None:
        for event in self._ready.values():
            event.set()

    def _wait(self, name: object) -> bool:
        event = self._ready.get(name) if isinstance(name, str) else None
        if event is None:
            return False
        if not event.is_set():
            holding = getattr(self._holder, "turn", False)
            if holding:
                self._turn.release()
            event.wait()
            if holding:
                self._turn.acquire()
        return name in self._values

    def __getitem__(self, name: str) -> list[Manifest]:
        if not self._wait(name):
            raise KeyError(name)
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return self._wait(name)

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._order if self._wait(name))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def snapshot(self) -> dict[str, list[Manifest]]:
        """A plain dict of what arrived (call after `close()`)."""
        return {name: self._values[name] for name in self._order if name in self._values}
