"""The built-in schema catalog: every custom resource an OpenShift AI GitOps repository uses, offline.

A tool that checks OpenShift AI manifests must carry what it needs to check them, so the schemas
ship as package data in `catalog/`:

- `common/GROUP/KIND_VERSION.json.gz`: the kinds whose schema does not depend on the OpenShift AI
  release (KServe, Notebook, pipelines, TrustyAI, model registry, Argo CD, Prometheus operator,
  grafana-operator, External Secrets, OLM, Route, Kueue, Ray, Tekton, ...);
- `rhoai-3.N/GROUP/KIND_VERSION.json.gz`: the platform kinds (DataScienceCluster,
  DSCInitialization, HardwareProfile, Auth, GatewayConfig) as release 3.N's operator bundle
  defines them, because each minor adds components and fields the one before rejects;
- `provenance.json`: the source of every file (repository, commit, path, license, sha256).

Files are the output of `mlops schemas import --strip-descriptions` (structure only), gzip'd;
`scripts/regenerate-builtin-schemas.py` rebuilds the folder from the raw upstream files.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .shared_defs import follow

CATALOG_DIR = Path(__file__).parent / "catalog"
COMMON = "common"
RELEASE_PREFIX = "rhoai-"
SUFFIX = ".json.gz"
PROVENANCE = "provenance.json"
_RELEASE = re.compile(r"^(\d+)\.(\d+)$")


def release_key(release: str) -> tuple[int, int]:
    """`"3.10"` sorts after `"3.9"`."""
    match = _RELEASE.match(release)
    if not match:
        raise ValueError(f"not a release like 3.5: {release!r}")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class CatalogEntry:
    """One schema of the catalog: its kind (lower case, as in the file name) and release (None: every release)."""

    group: str
    kind: str
    version: str
    release: str | None
    path: Path

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def name(self) -> str:
        """The file's path inside the catalog, as provenance.json names it."""
        return f"{self.path.parent.parent.name}/{self.group}/{self.path.name}"


class BuiltinCatalog:
    """Look up schemas by group, kind, version and OpenShift AI release; each file read once."""

    def __init__(self, folder: Path = CATALOG_DIR) -> None:
        self.folder = folder
        self._entries = _index(folder)

    @property
    def releases(self) -> tuple[str, ...]:
        """The OpenShift AI minors with platform schemas, oldest first."""
        found = {entry.release for entry in self._entries.values() if entry.release}
        return tuple(sorted(found, key=release_key))

    @property
    def newest_release(self) -> str:
        return self.releases[-1]

    def is_release_specific(self, group: str, kind: str) -> bool:
        """True for the platform kinds whose schema differs between OpenShift AI minors."""
        return any(entry.release and key[:2] == (group, kind.lower()) for key, entry in self._entries.items())

    def find(self, group: str, kind: str, version: str, release: str) -> tuple[dict[str, Any], str] | None:
        """The schema and a label naming where it came from, or None when the catalog lacks the kind."""
        if self.is_release_specific(group, kind):
            entry = self._entries.get((group, kind.lower(), version, release))
            label = f"built-in catalog, OpenShift AI {release}"
        else:
            entry = self._entries.get((group, kind.lower(), version, None))
            label = "built-in catalog"
        if entry is None:
            return None
        return _load(entry.path), label

    def releases_with(self, group: str, kind: str, version: str) -> tuple[str, ...]:
        """The releases whose catalog has this platform kind at this version."""
        found = {entry.release for key, entry in self._entries.items()
                 if entry.release and key[:3] == (group, kind.lower(), version)}
        return tuple(sorted(found, key=release_key))

    def kinds(self) -> set[tuple[str, str, str]]:
        """(group, lower-case kind, version) of every schema in the catalog."""
        return {key[:3] for key in self._entries}

    def entries(self) -> list[CatalogEntry]:
        return list(self._entries.values())

    def load(self, entry: CatalogEntry) -> dict[str, Any]:
        return _load(entry.path)


@cache
def builtin_catalog() -> BuiltinCatalog:
    """The catalog shipped with this installation (indexed once per process)."""
    return BuiltinCatalog()


def _index(folder: Path) -> dict[tuple[str, str, str, str | None], CatalogEntry]:
    entries: dict[tuple[str, str, str, str | None], CatalogEntry] = {}
    if not folder.is_dir():
        return entries
    for top in sorted(folder.iterdir()):
        if top.name == COMMON:
            release = None
        elif top.name.startswith(RELEASE_PREFIX) and _RELEASE.match(top.name.removeprefix(RELEASE_PREFIX)):
            release = top.name.removeprefix(RELEASE_PREFIX)
        else:
            continue
        for path in sorted(top.glob(f"*/*{SUFFIX}")):
            kind, _, version = path.name.removesuffix(SUFFIX).rpartition("_")
            entries[(path.parent.name, kind, version, release)] = CatalogEntry(path.parent.name, kind, version,
                                                                               release, path)
    return entries


@cache
def _load(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
    return schema


def components_of(release: str, catalog: BuiltinCatalog | None = None) -> frozenset[str]:
    """The DataScienceCluster v2 components that `release` knows (keys of `spec.components`)."""
    found = (catalog or builtin_catalog()).find("datasciencecluster.opendatahub.io", "DataScienceCluster", "v2",
                                                release)
    if found is None:
        return frozenset()
    schema = found[0]
    spec = follow(schema, schema.get("properties", {}).get("spec", {}))
    components = follow(schema, spec.get("properties", {}).get("components", {}))
    return frozenset(components.get("properties", {}))
