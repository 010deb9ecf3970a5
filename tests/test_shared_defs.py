"""The built-in catalog writes repeated subschemas once: that must change nothing a validator sees."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs
import pytest

from mlops.schemas.builtin import builtin_catalog
from mlops.schemas.shared_defs import DEFS, MIN_SHARED_BYTES, REF, expand, follow, share_repeated
from mlops.schemas.store import _to_errors

CATALOG = builtin_catalog()
ENTRIES = sorted(CATALOG.entries(), key=lambda entry: entry.path.as_posix())


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value[REF]] if isinstance(value.get(REF), str) else []
        return found + [ref for item in value.values() for ref in _references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item)]
    return []


@pytest.mark.slow  # 114 schemas, 15 s
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.path.name)
def test_every_catalog_schema_is_the_shared_form_of_its_expansion(entry: Any) -> None:
    shipped = CATALOG.load(entry)
    written_out = expand(shipped)
    assert DEFS not in written_out and not _references(written_out)
    assert share_repeated(written_out) == shipped  # regenerating gives the same bytes
    for ref in _references(shipped):
        assert ref.removeprefix(f"#/{DEFS}/") in shipped[DEFS]


def test_the_big_kinds_are_shared() -> None:
    isvc = next(e for e in ENTRIES if e.group == "serving.kserve.io" and e.kind == "inferenceservice")
    shipped = CATALOG.load(isvc)
    assert len(shipped[DEFS]) >= 5
    assert len(str(shipped)) * 2 < len(str(expand(shipped)))


def _container(**extra: Any) -> dict[str, Any]:
    return {"name": "kserve-container", "image": "quay.io/x/y@sha256:" + "a" * 64, **extra}


def _isvc(predictor: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "fraud", "namespace": "ml"}, "spec": {"predictor": predictor}}


#: Objects that pass and objects that fail inside the shared parts (containers, volumes, probes).
ISVC_CASES = [
    _isvc({"model": {"modelFormat": {"name": "onnx"}, "storageUri": "s3://b/m"}, "minReplicas": 1}),
    _isvc({"containers": [_container(ports=[{"containerPort": "8080"}])]}),
    _isvc({"containers": [_container(resources={"limits": {"cpu": {"bad": 1}}})]}),
    _isvc({"containers": [_container(readinessProbe={"httpGet": {"port": 8080}, "periodSeconds": "often"})]}),
    _isvc({"model": {"modelFormat": {"name": "onnx"}}, "volumes": [{"name": "v", "emptyDir": {"sizeLimit": []}}]}),
    _isvc({"transformer": {"containers": [{"image": "x"}]}, "model": {"modelFormat": {}}}),
    _isvc({"containers": [_container(env=[{"name": 1, "valueFrom": {"secretKeyRef": {"key": []}}}])]}),
]


def _errors(schema: dict[str, Any], instance: dict[str, Any]) -> list[tuple[str, str]]:
    validator = jsonschema_rs.validator_for(schema)
    return sorted((e.path, e.message) for error in validator.iter_errors(instance) for e in _to_errors(error, ()))


@pytest.mark.parametrize("instance", ISVC_CASES)
def test_shared_and_written_out_schemas_report_the_same_errors(instance: dict[str, Any]) -> None:
    isvc = next(e for e in ENTRIES if e.group == "serving.kserve.io" and e.kind == "inferenceservice")
    shipped = CATALOG.load(isvc)
    assert _errors(shipped, instance) == _errors(expand(shipped), instance)


def test_the_cases_reach_the_shared_parts() -> None:
    isvc = next(e for e in ENTRIES if e.group == "serving.kserve.io" and e.kind == "inferenceservice")
    shipped = CATALOG.load(isvc)
    failing = [instance for instance in ISVC_CASES if _errors(shipped, instance)]
    assert len(failing) == len(ISVC_CASES) - 1  # all but the first are broken


def test_small_or_single_subschemas_stay_in_place() -> None:
    big = {"type": "object", "properties": {f"f{i}": {"type": "string", "enum": ["x" * 50]} for i in range(80)}}
    schema = {"type": "object", "properties": {"only": copy.deepcopy(big), "small": {"type": "integer"},
                                               "tiny": {"type": "integer"}}}
    assert share_repeated(schema) == schema  # `big` occurs once, the integers are small
    twice = {"type": "object", "properties": {"a": copy.deepcopy(big), "b": {"type": "array", "items": big}}}
    shared = share_repeated(twice)
    assert len(str(big)) > MIN_SHARED_BYTES
    assert shared["properties"]["a"] == shared["properties"]["b"]["items"] == {REF: _references(shared)[0]}
    assert expand(shared) == twice
    assert twice["properties"]["a"] == big  # the input is not changed


def test_schemas_with_references_or_ids_are_left_alone() -> None:
    big = {"type": "object", "properties": {f"f{i}": {"type": "string", "enum": ["x" * 50]} for i in range(80)}}
    for extra in ({"$id": "https://example.com/s"}, {"definitions": {"d": {"type": "string"}}, "x": {REF: "#/d"}}):
        schema = {"type": "object", "properties": {"a": big, "b": big}, **extra}
        assert share_repeated(schema) is schema


def test_code_that_walks_a_schema_by_hand_follows_the_shared_parts() -> None:
    big = {"type": "object", "properties": {f"f{i}": {"type": "string", "enum": ["x" * 50]} for i in range(80)}}
    shared = share_repeated({"type": "object", "properties": {"a": big, "b": big, "c": {"type": "string"}}})
    assert follow(shared, shared["properties"]["a"]) == big
    assert follow(shared, shared["properties"]["c"]) == {"type": "string"}
    assert follow(shared, None) is None
