"""Collect the schema of every custom kind the repository renders, for offline validation."""

from __future__ import annotations

import json
from pathlib import Path

from ..config import Config
from ..errors import OutsideError
from ..kustomize import Engine, render_many
from ..manifests import parse_rendered
from .core import is_core_group
from .store import SchemaStore


def sync_schemas(config: Config, engine: Engine, store: SchemaStore,
                 out: Path | None) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Look up (and so cache) each custom kind; write it under `out` when given.

    Returns (found as (apiVersion, kind, source), missing as (apiVersion, kind)).
    """
    targets = list(config.all_targets)
    results = render_many(engine, [config.root / t.path for t in targets])
    kinds: set[tuple[str, str]] = set()
    for target, result in zip(targets, results, strict=True):
        if result.error is not None:
            raise OutsideError(f"kustomize failed for {target.path}: {result.error}; "
                               "run `mlops validate` to see why")
        manifests, _ = parse_rendered(result, target.name, target.path)
        kinds |= {(m.api_version, m.kind) for m in manifests}
    found, missing = [], []
    for api_version, kind in sorted(kinds):
        group, _, version = api_version.rpartition("/")
        if is_core_group(group) and store.core.schema(group, kind, version) is not None:
            continue
        located = store.lookup.find(group, kind, version)
        if located is None:
            missing.append((api_version, kind))
            continue
        schema, source = located
        found.append((api_version, kind, source))
        if out is not None:
            path = out / group / f"{kind.lower()}_{version}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return found, missing
