"""Convert CustomResourceDefinition YAML into JSON Schema files (`mlops schemas import`).

What is read
    Every document of kind `CustomResourceDefinition` in the input, also the items of a
    `kind: List` (the output of `oc get crd NAME -o yaml` or of several CRDs at once). Other
    documents are skipped. Each version with `served: true` gives one schema: its
    `schema.openAPIV3Schema`, or the CRD-wide `spec.validation.openAPIV3Schema` of old
    `apiextensions.k8s.io/v1beta1` CRDs. Versions with `served: false` are skipped. A CRD with no
    served version that has a schema is an error.

Where it is written
    `<spec.group>/<spec.names.kind in lower case>_<version>.json` under the output folder, for
    example `serving.kserve.io/inferenceservice_v1beta1.json`. This is the layout kubeconform's
    `-schema-location` template and the datree CRDs catalog use. The JSON has a 2-space indent,
    ASCII escapes and a final newline, and keeps the key order of the CRD, so the same input
    always gives the same bytes. When two inputs give the same file, the later one wins.

What changes (everything else is kept as published)
    1. Unknown fields are rejected: `"additionalProperties": false` is added to every object
       schema that lists `properties` and has no `additionalProperties` of its own. Not at the
       root, so unknown top-level keys pass as with kubeconform's default, and not where the CRD
       says `x-kubernetes-preserve-unknown-fields: true`, because the API server keeps unknown
       fields there.
    2. Only schema positions are visited: the schemas under `properties` and
       `patternProperties`, `items`, and `additionalProperties` when it is a schema. A field
       that happens to be called `properties` is a field, not a keyword. The branches of
       `allOf`, `anyOf`, `oneOf` and `not` are copied untouched.
    3. int-or-string: a schema with `format: int-or-string` becomes
       `oneOf: [{type: string}, {type: integer}]`, keeping only its `description` and its
       `x-kubernetes-*` keys. A schema marked `x-kubernetes-int-or-string: true` without `type`,
       `anyOf` or `oneOf` gets the same `oneOf` added. The form controller-gen writes
       (`anyOf: [{type: integer}, {type: string}]` plus the marker) is already valid JSON Schema
       and stays as it is.

What this means when validating
    `description`, `default`, `format`, `nullable`, `pattern` and the `x-kubernetes-*`
    extensions stay in the file but JSON Schema validators do not act on all of them: CEL rules
    (`x-kubernetes-validations`) and defaults are not checked, `nullable: true` does not allow
    `null`, and `format` is checked only with a format checker. `metadata` is a plain object in
    every CRD: the API server validates it itself.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError

# The C loader is several times faster; fall back where PyYAML was built without libyaml.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: One converted schema may hold at most this many values. Real CRDs stay far below (KubeRay's
#: RayJob, 1.4 MB of YAML, has about 14,000 per version); YAML aliases can make a short file
#: expand without bound, and such a file is refused instead of filling memory and disk.
MAX_VALUES = 1_000_000
#: Schemas nest at most this deep (RayJob: 31); a recursive YAML alias would otherwise never end.
MAX_DEPTH = 250

_INT_OR_STRING: list[dict[str, Any]] = [{"type": "string"}, {"type": "integer"}]

# Names end up in file paths: refuse anything that could leave the output folder.
_GROUP = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_VERSION = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@dataclass(frozen=True)
class ImportedSchema:
    """The JSON schema of one served version of a custom resource kind."""

    group: str
    kind: str
    version: str
    schema: dict[str, Any] = field(hash=False)

    def structure_only(self) -> ImportedSchema:
        """The same schema without its prose (`mlops schemas import --strip-descriptions`)."""
        return ImportedSchema(self.group, self.kind, self.version, strip_descriptions(self.schema))

    @property
    def relative_path(self) -> str:
        """`<group>/<kind lower>_<version>.json`, the file name inside a schema folder."""
        return f"{self.group}/{self.kind.lower()}_{self.version}.json"

    def to_json(self) -> bytes:
        """The file's content: 2-space indent, key order as in the CRD, final newline."""
        return (json.dumps(self.schema, indent=2) + "\n").encode("ascii")


def strip_descriptions(schema: Any) -> Any:
    """A copy of `schema` without `description` texts: the structure a validator uses, a fifth of the bytes.

    Only string values are dropped, so a field that is itself called `description` (a schema
    under `properties`) stays. The built-in catalog ships schemas this way: facts, not prose.
    """
    if isinstance(schema, dict):
        return {key: strip_descriptions(value) for key, value in schema.items()
                if not (key == "description" and isinstance(value, str))}
    if isinstance(schema, list):
        return [strip_descriptions(item) for item in schema]
    return schema


def convert_crd_documents(documents: Iterable[Any], source: str) -> list[ImportedSchema]:
    """Schemas of every served version of every CRD in `documents` (parsed YAML documents).

    Documents that are not CRDs are skipped; `source` names the input in error messages.
    """
    imported: list[ImportedSchema] = []
    for crd in _crds(documents):
        imported += _convert_crd(crd, source)
    return imported


def load_crd_text(text: str, source: str) -> list[ImportedSchema]:
    """Parse YAML text (one or more documents) and convert the CRDs in it."""
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "syntax error"
        raise UsageError(f"invalid YAML: {problem}", file=source, line=mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as error:  # a character YAML does not allow; only its offset is known
        # libyaml counts bytes of the UTF-8 text, the pure-Python reader counts characters.
        if _Loader is yaml.SafeLoader:
            line = text.count("\n", 0, error.position) + 1
        else:
            line = text.encode("utf-8", "surrogatepass").count(b"\n", 0, error.position) + 1
        problem = f"invalid YAML: character #x{error.character:04x} is not allowed ({error.reason})"
        raise UsageError(problem, file=source, line=line) from None
    except yaml.YAMLError as error:
        raise UsageError(f"invalid YAML: {error}", file=source) from None
    return convert_crd_documents(documents, source)


def write_schemas(schemas: Iterable[ImportedSchema], out_dir: Path) -> list[Path]:
    """Write each schema to `out_dir/<relative_path>`, creating folders; return the paths written.

    A path comes once in the result, in the order first written; a later schema for the same path
    replaces an earlier one.
    """
    contents: dict[Path, bytes] = {}
    for imported in schemas:
        contents[out_dir / imported.relative_path] = imported.to_json()
    for path, data in contents.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as error:
            raise UsageError(f"cannot write: {error.strerror}", file=str(path)) from None
    return list(contents)


# --- reading CRDs -----------------------------------------------------------------------------


def _crds(documents: Iterable[Any]) -> Iterator[dict[str, Any]]:
    for document in documents:
        if not isinstance(document, dict):
            continue
        kind = document.get("kind")
        if kind == "CustomResourceDefinition":
            yield document
        elif isinstance(kind, str) and kind.endswith("List") and isinstance(document.get("items"), list):
            yield from _crds(document["items"])


def _convert_crd(crd: dict[str, Any], source: str) -> list[ImportedSchema]:
    metadata = crd.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    label = f"CustomResourceDefinition {name}" if isinstance(name, str) else "a CustomResourceDefinition"

    def fail(problem: str) -> UsageError:
        return UsageError(f"{label}: {problem}", file=source)

    spec = crd.get("spec")
    if not isinstance(spec, dict):
        raise fail("has no spec")
    group = spec.get("group")
    if not isinstance(group, str) or not _GROUP.fullmatch(group):
        raise fail(f"spec.group {group!r} is not a valid API group")
    names = spec.get("names")
    kind = names.get("kind") if isinstance(names, dict) else None
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise fail(f"spec.names.kind {kind!r} is not a valid kind")

    legacy = _open_api_schema(spec.get("validation"))
    versions = spec.get("versions")
    if versions is None and isinstance(spec.get("version"), str):
        # apiextensions.k8s.io/v1beta1 with a single `spec.version`: it is served.
        versions = [{"name": spec["version"], "served": True}]
    if not isinstance(versions, list):
        raise fail("spec.versions is not a list")

    imported: list[ImportedSchema] = []
    for entry in versions:
        if not isinstance(entry, dict) or entry.get("served") is not True:
            continue
        version = entry.get("name")
        if not isinstance(version, str) or not _VERSION.fullmatch(version):
            raise fail(f"version name {version!r} is not valid")
        schema = _open_api_schema(entry.get("schema"))
        if schema is None:
            schema = legacy
        if schema is None:
            continue
        where = f"version {version}"
        converted = _Converter(fail, where).schema(schema, root=True)
        imported.append(ImportedSchema(group=group, kind=kind, version=version, schema=converted))
    if not imported:
        raise fail("no served version has an openAPIV3Schema")
    return imported


def _open_api_schema(holder: Any) -> dict[str, Any] | None:
    if isinstance(holder, dict):
        schema = holder.get("openAPIV3Schema")
        if isinstance(schema, dict):
            return schema
    return None


# --- converting one schema --------------------------------------------------------------------


class _Converter:
    """Builds a converted copy of one schema, never changing the parsed input.

    Copying (instead of editing in place) also expands shared YAML aliases into separate values,
    so `MAX_VALUES` and `MAX_DEPTH` bound what the output can grow to.
    """

    def __init__(self, fail: Callable[[str], UsageError], where: str) -> None:
        self._fail = fail
        self._where = where
        self._values = 0

    def _count(self, depth: int) -> None:
        self._values += 1
        if self._values > MAX_VALUES:
            raise self._fail(f"{self._where}: schema has more than {MAX_VALUES} values (YAML aliases?)")
        if depth > MAX_DEPTH:
            raise self._fail(f"{self._where}: schema nests deeper than {MAX_DEPTH} levels (recursive alias?)")

    def schema(self, node: Any, *, root: bool = False, depth: int = 0) -> Any:
        """Convert a value found at a schema position."""
        if not isinstance(node, dict):
            return self.plain(node, depth)
        self._count(depth)
        if node.get("format") == "int-or-string":
            kept = {key: value for key, value in node.items() if key == "description" or _is_extension(key)}
            result = self.plain(kept, depth)
            result["oneOf"] = self.plain(_INT_OR_STRING, depth + 1)
            return result

        result = {}
        for key, value in node.items():
            name = _json_key(key)
            if key in ("properties", "patternProperties") and isinstance(value, dict):
                self._count(depth + 1)
                result[name] = {
                    _json_key(field_name): self.schema(sub, depth=depth + 2) for field_name, sub in value.items()
                }
            elif key == "items" and isinstance(value, list):
                self._count(depth + 1)
                result[name] = [self.schema(sub, depth=depth + 2) for sub in value]
            elif key in ("items", "additionalProperties"):
                result[name] = self.schema(value, depth=depth + 1)
            else:
                result[name] = self.plain(value, depth + 1)

        if node.get("x-kubernetes-int-or-string") is True and not ({"type", "anyOf", "oneOf"} & node.keys()):
            result["oneOf"] = self.plain(_INT_OR_STRING, depth + 1)
        if (
            not root
            and "properties" in node
            and "additionalProperties" not in node
            and node.get("x-kubernetes-preserve-unknown-fields") is not True
        ):
            result["additionalProperties"] = False
        return result

    def plain(self, value: Any, depth: int) -> Any:
        """Copy a value that is not converted, as JSON would hold it."""
        self._count(depth)
        if isinstance(value, dict):
            return {_json_key(key): self.plain(item, depth + 1) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.plain(item, depth + 1) for item in value]
        if isinstance(value, datetime.date):  # an unquoted YAML timestamp; Kubernetes reads it as a string
            return value.isoformat()
        if value is None or isinstance(value, str | int | float):
            return value
        raise self._fail(f"{self._where}: a value of YAML type {type(value).__name__} has no JSON form")


def _is_extension(key: Any) -> bool:
    return isinstance(key, str) and key.startswith("x-kubernetes-")


def _json_key(key: Any) -> str:
    """A mapping key as JSON writes it (YAML allows `true:` or `200:` as keys)."""
    if isinstance(key, str):
        return key
    return json.dumps(key) if key is None or isinstance(key, bool | int | float) else str(key)
