"""Say which OpenShift AI release a platform field belongs to, when a schema error is really a version mismatch.

Each 3.x minor adds DataScienceCluster components and platform fields (3.3 `mlflowoperator`,
`trainer`; 3.4 `sparkoperator`, kserve `modelsAsService`; 3.5 `aigateway`, `ogx`, ...), and an
older API server rejects them under Argo CD's strict field validation. A plain "unknown field"
does not tell the user that the field is right for another release: this module looks the field
up in every release of the built-in catalog and names the one that introduced it (or the last
one that had it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .builtin import BuiltinCatalog, release_key
from .shared_defs import follow

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class ReleaseMismatch:
    """An unknown field that another release of the same kind defines."""

    message: str
    fix: str


def _allows(schema: dict[str, Any], path: str) -> bool:
    """True when every step of the dotted path is a declared property (or list item) of the schema."""
    node: Any = schema
    for match in _STEP.finditer(path):
        name, index = match.groups()
        if not isinstance(node, dict):
            return False
        node = follow(schema, node.get("items") if index is not None else node.get("properties", {}).get(name))
        if node is None:
            return False
    return True


def explain_unknown_field(catalog: BuiltinCatalog, api_version: str, kind: str, path: str,
                          release: str) -> ReleaseMismatch | None:
    """Why `path` is unknown to `kind` in `release`, when another release has it; None otherwise."""
    group, _, version = api_version.rpartition("/")
    if not catalog.is_release_specific(group, kind):
        return None
    allowing = []
    for other in catalog.releases_with(group, kind, version):
        found = catalog.find(group, kind, version, other)
        if found is not None and _allows(found[0], path):
            allowing.append(other)
    if not allowing or release in allowing:
        return None
    field = path.rsplit(".", 1)[-1]
    what = (f"component {field!r}" if kind == "DataScienceCluster" and path.startswith("spec.components.")
            and path.count(".") == 2 else f"field {path!r}")
    first, last = allowing[0], allowing[-1]
    if release_key(first) > release_key(release):
        return ReleaseMismatch(
            f"{kind} {api_version} of OpenShift AI {release} has no {what}: it came with {first}",
            f"remove {path}, or write for OpenShift AI {first} or later: set rhoaiVersion: \"{first}\" in mlops.yaml "
            f"and the operator Subscription's channel to that minor",
        )
    return ReleaseMismatch(
        f"{kind} {api_version} of OpenShift AI {release} has no {what}: the last release with it is {last}",
        f"remove {path} (OpenShift AI {release} dropped it)",
    )
