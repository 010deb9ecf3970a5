"""`mlops schemas import`: CRD YAML becomes JSON schemas; the built-in catalog is its output.

The importer is tested on small CRDs written here. The built-in catalog
(`scripts/regenerate-builtin-schemas.py` runs the importer on the upstream CRDs) is checked by
running every one of its schemas on generated documents: a minimal valid one, a richer one, and
mutations of them that must fail.
"""

from __future__ import annotations

import copy
import json
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from mlops.errors import UsageError
from mlops.schemas import crd_import
from mlops.schemas.builtin import builtin_catalog
from mlops.schemas.crd_import import ImportedSchema, convert_crd_documents, load_crd_text, write_schemas
from mlops.schemas.shared_defs import expand

INT_OR_STRING = [{"type": "string"}, {"type": "integer"}]


# --- the built-in catalog: every schema accepts valid documents and rejects broken ones ------------


def test_every_built_in_schema_accepts_valid_and_rejects_broken_documents() -> None:
    """Generated documents (a minimal and a rich valid one, then mutations that must fail).

    The catalog is `mlops schemas import --strip-descriptions` output with repeated subschemas
    shared under `$defs`; this proves that stripping the prose kept every constraint a validator
    uses, for each of its schemas, and that the shared form gives the verdicts of the written-out
    one (the examples are generated from that, `shared_defs.expand`).
    """
    catalog = builtin_catalog()
    tally = Tally()
    entries = catalog.entries()
    assert len(entries) >= 100
    for entry in entries:
        schema = catalog.load(entry)
        enum = schema.get("properties", {}).get("kind", {}).get("enum")
        kind = enum[0] if isinstance(enum, list) and enum else entry.kind
        compare_verdicts(entry.name, entry.api_version, kind, expand(schema), schema, tally)
    assert tally.disagreements == []
    assert tally.valid_rejected == [], "generated valid examples that the catalog rejects"
    assert tally.mutations_accepted == [], "mutations that the catalog accepts"
    assert tally.strict_spec_unchecked == [], "a strict spec got no unknown-field mutation"
    # Skipped: examples whose validity depends on oneOf/anyOf/not/patterns the generator cannot solve.
    assert tally.examples == 2 * len(entries)
    assert tally.skipped <= max(2, tally.examples // 10), tally.skip_reasons
    assert tally.unknown_field_mutations >= len(entries) // 2
    assert tally.type_mutations >= len(entries) // 2


def test_built_in_schemas_carry_no_prose() -> None:
    catalog = builtin_catalog()

    def prose(node: Any) -> bool:
        if isinstance(node, dict):
            return any((key == "description" and isinstance(value, str)) or prose(value) for key, value in node.items())
        return isinstance(node, list) and any(prose(item) for item in node)

    assert [entry.name for entry in catalog.entries() if prose(catalog.load(entry))] == []


@dataclass
class Tally:
    examples: int = 0
    skipped: int = 0
    superseded: int = 0
    unknown_field_mutations: int = 0
    type_mutations: int = 0
    skip_reasons: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    valid_rejected: list[str] = field(default_factory=list)
    mutations_accepted: list[str] = field(default_factory=list)
    strict_spec_unchecked: list[str] = field(default_factory=list)


# Constructs that can make a generated example invalid without the generator being wrong.
HARD_KEYWORDS = {"oneOf", "anyOf", "not", "pattern", "uniqueItems", "patternProperties", "maxProperties",
                 "minProperties"}
UNKNOWN_FIELD = "zzUnknownField"
MUTATIONS_PER_KIND = 40


def compare_verdicts(
    name: str, api_version: str, kind: str, reference: dict[str, Any], imported: dict[str, Any], tally: Tally
) -> None:
    reference_validator = jsonschema_rs.validator_for(reference)
    imported_validator = jsonschema_rs.validator_for(imported)
    spec = reference.get("properties", {}).get("spec", {})
    spec_is_strict = spec.get("additionalProperties") is False and not spec.get("x-kubernetes-preserve-unknown-fields")

    def verdicts(label: str, document: Any) -> bool:
        accepted = bool(reference_validator.is_valid(document))
        if accepted != imported_validator.is_valid(document):
            tally.disagreements.append(f"{name}: {label}: reference accepts={accepted}")
        return accepted

    for rich in (False, True):
        label = "rich example" if rich else "minimal example"
        tally.examples += 1
        try:
            example = ExampleMaker(rich=rich).root(reference, api_version, kind)
        except Unsatisfiable as error:
            tally.skipped += 1
            tally.skip_reasons.append(f"{name}: {label}: cannot generate: {error}")
            continue
        if not verdicts(label, example):
            hard = hard_errors(reference_validator, example)
            if hard is None:
                tally.valid_rejected.append(f"{name}: {label}: {first_error(reference_validator, example)}")
            else:
                tally.skipped += 1
                tally.skip_reasons.append(f"{name}: {label}: {hard}")
            continue

        # The root stays open (kubeconform's default): an unknown top-level key passes both. The
        # OpenShift "strict" catalog files (Route, ImageStream, ConsoleLink) close it on purpose.
        example[UNKNOWN_FIELD] = "x"
        root_open = reference.get("additionalProperties") is not False
        if not verdicts(f"{label} + unknown top-level key", example) and root_open:
            tally.valid_rejected.append(f"{name}: {label} + unknown top-level key: the root should stay open")
        del example[UNKNOWN_FIELD]

        strict, typed = mutation_points(example, reference)
        chosen = sample(strict)
        if ("spec",) in strict and ("spec",) not in chosen:
            chosen.insert(0, ("spec",))
        if spec_is_strict and ("spec",) not in chosen:
            tally.strict_spec_unchecked.append(f"{name}: {label}")
        for path in chosen:
            target = lookup(example, path)
            target[UNKNOWN_FIELD] = "x"
            tally.unknown_field_mutations += 1
            if verdicts(f"{label} + unknown field at {path}", example):
                tally.mutations_accepted.append(f"{name}: unknown field at {path}")
            del target[UNKNOWN_FIELD]
        for path, wrong in sample(typed):
            parent, key = lookup(example, path[:-1]), path[-1]
            original, parent[key] = parent[key], wrong
            tally.type_mutations += 1
            if verdicts(f"{label} with {wrong!r} at {path}", example):
                tally.mutations_accepted.append(f"{name}: {wrong!r} at {path}")
            parent[key] = original


def hard_errors(validator: Any, document: Any) -> str | None:
    """Why the reference rejects a generated example, if every error comes from a hard construct."""
    reasons = []
    for error in validator.iter_errors(document):
        hard = HARD_KEYWORDS.intersection(str(step) for step in error.schema_path)
        if not hard:
            return None
        reasons.append(f"{'/'.join(map(str, error.instance_path))}: {sorted(hard)}")
    return "; ".join(reasons)


def first_error(validator: Any, document: Any) -> str:
    error = next(iter(validator.iter_errors(document)))
    return f"{list(error.instance_path)}: {error.message[:200]}"


Path_ = tuple[str | int, ...]


def mutation_points(example: Any, schema: Any) -> tuple[list[Path_], list[tuple[Path_, Any]]]:
    """Objects below the root that forbid unknown fields, and typed values with a wrong value for each.

    Only `properties`, `items` and `additionalProperties` are followed: every keyword applies at
    once, so breaking a value reached that way breaks the whole document.
    """
    strict: list[Path_] = []
    typed: list[tuple[Path_, Any]] = []

    def walk(value: Any, node: Any, path: Path_) -> None:
        if not isinstance(node, dict):
            return
        if path:
            wrong = wrong_value(node.get("type"))
            if wrong is not None:
                typed.append((path, wrong))
        if isinstance(value, dict):
            if path and node.get("additionalProperties") is False and "patternProperties" not in node:
                strict.append(path)
            properties = node.get("properties", {})
            for key, item in value.items():
                sub = properties.get(key, node.get("additionalProperties"))
                walk(item, sub, (*path, key))
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for index, item in enumerate(value):
                walk(item, node["items"], (*path, index))

    walk(example, schema, ())
    return strict, typed


def wrong_value(json_type: Any) -> Any:
    return {"string": 12345, "integer": "not-a-number", "number": "NaN", "boolean": "yes",
            "object": "not-an-object", "array": "not-an-array"}.get(json_type) if isinstance(json_type, str) else None


def sample(items: list[Any]) -> list[Any]:
    """At most MUTATIONS_PER_KIND items, spread evenly over the list, the first one included."""
    if len(items) <= MUTATIONS_PER_KIND:
        return list(items)
    step = len(items) / MUTATIONS_PER_KIND
    return [items[int(index * step)] for index in range(MUTATIONS_PER_KIND)]


def lookup(document: Any, path: Path_) -> Any:
    for step in path:
        document = document[step]
    return document


# --- example generator ------------------------------------------------------------------------------


class Unsatisfiable(Exception):
    """The generator has no value for this schema (a construct it does not solve)."""


STRING_CANDIDATES = (
    "x", "a", "abc", "a1", "example", "0", "1", "10", "1Gi", "100m", "v1", "A", "Abc", "a-b", "a.b",
    "a_b", "a/b", "/a", "a:1", "a=b", "1s", "10s", "1m", "1h", "true", "Always", "example.com",
    "https://example.com", "2024-01-01T00:00:00Z", "a@example.com", "1.0", "$(params.a)", "*",
)
FORMAT_VALUES = {
    "date-time": "2024-01-01T00:00:00Z", "date": "2024-01-01", "time": "00:00:00Z", "byte": "YQ==",
    "uri": "https://example.com", "url": "https://example.com", "email": "a@example.com",
    "hostname": "example.com", "ipv4": "10.0.0.1", "ipv6": "::1",
    "uuid": "00000000-0000-0000-0000-000000000000", "duration": "1s",
}
RICH_DEPTH = 6  # object/array levels below the root that a rich example fills completely


class ExampleMaker:
    """Build a small document that a schema accepts: required fields (all fields when rich)."""

    def __init__(self, *, rich: bool) -> None:
        self.rich = rich
        self._validators: dict[str, Any] = {}

    def root(self, schema: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
        document = self.value(schema, 0)
        document.update({"apiVersion": api_version, "kind": kind, "metadata": {"name": "example"}})
        if "spec" not in document and "spec" in schema.get("properties", {}):
            document["spec"] = self.value(schema["properties"]["spec"], 1)
        return document  # type: ignore[no-any-return]

    def accepts(self, schema: dict[str, Any], value: Any) -> bool:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = jsonschema_rs.validator_for(schema)
        return bool(self._validators[key].is_valid(value))

    def value(self, schema: Any, depth: int) -> Any:
        if schema is False:
            raise Unsatisfiable("false schema")
        if not isinstance(schema, dict):
            return {}
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if schema.get("enum"):
            return copy.deepcopy(schema["enum"][0])
        for keyword in ("oneOf", "anyOf"):
            if keyword in schema:
                rest = {key: item for key, item in schema.items() if key != keyword}
                for branch in schema[keyword]:
                    try:
                        candidate = self.value(merge(rest, branch), depth)
                    except Unsatisfiable:
                        continue
                    if self.accepts(schema, candidate):
                        return candidate
                raise Unsatisfiable(f"no {keyword} branch could be satisfied")
        if "allOf" in schema:
            merged = {key: item for key, item in schema.items() if key != "allOf"}
            for branch in schema["allOf"]:
                merged = merge(merged, branch)
            return self.value(merged, depth)

        json_type = schema.get("type")
        if isinstance(json_type, list):
            json_type = next((item for item in json_type if item != "null"), "null")
        if json_type is None:
            if "properties" in schema or "required" in schema:
                json_type = "object"
            elif "items" in schema:
                json_type = "array"
        if json_type == "object":
            return self.object(schema, depth)
        if json_type == "array":
            return self.array(schema, depth)
        if json_type == "string":
            return self.string(schema)
        if json_type in ("integer", "number"):
            return self.number(schema)
        if json_type == "boolean":
            return False
        if json_type == "null":
            return None
        return {}  # no type: anything goes (x-kubernetes-preserve-unknown-fields and the like)

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        names = list(dict.fromkeys(schema.get("required", [])))
        if self.rich and depth < RICH_DEPTH:
            names += [name for name in properties if name not in names]
        result = {name: self.value(properties.get(name, extra if isinstance(extra, dict) else {}), depth + 1)
                  for name in names}
        if self.rich and depth < RICH_DEPTH and isinstance(extra, dict):
            result["key0"] = self.value(extra, depth + 1)
        counter = 0
        while len(result) < schema.get("minProperties", 0):
            unused = [name for name in properties if name not in result]
            if unused:
                result[unused[0]] = self.value(properties[unused[0]], depth + 1)
            elif extra is not False:
                counter += 1
                result[f"key{counter}"] = self.value(extra, depth + 1)
            else:
                raise Unsatisfiable("minProperties")
        return result

    def array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        count = schema.get("minItems", 0)
        if self.rich and depth < RICH_DEPTH:
            count = max(count, 1)
        count = min(count, schema.get("maxItems", count))
        if count > 1 and schema.get("uniqueItems"):
            raise Unsatisfiable("uniqueItems")
        items = schema.get("items", {})
        if isinstance(items, list):
            return [self.value(items[index] if index < len(items) else {}, depth + 1) for index in range(count)]
        return [self.value(items, depth + 1) for _ in range(count)]

    def string(self, schema: dict[str, Any]) -> str:
        checks: dict[str, Any] = {key: schema[key] for key in ("pattern", "minLength", "maxLength") if key in schema}
        preferred = FORMAT_VALUES.get(schema.get("format", ""))
        if not checks:
            return preferred or "x"
        check: dict[str, Any] = {"type": "string", **checks}
        candidates = [preferred] if preferred else []
        candidates += [*STRING_CANDIDATES, "x" * int(schema.get("minLength", 1))]
        for candidate in candidates:
            if self.accepts(check, candidate):
                return candidate
        raise Unsatisfiable(f"no candidate string matches {checks}")

    def number(self, schema: dict[str, Any]) -> int:
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(schema.get("exclusiveMinimum"), int | float) and not isinstance(schema["exclusiveMinimum"], bool):
            low = schema["exclusiveMinimum"] + 1
        elif schema.get("exclusiveMinimum") is True and low is not None:
            low += 1
        value = max(0, math.ceil(low)) if low is not None else 0
        if high is not None and value > high:
            value = math.floor(high)
            if low is not None and value < low:
                raise Unsatisfiable("empty numeric range")
        step = schema.get("multipleOf")
        if step:
            value = math.ceil(value / step) * step
        return int(value)


def merge(base: dict[str, Any], extra: Any) -> dict[str, Any]:
    """Both schemas at once, as far as the generator needs (properties and required combined)."""
    if not isinstance(extra, dict):
        return dict(base)
    result = dict(base)
    for key, value in extra.items():
        if key == "required":
            result[key] = list(dict.fromkeys([*base.get(key, []), *value]))
        elif key == "properties" and isinstance(base.get(key), dict):
            result[key] = {**base[key], **{name: merge(base[key].get(name, {}), sub) for name, sub in value.items()}}
        elif key == "type" and "type" in base and base["type"] != value:
            raise Unsatisfiable(f"type {base['type']} and {value}")
        else:
            result[key] = value
    return result


def test_example_maker_fills_required_fields_and_respects_constraints() -> None:
    schema = {
        "type": "object",
        "required": ["name", "replicas", "mode", "ports", "port", "labels"],
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z]+[0-9]$"},
            "replicas": {"type": "integer", "minimum": 3, "maximum": 5},
            "mode": {"type": "string", "enum": ["Fast", "Slow"]},
            "ports": {"type": "array", "minItems": 2, "items": {"type": "integer"}},
            "port": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
            "labels": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}},
            "optional": {"type": "boolean"},
        },
    }
    minimal = ExampleMaker(rich=False).value(schema, 0)
    assert minimal == {"name": "a1", "replicas": 3, "mode": "Fast", "ports": [0, 0], "port": 0, "labels": {"key1": "x"}}
    assert jsonschema_rs.is_valid(schema, minimal)
    rich = ExampleMaker(rich=True).value(schema, 0)
    assert rich["optional"] is False
    assert jsonschema_rs.is_valid(schema, rich)
    with pytest.raises(Unsatisfiable):
        ExampleMaker(rich=False).value({"type": "string", "pattern": "^zz[0-9]{5}$"}, 0)


# --- the rules, one by one, on small hand-written CRDs -----------------------------------------------


def crd(*versions: dict[str, Any], group: str = "example.com", kind: str = "Widget") -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {"group": group, "names": {"kind": kind, "plural": "widgets"}, "scope": "Namespaced",
                 "versions": list(versions)},
    }


def version(name: str, schema: dict[str, Any] | None, served: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "served": served, "storage": name == "v1"}
    if schema is not None:
        entry["schema"] = {"openAPIV3Schema": schema}
    return entry


def convert_one(schema: dict[str, Any]) -> dict[str, Any]:
    [imported] = convert_crd_documents([crd(version("v1", schema))], "test.yaml")
    return imported.schema


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def test_additional_properties_is_added_below_the_root_only() -> None:
    schema = obj(spec=obj(size={"type": "integer"}, nested=obj(a={"type": "string"})), metadata={"type": "object"})
    converted = convert_one(schema)
    assert "additionalProperties" not in converted
    assert converted["properties"]["spec"]["additionalProperties"] is False
    assert converted["properties"]["spec"]["properties"]["nested"]["additionalProperties"] is False
    assert converted["properties"]["metadata"] == {"type": "object"}  # no properties: stays open
    assert list(converted["properties"]["spec"]) == ["type", "properties", "additionalProperties"]


def test_additional_properties_of_the_crd_is_kept_and_followed_when_it_is_a_schema() -> None:
    schema = obj(spec=obj(
        open={**obj(a={"type": "string"}), "additionalProperties": True},
        closed={**obj(a={"type": "string"}), "additionalProperties": False},
        map={"type": "object", "additionalProperties": obj(a={"type": "string"})},
    ))
    spec = convert_one(schema)["properties"]["spec"]["properties"]
    assert spec["open"]["additionalProperties"] is True
    assert spec["closed"]["additionalProperties"] is False
    assert spec["map"]["additionalProperties"]["additionalProperties"] is False


def test_preserve_unknown_fields_stays_open_but_its_children_are_converted() -> None:
    schema = obj(spec={**obj(inner=obj(a={"type": "string"})), "x-kubernetes-preserve-unknown-fields": True})
    spec = convert_one(schema)["properties"]["spec"]
    assert "additionalProperties" not in spec
    assert spec["properties"]["inner"]["additionalProperties"] is False


def test_only_schema_positions_are_walked() -> None:
    param = obj(name={"type": "string"},
                properties={"type": "object", "additionalProperties": obj(type={"type": "string"})})
    branches = [obj(a={"type": "string"}), {"required": ["a"]}]
    schema = obj(spec={
        **obj(
            params={"type": "array", "items": param},
            tuple={"type": "array", "items": [obj(a={"type": "string"})]},
            byPattern={"type": "object", "patternProperties": {"^a": obj(a={"type": "string"})}},
            choice={"type": "object", "oneOf": copy.deepcopy(branches), "anyOf": copy.deepcopy(branches),
                    "allOf": copy.deepcopy(branches), "not": obj(b={"type": "string"})},
            example={"type": "object", "default": {"properties": {"x": 1}}, "example": {"format": "int-or-string"}},
        ),
    })
    spec = convert_one(schema)["properties"]["spec"]["properties"]
    item = spec["params"]["items"]
    assert item["additionalProperties"] is False
    # A field named `properties` is a field: the field map gets no bogus `additionalProperties` field,
    # and the field's own schema (a map, no `properties` keyword) gets nothing added.
    assert list(item["properties"]) == ["name", "properties"]
    assert item["properties"]["properties"]["additionalProperties"]["additionalProperties"] is False
    assert item["properties"]["properties"] == {
        "type": "object", "additionalProperties": {**obj(type={"type": "string"}), "additionalProperties": False}}
    assert spec["tuple"]["items"][0]["additionalProperties"] is False
    assert spec["byPattern"]["patternProperties"]["^a"]["additionalProperties"] is False
    assert spec["choice"] == schema["properties"]["spec"]["properties"]["choice"]  # branches as published
    assert spec["example"] == schema["properties"]["spec"]["properties"]["example"]  # values are not schemas


def test_format_int_or_string_becomes_one_of_string_or_integer() -> None:
    port = {"type": "string", "format": "int-or-string", "description": "Port.", "pattern": "^[0-9]+$",
            "x-kubernetes-int-or-string": True, "x-kubernetes-validations": [{"rule": "self != ''"}]}
    converted = convert_one(obj(spec=obj(port=port, ports={"type": "array", "items": dict(port)})))
    spec = converted["properties"]["spec"]["properties"]
    expected = {"description": "Port.", "x-kubernetes-int-or-string": True,
                "x-kubernetes-validations": [{"rule": "self != ''"}], "oneOf": INT_OR_STRING}
    assert spec["port"] == expected
    assert spec["ports"]["items"] == expected
    assert jsonschema_rs.is_valid(converted, {"spec": {"port": 8080, "ports": ["http", 1]}})
    assert not jsonschema_rs.is_valid(converted, {"spec": {"port": 1.5}})


def test_x_kubernetes_int_or_string_without_a_type_gets_one_of() -> None:
    controller_gen = {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
    typed = {"type": "string", "x-kubernetes-int-or-string": True}
    bare = {"x-kubernetes-int-or-string": True, "description": "A count."}
    spec = convert_one(obj(spec=obj(a=controller_gen, b=typed, c=bare)))["properties"]["spec"]["properties"]
    assert spec["a"] == controller_gen
    assert spec["b"] == typed
    assert spec["c"] == {**bare, "oneOf": INT_OR_STRING}
    assert list(spec["c"]) == ["x-kubernetes-int-or-string", "description", "oneOf"]


def test_versions_not_served_are_skipped_and_the_rest_keep_their_order() -> None:
    documents = [crd(version("v1beta1", obj(spec=obj())), version("v1alpha1", obj(), served=False),
                     version("v1", obj(spec=obj(a={"type": "string"}))), kind="BigWidget")]
    imported = convert_crd_documents(documents, "test.yaml")
    assert [item.version for item in imported] == ["v1beta1", "v1"]
    assert [item.relative_path for item in imported] == ["example.com/bigwidget_v1beta1.json",
                                                         "example.com/bigwidget_v1.json"]
    assert imported[1] == ImportedSchema("example.com", "BigWidget", "v1", imported[1].schema)
    assert imported[1].schema["properties"]["spec"]["additionalProperties"] is False


def test_legacy_validation_is_used_for_versions_without_a_schema() -> None:
    legacy = crd(version("v1", None), version("v2", obj(spec=obj())))
    legacy["apiVersion"] = "apiextensions.k8s.io/v1beta1"
    legacy["spec"]["validation"] = {"openAPIV3Schema": obj(spec=obj(old={"type": "string"}))}
    first, second = convert_crd_documents([legacy], "test.yaml")
    assert "old" in first.schema["properties"]["spec"]["properties"]
    assert second.schema["properties"]["spec"]["properties"] == {}

    single = copy.deepcopy(legacy)
    del single["spec"]["versions"]
    single["spec"]["version"] = "v1beta1"
    [only] = convert_crd_documents([single], "test.yaml")
    assert only.version == "v1beta1"


def test_lists_are_opened_and_other_documents_skipped() -> None:
    text = textwrap.dedent("""\
        # exported with oc get crd -o yaml
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: not-a-crd}
        ---
        ---
        plain text
        ---
        apiVersion: v1
        kind: List
        items:
        - %s
        - %s
        """) % (json.dumps(crd(version("v1", obj(spec=obj())))),
                json.dumps(crd(version("v2", obj()), group="other.example.org", kind="Gadget")))
    imported = load_crd_text(text, "list.yaml")
    assert [item.relative_path for item in imported] == [
        "example.com/widget_v1.json", "other.example.org/gadget_v2.json"]
    assert load_crd_text("apiVersion: v1\nkind: ConfigMap\n", "cm.yaml") == []
    assert load_crd_text("", "empty.yaml") == []


def test_input_documents_are_not_changed() -> None:
    spec = obj(port={"format": "int-or-string"}, n={"x-kubernetes-int-or-string": True})
    documents = [crd(version("v1", obj(spec=spec)))]
    before = copy.deepcopy(documents)
    convert_crd_documents(documents, "test.yaml")
    assert documents == before


@pytest.mark.parametrize("loader", sorted({yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)}, key=str))
def test_malformed_yaml_is_a_usage_error_with_its_line(monkeypatch: pytest.MonkeyPatch, loader: type[Any]) -> None:
    monkeypatch.setattr(crd_import, "_Loader", loader)
    text = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: [a\n  names: x\n"
    with pytest.raises(UsageError) as caught:
        load_crd_text(text, "broken.yaml")
    assert caught.value.file == "broken.yaml"
    assert caught.value.line == 5
    assert caught.value.one_line().startswith(f"broken.yaml:{caught.value.line}: invalid YAML")

    with pytest.raises(UsageError) as tabs:
        load_crd_text("a: 1\n\tb: 2\n", "tabs.yaml")
    assert tabs.value.line == 2

    with pytest.raises(UsageError, match="character #x0007 is not allowed") as control:
        load_crd_text("a: é\nb: 1\nc: \"\x07\"\n", "control.yaml")
    assert control.value.line == 3


@pytest.mark.parametrize("versions", [
    [version("v1", None)],
    [version("v1", obj(), served=False)],
    [],
])
def test_a_crd_without_a_served_schema_is_a_usage_error(versions: list[dict[str, Any]]) -> None:
    with pytest.raises(UsageError) as caught:
        convert_crd_documents([crd(*versions)], "crd.yaml")
    assert caught.value.file == "crd.yaml"
    assert "widgets.example.com" in str(caught.value)
    assert caught.value.one_line().startswith("crd.yaml: ")


@pytest.mark.parametrize(("group", "kind", "name"), [
    ("../../etc", "Widget", "v1"), ("example.com", "../Widget", "v1"), ("example.com", "Widget", "v1/../x"),
    ("Example.COM", "Widget", "v1"),
])
def test_names_that_could_leave_the_output_folder_are_refused(group: str, kind: str, name: str) -> None:
    with pytest.raises(UsageError):
        convert_crd_documents([crd(version(name, obj()), group=group, kind=kind)], "crd.yaml")


def test_alias_bombs_and_recursive_aliases_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crd_import, "MAX_VALUES", 10_000)
    bomb = textwrap.dedent("""\
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.com}
        x: &a [x, x, x, x, x, x, x, x, x, x]
        y: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
        z: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
        w: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
        spec:
          group: example.com
          names: {kind: Widget}
          versions:
          - name: v1
            served: true
            schema:
              openAPIV3Schema:
                type: object
                default: [*d, *d]
        """)
    with pytest.raises(UsageError, match="more than 10000 values"):
        load_crd_text(bomb, "bomb.yaml")
    recursive = bomb.replace("default: [*d, *d]", "default: &r [*r]")
    with pytest.raises(UsageError, match="deeper than"):
        load_crd_text(recursive, "recursive.yaml")


def test_write_schemas_creates_folders_and_writes_stable_bytes(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"spec": obj(zeta={"type": "string", "description": "é"}, alpha={})}}
    first = convert_crd_documents([crd(version("v1", schema), version("v2", schema))], "a.yaml")
    again = convert_crd_documents([crd(version("v1", schema))], "b.yaml")
    written = write_schemas([*first, *again], tmp_path / "out")
    assert written == [tmp_path / "out/example.com/widget_v1.json", tmp_path / "out/example.com/widget_v2.json"]
    data = written[0].read_bytes()
    assert data.endswith(b"}\n") and not data.endswith(b"\n\n")
    assert data.startswith(b'{\n  "type": "object",\n  "properties": {\n    "spec": {\n')
    assert data.index(b'"zeta"') < data.index(b'"alpha"')  # key order as in the CRD, not sorted
    assert b"\\u00e9" in data  # ASCII output
    assert json.loads(data) == first[0].schema

    second = write_schemas(reversed(first), tmp_path / "again")
    assert {path.name: path.read_bytes() for path in written} == {path.name: path.read_bytes() for path in second}


def test_write_schemas_reports_a_folder_it_cannot_create(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    [imported] = convert_crd_documents([crd(version("v1", obj()))], "a.yaml")
    with pytest.raises(UsageError, match="cannot write"):
        write_schemas([imported], tmp_path / "file")

