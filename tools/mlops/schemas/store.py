"""Compile each schema once per run and check objects against it.

Built-in kinds use the strict Kubernetes schemas; custom resources use the locations in order.
CRD schemas leave `metadata` open and the root open (the API server checks those itself), so for
custom resources `metadata` is checked against the Kubernetes ObjectMeta schema and unknown
top-level keys (a misspelt `spec`) are reported here.

`jsonschema_rs` is imported when the first schema is compiled, not with this module: a run
served from the run cache compiles none, and a fresh run's first render need not wait for it
(about 8 ms of a 0.2 s run from the cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from .core import DEFINITIONS_URI, OBJECT_META, CoreSchemas, is_core_group
from .locations import Lookup

_ROOT_KEYS = {"apiVersion", "kind", "metadata", "spec", "status"}


def _rs() -> Any:
    """The `jsonschema_rs` module, imported on first use (see the module's docstring)."""
    import jsonschema_rs

    return jsonschema_rs


@dataclass(frozen=True)
class SchemaError:
    """One violation: dotted JSON path of the offending value, and what is wrong."""

    path: str
    message: str


@dataclass
class CompiledSchema:
    validator: Any
    source: str
    is_custom: bool
    root_keys: frozenset[str] = frozenset()


@dataclass
class SchemaStore:
    """Schemas by (apiVersion, kind), compiled on first use and kept for the run."""

    core: CoreSchemas
    lookup: Lookup
    _compiled: dict[tuple[str, str, str | None], CompiledSchema | None] = field(default_factory=dict)
    _registry: Any = None
    _object_meta: Any = None

    def _core_registry(self) -> Any:
        if self._registry is None:
            self._registry = _rs().Registry([(DEFINITIONS_URI, self.core.definitions())])
        return self._registry

    def _meta_validator(self) -> Any:
        if self._object_meta is None:
            self._object_meta = _rs().validator_for(
                {"$ref": f"{DEFINITIONS_URI}#/$defs/{OBJECT_META}"}, registry=self._core_registry()
            )
        return self._object_meta

    def get(self, api_version: str, kind: str, release: str | None = None) -> CompiledSchema | None:
        """The compiled schema of a kind; `release` (an OpenShift AI minor) matters only for platform kinds."""
        group = api_version.rpartition("/")[0]
        builtin = self.lookup.builtin
        if builtin is None or not builtin.is_release_specific(group, kind):
            release = None
        key = (api_version, kind, release)
        if key not in self._compiled:
            self._compiled[key] = self._compile(api_version, kind, release)
        return self._compiled[key]

    def _compile(self, api_version: str, kind: str, release: str | None) -> CompiledSchema | None:
        group, _, version = api_version.rpartition("/")
        if is_core_group(group):
            schema = self.core.schema(group, kind, version)
            if schema is not None:
                validator = _rs().validator_for(schema, registry=self._core_registry())
                return CompiledSchema(validator, f"Kubernetes {self.core.version}", is_custom=False)
        found = self.lookup.find(group, kind, version, release)
        if found is None:
            return None
        schema, source = found
        try:
            validator = _rs().validator_for(schema)
        except (ValueError, _rs().ReferencingError) as error:
            raise UsageError(f"schema does not compile: {error}", file=source) from None
        properties = schema.get("properties")
        root_keys = frozenset(properties) | _ROOT_KEYS if isinstance(properties, dict) else frozenset()
        return CompiledSchema(validator, source, is_custom=True, root_keys=root_keys)

    def errors(self, compiled: CompiledSchema, data: dict[str, Any]) -> list[SchemaError]:
        """Every violation of `data`; an empty list when it is valid."""
        if compiled.validator.is_valid(data) and not compiled.is_custom:
            return []
        result = [found for error in compiled.validator.iter_errors(data) for found in _to_errors(error, ())]
        if compiled.is_custom:
            metadata = data.get("metadata")
            if metadata is not None:
                result += [found for error in self._meta_validator().iter_errors(metadata)
                           for found in _to_errors(error, ("metadata",))]
            if compiled.root_keys:
                result += [SchemaError(str(key), f"unknown top-level field {key!r}")
                           for key in data if key not in compiled.root_keys]
        return result


def dotted(parts: tuple[Any, ...] | list[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _to_errors(error: Any, prefix: tuple[str, ...]) -> list[SchemaError]:
    """One error per offending field, so each is reported at its own line."""
    parts = [*prefix, *error.instance_path]
    kind = error.kind
    kinds = _rs().ValidationErrorKind
    if isinstance(kind, kinds.AdditionalProperties):
        return [SchemaError(dotted([*parts, name]), f"unknown field {name!r}") for name in kind.unexpected]
    if isinstance(kind, kinds.Required):
        return [SchemaError(dotted(parts), f"missing required field {kind.property!r}")]
    return [SchemaError(dotted(parts), error.message)]
