"""Turn kustomize's output into objects that know which file of the repository they came from.

Rendered output is read with PyYAML's C loader (fast: it is the bulk of the work). The file that
declares an object (`Manifest.file`) and the line of a field in it are only looked up when a
finding needs them (`origins.OriginIndex`, `SourceIndex`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from .findings import Finding, ObjectRef, Severity
from .kustomize import RenderResult
from .origins import OriginIndex
from .yamlsource import FastLoader, SourceDocument, find_object, load_file


class Manifest:
    """One rendered Kubernetes object of one environment, with where it was written.

    The source file is looked up only when something asks for it (usually a finding), because
    attributing every object up front would cost as much as reading the repository twice.
    """

    __slots__ = ("_file", "_resolver", "data", "environment", "remote")

    def __init__(self, data: dict[str, Any], environment: str, file: str | None = None, remote: str | None = None,
                 resolver: Callable[[Manifest], str | None] | None = None) -> None:
        self.data = data
        self.environment = environment
        self.remote = remote
        self._file = file
        self._resolver = resolver

    @property
    def file(self) -> str | None:
        """Repository-relative path of the file that declares the object (None when unknown)."""
        if self._file is None and self._resolver is not None:
            self._file = self._resolver(self)
            self._resolver = None
        return self._file

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        metadata = self.data.get("metadata")
        return metadata if isinstance(metadata, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str | None:
        namespace = self.metadata.get("namespace")
        return str(namespace) if namespace is not None else None

    @property
    def labels(self) -> dict[str, str]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> dict[str, str]:
        annotations = self.metadata.get("annotations")
        return annotations if isinstance(annotations, dict) else {}

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.name, self.namespace, self.api_version)


def parse_rendered(result: RenderResult, environment: str, display: str,
                   origins: OriginIndex | None = None) -> tuple[list[Manifest], list[Finding]]:
    """Objects of one render, and findings for documents that are not Kubernetes objects."""
    resolver = None
    if origins is not None:
        index = origins

        def resolver(manifest: Manifest) -> str | None:
            return index.file_of(manifest.kind, manifest.name, manifest.namespace)

    manifests: list[Manifest] = []
    findings: list[Finding] = []
    try:
        documents = list(yaml.load_all(result.output, Loader=FastLoader))
    except yaml.YAMLError as error:
        findings.append(Finding("render", Severity.ERROR, f"kustomize printed unreadable YAML: {error}",
                                file=display, environment=environment))
        return manifests, findings
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
    """Finds the line of an object, or of a field in it, in the file that declares it."""

    def __init__(self, repo_root: Path) -> None:
        self._root = repo_root
        self._documents: dict[str, list[SourceDocument]] = {}
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

    def _load(self, file: str) -> list[SourceDocument]:
        if file not in self._documents:
            try:
                self._documents[file] = load_file(self._root / file, file)
            except Exception:  # a finding's line is a convenience; never fail the run for it
                self._documents[file] = []
        return self._documents[file]

    def document(self, manifest: Manifest) -> SourceDocument | None:
        if manifest.file is None or os.path.isabs(manifest.file):
            return None
        return find_object(self._load(manifest.file), manifest.kind, manifest.name)

    def line(self, manifest: Manifest, path: str | None = None) -> int | None:
        document = self.document(manifest)
        if document is None:
            return None
        return document.line_of(path) if path else document.line
