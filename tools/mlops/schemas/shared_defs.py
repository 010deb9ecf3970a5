"""Repeated subschemas written once, under `$defs`, and referenced where they stood.

A CRD's OpenAPI schema spells out every nested type in place: KServe's InferenceService holds
the whole Kubernetes container and pod schema once per component (predictor, transformer,
explainer, each with containers, init containers, volumes ...), so the structure is a third of
the bytes and the rest repeats it. jsonschema_rs compiles a schema node once, however often it is
referenced, so the same schema with the repeats shared compiles about ten times faster (0.064 s
to 0.006 s for the InferenceService) and validates exactly the same objects with the same errors
(the instance paths in errors do not change; `tests/test_shared_defs.py` checks both on the
catalog). The built-in catalog is written this way by `scripts/regenerate-builtin-schemas.py`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

DEFS = "$defs"
REF = "$ref"
#: Subschemas shorter than this (as compact JSON) stay where they are: a reference saves little there.
MIN_SHARED_BYTES = 3000
_POINTER = "#/" + DEFS + "/"
_MAPS = ("properties", "patternProperties")
_SINGLE = ("items", "additionalProperties", "not")
_LISTS = ("allOf", "anyOf", "oneOf")


def _children(node: dict[str, Any]) -> Iterator[tuple[str, str | int | None, dict[str, Any]]]:
    """(keyword, member or index, subschema) of every place in `node` that holds a schema."""
    for keyword in _MAPS:
        members = node.get(keyword)
        if isinstance(members, dict):
            for name, child in members.items():
                if isinstance(child, dict):
                    yield keyword, name, child
    for keyword in _SINGLE:
        child = node.get(keyword)
        if isinstance(child, dict):
            yield keyword, None, child
    for keyword in _LISTS:
        items = node.get(keyword)
        if isinstance(items, list):
            for index, child in enumerate(items):
                if isinstance(child, dict):
                    yield keyword, index, child


def _text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def share_repeated(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every subschema that occurs more than once moved to `$defs` (a new object).

    A schema that already has `$defs`, references or identifiers is returned unchanged: moving a
    part of it could change what its references resolve to.
    """
    whole = _text(schema)
    if DEFS in schema or '"$ref"' in whole or '"$id"' in whole:
        return schema
    counts: dict[str, int] = {}

    def count(node: dict[str, Any]) -> None:
        for _, _, child in _children(node):
            count(child)
            text = _text(child)
            if len(text) >= MIN_SHARED_BYTES:
                counts[text] = counts.get(text, 0) + 1

    count(schema)
    repeated = {text for text, seen in counts.items() if seen > 1}
    if not repeated:
        return schema
    definitions: dict[str, Any] = {}

    def rewrite(node: dict[str, Any]) -> dict[str, Any]:
        result = dict(node)
        for keyword, place, child in _children(node):
            text = _text(child)
            if text in repeated:
                name = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
                if name not in definitions:
                    definitions[name] = rewrite(child)
                replacement: dict[str, Any] = {REF: _POINTER + name}
            else:
                replacement = rewrite(child)
            if place is None:
                result[keyword] = replacement
            else:
                container = result[keyword]
                if container is node[keyword]:  # copy a container before its first change
                    container = result[keyword] = dict(container) if isinstance(container, dict) else list(container)
                container[place] = replacement
        return result

    shared = rewrite(schema)
    shared[DEFS] = dict(sorted(definitions.items()))
    return shared


def follow(schema: dict[str, Any], node: Any) -> Any:
    """`node` of `schema`, or the shared subschema it references: for code that walks a schema by hand."""
    if isinstance(node, dict) and len(node) == 1 and isinstance(node.get(REF), str):
        target = node[REF]
        definitions = schema.get(DEFS)
        if target.startswith(_POINTER) and isinstance(definitions, dict):
            return definitions.get(target.removeprefix(_POINTER), node)
    return node


def expand(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every `$defs` reference written out again (what `share_repeated` started from)."""
    definitions = schema.get(DEFS)
    if not isinstance(definitions, dict):
        return schema

    def inline(value: Any) -> Any:
        if isinstance(value, dict):
            target = value.get(REF)
            if len(value) == 1 and isinstance(target, str) and target.startswith(_POINTER):
                return inline(definitions[target.removeprefix(_POINTER)])
            return {key: inline(item) for key, item in value.items()}
        if isinstance(value, list):
            return [inline(item) for item in value]
        return value

    return {key: inline(value) for key, value in schema.items() if key != DEFS}
