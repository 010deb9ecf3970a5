"""Where schemas of custom resources come from: explicit locations, the built-in catalog, the public catalog.

A location is a folder in the `GROUP/KIND_VERSION.json` layout (the datree CRDs catalog and
kubeconform convention), or a template with `{group}`, `{kind}` (lower case) and `{version}`
placeholders, either a path or an `http(s)://` URL. The order is: the locations the user named
(options, MLOPS_SCHEMA_LOCATION, mlops.yaml), so a team can override any schema; then the
built-in catalog (`builtin.py`), which answers for every OpenShift AI kind without a network;
then, only with `--online`, the public datree catalog for kinds nobody else has. URL answers are
cached on disk so that a second run needs no network. A URL that cannot be reached is skipped
with one warning per kind, never one per object.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cachestore import cache_root
from ..errors import UsageError
from .builtin import BuiltinCatalog

if TYPE_CHECKING:
    import httpx

DEFAULT_CATALOG = "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{group}/{kind}_{version}.json"
FETCH_TIMEOUT_SECONDS = 10.0


def cache_dir() -> Path:
    """Where URL answers are kept: $MLOPS_CACHE_DIR itself when set, else the `schemas` folder of the cache root."""
    configured = os.environ.get("MLOPS_CACHE_DIR")
    return Path(configured) if configured else cache_root() / "schemas"


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _read_json(path: Path, shown: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read schema: {error}", file=shown) from None
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"schema is not JSON: {error.msg}; fix or delete the file",
                         file=shown, line=error.lineno) from None
    if not isinstance(schema, dict):
        raise UsageError("schema is not a JSON object", file=shown, line=1)
    return schema


@dataclass
class SchemaLocation:
    """One place to look, as the user wrote it."""

    spec: str
    base: Path  # relative folders are relative to this
    #: tried only after the built-in catalog (the public catalog appended by `--online`)
    fallback: bool = False

    @property
    def is_url(self) -> bool:
        return _is_url(self.spec)

    def expand(self, group: str, kind: str, version: str) -> str:
        values = {"group": group, "kind": kind.lower(), "version": version}
        if "{" in self.spec:
            return self.spec.format(**values)
        return f"{self.spec.rstrip('/')}/{group}/{kind.lower()}_{version}.json"

    def check(self) -> None:
        """A local folder must exist and be readable: a typo here would hide every schema."""
        if self.is_url:
            return
        folder = self.spec.split("{", 1)[0]
        path = self.base / folder if folder else self.base
        if "{" in self.spec:
            path = path if path.is_dir() else path.parent
        if not path.is_dir() or not os.access(path, os.R_OK | os.X_OK):
            raise UsageError(f"schema location {self.spec!r} is not a readable folder; "
                             "fix --schema-location, MLOPS_SCHEMA_LOCATION or schemaLocations in mlops.yaml")


@dataclass
class Lookup:
    """Finds custom resource schemas across locations, caching URL answers."""

    locations: list[SchemaLocation]
    offline: bool = False
    builtin: BuiltinCatalog | None = None
    #: the OpenShift AI release whose platform schemas apply when a caller names none
    default_release: str | None = None
    warnings: list[str] = field(default_factory=list)
    _client: httpx.Client | None = None
    _unreachable: set[str] = field(default_factory=set)

    def find(self, group: str, kind: str, version: str,
             release: str | None = None) -> tuple[dict[str, Any], str] | None:
        """The schema and where it was found, or None when no location has it.

        `release` picks the built-in platform schemas of that OpenShift AI minor. URL locations
        that cannot be reached are skipped; when no other location has the kind, one warning per
        kind names them.
        """
        skipped: list[str] = []
        explicit = [location for location in self.locations if not location.fallback]
        for location in explicit:
            found = self._find_at(location, group, kind, version, skipped)
            if found is not None:
                return found
        release = release or self.default_release
        if self.builtin is not None and release is not None:
            found = self.builtin.find(group, kind, version, release)
            if found is not None:
                return found
        for location in self.locations:
            if location.fallback:
                found = self._find_at(location, group, kind, version, skipped)
                if found is not None:
                    return found
        if skipped:
            self.warnings.append(
                f"{kind} {group}/{version}: no schema found; skipped unreachable {', '.join(skipped)} "
                "(offline? run `mlops schemas sync` when online, or add a local schema folder)"
            )
        return None

    def _find_at(self, location: SchemaLocation, group: str, kind: str, version: str,
                 skipped: list[str]) -> tuple[dict[str, Any], str] | None:
        target = location.expand(group, kind, version)
        if location.is_url:
            schema = self._fetch(location, target, skipped)
        else:
            path = Path(target) if os.path.isabs(target) else location.base / target
            schema = _read_json(path, target) if path.is_file() else None
        return (schema, target) if schema is not None else None

    def _fetch(self, location: SchemaLocation, url: str, skipped: list[str]) -> dict[str, Any] | None:
        cached = cache_dir() / (hashlib.sha256(url.encode()).hexdigest() + ".json")
        if cached.is_file():
            return _read_json(cached, str(cached))
        if self.offline:
            return None
        if location.spec in self._unreachable:
            skipped.append(location.spec)
            return None
        import httpx  # only runs that fetch a schema pay for the HTTP client

        try:
            client = self._client or httpx.Client(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True)
            self._client = client
            response = client.get(url)
        except httpx.HTTPError:
            self._unreachable.add(location.spec)
            skipped.append(location.spec)
            return None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            self.warnings.append(f"{url} answered HTTP {response.status_code}; skipped")
            return None
        try:
            schema = response.json()
        except ValueError:
            self.warnings.append(f"{url} did not answer JSON; skipped")
            return None
        if not isinstance(schema, dict):
            return None
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(".tmp")
        temporary.write_text(json.dumps(schema), encoding="utf-8")
        temporary.replace(cached)
        return schema

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def split_path_list(value: str) -> list[str]:
    """Split MLOPS_SCHEMA_LOCATION at the path separator without cutting `https://` in two."""
    parts = value.split(os.pathsep)
    result: list[str] = []
    for part in parts:
        if result and part.startswith("//") and result[-1] in ("http", "https"):
            result[-1] += os.pathsep + part
        elif part:
            result.append(part)
    return result


def build_locations(cli: list[str], environment: str | None, config: list[str], repo_root: Path,
                    cwd: Path, *, include_default: bool = False) -> list[SchemaLocation]:
    """Locations in the documented order: options, MLOPS_SCHEMA_LOCATION, mlops.yaml; the public catalog last.

    The public catalog (`include_default`, from `--online`) is a fallback: the lookup tries it
    only after the built-in catalog, so no run needs the network for an OpenShift AI kind.
    """
    locations = [SchemaLocation(spec, cwd) for spec in cli]
    if environment:
        locations += [SchemaLocation(spec, cwd) for spec in split_path_list(environment)]
    locations += [SchemaLocation(spec, repo_root) for spec in config]
    if include_default:
        locations.append(SchemaLocation(DEFAULT_CATALOG, repo_root, fallback=True))
    for location in locations:
        location.check()
    return locations
