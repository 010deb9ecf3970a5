"""Schemas of built-in Kubernetes kinds, from the files shipped in `kubernetes-validate`.

The "strict" variants are used: they forbid unknown fields everywhere, which is what the API
server's strict field validation does and what catches a misspelt field before Argo CD does.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import UsageError

DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_FOLDER = re.compile(r"^v(\d+)\.(\d+)\.\d+-local-strict$")


def _schema_root() -> Path:
    """The schema folder inside the installed package, found without importing it (it imports jsonschema)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("the kubernetes-validate package is not installed; reinstall mlops")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


def available_versions() -> list[tuple[int, int]]:
    versions = []
    for folder in _schema_root().iterdir():
        match = _FOLDER.match(folder.name)
        if match:
            versions.append((int(match.group(1)), int(match.group(2))))
    return sorted(versions)


def is_core_group(group: str) -> bool:
    """Built-in API groups: the core group, dotless groups (apps, batch) and `*.k8s.io`."""
    return group == "" or "." not in group or group.endswith(".k8s.io")


class CoreSchemas:
    """The strict schema folder of one Kubernetes minor version."""

    def __init__(self, kubernetes_version: str) -> None:
        parts = kubernetes_version.lstrip("v").split(".")
        if len(parts) < 2 or not all(part.isdigit() for part in parts[:2]):
            raise UsageError(f"Kubernetes version {kubernetes_version!r} is not like 1.33; "
                             "fix --kubernetes-version or kubernetesVersion in mlops.yaml")
        major, minor = int(parts[0]), int(parts[1])
        versions = available_versions()
        usable = [v for v in versions if v <= (major, minor)]
        if not usable:
            oldest = ".".join(map(str, versions[0])) if versions else "none"
            raise UsageError(f"Kubernetes {kubernetes_version} is older than the oldest schemas shipped "
                             f"with kubernetes-validate ({oldest}); set kubernetesVersion in mlops.yaml")
        if (major, minor) > versions[-1]:
            newest = ".".join(map(str, versions[-1]))
            raise UsageError(f"kubernetes-validate has no schemas for Kubernetes {kubernetes_version} "
                             f"(newest {newest}); upgrade it or set an older kubernetesVersion")
        chosen = usable[-1]
        self.version = f"{chosen[0]}.{chosen[1]}"
        self.folder = _schema_root() / f"v{chosen[0]}.{chosen[1]}.0-local-strict"

    def file_for(self, group: str, kind: str, version: str) -> Path:
        prefix = group.split(".")[0]
        suffix = f"{prefix}-{version}" if group else version
        return self.folder / f"{kind.lower()}-{suffix}.json"

    def schema(self, group: str, kind: str, version: str) -> dict[str, Any] | None:
        """The kind's schema, or None when this is not a built-in kind of that version."""
        path = self.file_for(group, kind, version)
        if not path.is_file():
            return None
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            if gvk.get("group", "") == group and gvk.get("kind") == kind and gvk.get("version") == version:
                return schema
        return None

    def definitions(self) -> dict[str, Any]:
        return _definitions(self.folder)


@cache
def _definitions(folder: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((folder / "_definitions.json").read_text(encoding="utf-8"))
    return result
