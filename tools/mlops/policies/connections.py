"""A connection a model is served from carries what the serving controllers read, not only what the dashboard lists.

An InferenceService names its S3 connection (`opendatahub.io/connections`, or `storage.key`).
Two controllers act on that Secret, and neither reads `opendatahub.io/connection-type-ref`:

- odh-model-controller's connection webhook resolves the connection's protocol from
  `opendatahub.io/connection-type-protocol` first; `-ref` is only its deprecated fallback
  (`internal/webhook/connectionapi/utils.go`, `annotations.go`). For S3 it then sets the
  predictor's `storage.key` to the Secret (`internal/webhook/serving/v1beta1/inferenceservice_webhook.go`).
- odh-model-controller's Secret controller builds KServe's `storage-config` from the Secrets labelled
  `opendatahub.io/dashboard: "true"` and `opendatahub.io/managed: "true"`, taking each entry's
  `type` from `opendatahub.io/connection-type` (`internal/controller/core/secret_controller.go`).
  With no type the KServe storage initializer cannot tell how to download the model, and the
  predictor pods are never created; without the labels there is no entry at all.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .dashboard import (
    CONNECTION_TYPE,
    CONNECTION_TYPE_PROTOCOL,
    DASHBOARD_LABEL,
    MANAGED_LABEL,
    connection_metadata,
    connection_type,
    secret_name,
)
from .objects import (
    CONNECTIONS_ANNOTATION,
    KSERVE_GROUP,
    dig,
    is_kind,
    namespace_of,
    parse_connections,
    secret_providers,
)


def _serving_connections(context: PolicyContext, isvc: Manifest) -> Iterator[tuple[str | None, str]]:
    namespace = namespace_of(context, isvc)
    yield from parse_connections(isvc.annotations.get(CONNECTIONS_ANNOTATION), namespace)
    key = dig(isvc.data, "spec", "predictor", "model", "storage", "key")
    if isinstance(key, str) and key:
        yield namespace, key


def _check_storage_type(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.DEPLOYED):
        objects = context.manifests[target.name]
        providers = secret_providers(context, objects)
        reported: set[int] = set()
        for isvc in objects:
            if not is_kind(isvc, "InferenceService", KSERVE_GROUP):
                continue
            uri = str(dig(isvc.data, "spec", "predictor", "model", "storageUri") or "")
            for connection in _serving_connections(context, isvc):
                provider = providers.get(connection)
                meta = connection_metadata(provider) if provider is not None else None
                if provider is None or meta is None or id(provider) in reported:
                    continue  # a missing connection is isvc-storage-exists' finding
                declared = connection_type(meta)
                if declared != "s3" and not (declared is None and uri.startswith("s3://")):
                    continue  # URI and OCI connections do not go through storage-config
                reported.add(id(provider))
                name = secret_name(provider)
                what = (f"Secret {name}" if provider.kind == "Secret"
                        else f"{provider.kind} {provider.name} (creates Secret {name})")
                what += f", the S3 connection of InferenceService {isvc.name},"
                for kind, key, expected, consequence in _REQUIRED:
                    value = (meta.labels if kind == "label" else meta.annotations).get(key)
                    if value is not None and str(value) == expected:
                        continue
                    wrong = f"lacks the {kind}" if value is None else f"has {key}: {value!r}, not the {kind}"
                    yield Violation(f"{what} {wrong} {key}: \"{expected}\": {consequence}", provider,
                                    f"{meta.path}.{kind}s.{key}", fix=f"set the {kind} {key}: \"{expected}\" under "
                                                                     f"{meta.path}")


_LEFT_OUT = "odh-model-controller leaves it out of KServe's storage-config, so the model is never downloaded"
#: (label or annotation, key, value, what happens without it)
_REQUIRED = (
    ("annotation", CONNECTION_TYPE, "s3", "odh-model-controller writes no storage type for it into KServe's "
                                          "storage-config, so the model's predictor pods are never created"),
    ("annotation", CONNECTION_TYPE_PROTOCOL, "s3", "odh-model-controller's connection webhook falls back to the "
                                                   "deprecated opendatahub.io/connection-type-ref"),
    ("label", DASHBOARD_LABEL, "true", _LEFT_OUT),
    ("label", MANAGED_LABEL, "true", _LEFT_OUT),
)


RULES: list[Rule] = [
    Rule(
        id="connection-storage-type",
        summary="The S3 connection of an InferenceService carries connection-type, connection-type-protocol and "
                "the managed label",
        explanation=(
            "OpenShift AI serves a model from an S3 connection only when its Secret (or the template of the "
            "ExternalSecret/SealedSecret that creates it) carries `opendatahub.io/connection-type: s3` (the "
            "storage type odh-model-controller copies into KServe's `storage-config`: without it the storage "
            "initializer cannot determine the storage type and the predictor pods are never created), the "
            "labels `opendatahub.io/dashboard: \"true\"` and `opendatahub.io/managed: \"true\"` (only such "
            "Secrets enter `storage-config`), and `opendatahub.io/connection-type-protocol: s3` (what the "
            "connection webhook reads; `opendatahub.io/connection-type-ref` is its deprecated fallback). The "
            "dashboard writes `-ref` and `connection-type` itself; `-ref` alone lists the connection but serves "
            "nothing. Sources: odh-model-controller `internal/controller/core/secret_controller.go`, "
            "`internal/webhook/connectionapi/utils.go`. Connections of URI and OCI type are not checked."
        ),
        fix="add opendatahub.io/connection-type: s3, opendatahub.io/connection-type-protocol: s3 and the labels "
            "opendatahub.io/dashboard: \"true\", opendatahub.io/managed: \"true\" to the connection's metadata",
        check=_check_storage_type,
        scope=Scope.DEPLOYED,
    ),
]
