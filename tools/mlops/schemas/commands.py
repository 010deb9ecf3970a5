"""The `mlops schemas` commands as one call each: import CRDs, sync what the repository uses, list the catalog."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..check import SchemaOptions, load_config, store_for
from ..errors import MlopsError
from ..kustomize import find_engine
from ..yamlsource import decode_utf8
from . import crd_import
from .builtin import builtin_catalog


def import_files(files: tuple[str, ...], out: Path, strip_descriptions: bool) -> list[Path]:
    """Convert the CRDs in `files` (`-` is stdin) into one schema per served version under `out`."""
    imported = []
    for name in files:
        if name == "-":
            text, source = sys.stdin.read(), "<stdin>"
        else:
            try:
                raw = Path(name).read_bytes()
            except OSError as error:
                raise MlopsError(f"cannot read: {error.strerror}", file=name) from None
            text, source = decode_utf8(raw, name), name
        imported += crd_import.load_crd_text(text, source)
    if not imported:
        raise MlopsError("no CustomResourceDefinition found in the input")
    if strip_descriptions:
        imported = [schema.structure_only() for schema in imported]
    return crd_import.write_schemas(imported, out)


@dataclass
class Synced:
    """Each custom kind the repository renders: where its schema was found, or that it was not."""

    found: list[tuple[str, str, str]]
    missing: list[tuple[str, str]]
    warnings: list[str] = field(default_factory=list)


def sync_repository(repo: Path | None, options: SchemaOptions, out: Path | None) -> Synced:
    """Look up (and so cache) the schema of every custom kind; with `out`, write them there too."""
    from .sync import sync_schemas

    cfg = load_config(repo)
    store = store_for(cfg, options)
    try:
        found, missing = sync_schemas(cfg, find_engine(), store, out)
    finally:
        store.lookup.close()
    return Synced(found, missing, list(dict.fromkeys(store.lookup.warnings)))


def listing(release: str | None) -> list[str]:
    """One line per built-in kind (`group/version Kind  (OpenShift AI releases)`), for one release or all."""
    catalog = builtin_catalog()
    if release is not None and release not in catalog.releases:
        raise MlopsError(f"no built-in schemas for OpenShift AI {release}; known: {', '.join(catalog.releases)}")
    lines = []
    for group, kind, version in sorted(catalog.kinds()):
        releases = catalog.releases_with(group, kind, version)
        if release is not None and releases and release not in releases:
            continue
        where = f"  (OpenShift AI {', '.join(releases)})" if releases else ""
        lines.append(f"{group}/{version} {kind}{where}")
    return lines
