"""`policies.objects.first_named` answers as a scan of the list would, from an index it keeps."""

from __future__ import annotations

from typing import Any

from mlops.manifests import Manifest
from mlops.policies.objects import first_named


def runtime(name: Any, namespace: str | None = "ns", marker: str = "") -> Manifest:
    metadata: dict[str, Any] = {"name": name, "annotations": {"marker": marker}}
    if namespace is not None:
        metadata["namespace"] = namespace
    return Manifest({"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime", "metadata": metadata},
                    "dev")


def scan(objects: list[Manifest], kind: str, namespace: str | None, name: object) -> Manifest | None:
    return next((m for m in objects if m.kind == kind and m.name == name and m.namespace == namespace), None)


def test_the_first_of_duplicates_in_list_order_and_misses_as_a_scan_gives_them() -> None:
    objects = [runtime("ovms", marker="first"), runtime("ovms", marker="second"), runtime("vllm", None),
               runtime("ovms", "other")]
    for kind, namespace, name in [("ServingRuntime", "ns", "ovms"), ("ServingRuntime", None, "vllm"),
                                  ("ServingRuntime", "other", "ovms"), ("ServingRuntime", "ns", "vllm"),
                                  ("InferenceService", "ns", "ovms"), ("ServingRuntime", "ns", None),
                                  ("ServingRuntime", "ns", 5), ("ServingRuntime", "ns", {"not": "hashable"})]:
        assert first_named(objects, kind, namespace, name) is scan(objects, kind, namespace, name)
    found = first_named(objects, "ServingRuntime", "ns", "ovms")
    assert found is not None and found.annotations["marker"] == "first"


def test_a_list_that_grew_or_another_list_is_indexed_again() -> None:
    objects = [runtime("ovms")]
    assert first_named(objects, "ServingRuntime", "ns", "vllm") is None
    objects.append(runtime("vllm"))
    assert first_named(objects, "ServingRuntime", "ns", "vllm") is objects[1]
    other = [runtime("vllm", marker="other")]
    assert first_named(other, "ServingRuntime", "ns", "vllm") is other[0]
    assert first_named(objects, "ServingRuntime", "ns", "vllm") is objects[1]
