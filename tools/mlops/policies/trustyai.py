"""TrustyAI keeps its inference data in a database, and the database credentials exist.

The dashboard creates TrustyAIServices with `storage.format: DATABASE` and
`storage.databaseConfigurations: <Secret>` since 2024-10 (odh-dashboard
`frontend/src/api/trustyai/k8s.ts`, "Support for Trusty DB fields"); `PVC` keeps inference data in
files on one volume. With DATABASE the operator reads the Secret named by `databaseConfigurations`
(or `<name>-db-credentials`) in the service's namespace and refuses to deploy without it or without
any of its keys `databaseKind`, `databaseUsername`, `databasePassword`, `databaseService`,
`databasePort`, `databaseName` (trustyai-service-operator `controllers/tas/secrets.go`). With DATABASE
plus `storage.folder` and `data.filename` it runs a migration from PVC files (`IsMigration`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .objects import dig, is_kind, mapping, namespace_of, secret_providers

TRUSTYAI_GROUP = "trustyai.opendatahub.io"
DB_CREDENTIALS_SUFFIX = "-db-credentials"
DATABASE_KEYS = ("databaseKind", "databaseUsername", "databasePassword", "databaseService", "databasePort",
                 "databaseName")


def _secret_keys(provider: Manifest) -> set[str] | None:
    """Keys the Secret will have, when the object that makes it says so (None: unknown, e.g. dataFrom)."""
    if provider.kind == "Secret":
        return {str(k) for field in ("data", "stringData") for k in mapping(provider.data.get(field))}
    if provider.kind == "SealedSecret":
        return {str(k) for k in mapping(dig(provider.data, "spec", "encryptedData"))}
    template_data = dig(provider.data, "spec", "target", "template", "data")
    if isinstance(template_data, dict):
        return {str(k) for k in template_data}
    if dig(provider.data, "spec", "dataFrom"):
        return None
    return {str(item.get("secretKey")) for item in dig(provider.data, "spec", "data") or [] if isinstance(item, dict)}


def _check_storage(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.DEPLOYED):
        objects = context.manifests[target.name]
        providers = secret_providers(context, objects)
        for service in objects:
            if not is_kind(service, "TrustyAIService", TRUSTYAI_GROUP):
                continue
            storage: dict[str, Any] = mapping(dig(service.data, "spec", "storage"))
            storage_format = str(storage.get("format") or "")
            if storage_format != "DATABASE":
                yield Violation(
                    f"TrustyAIService {service.name} stores inference data as {storage_format or 'an unset format'} "
                    "(files on one PersistentVolumeClaim); since 2024-10 the dashboard creates TrustyAI services "
                    "with storage.format: DATABASE and the credentials Secret in storage.databaseConfigurations",
                    service, "spec.storage.format",
                    fix="set spec.storage.format: DATABASE and spec.storage.databaseConfigurations: <Secret> (keys "
                        + ", ".join(DATABASE_KEYS) + "), and drop storage.folder/size and data")
                continue
            name = str(storage.get("databaseConfigurations") or service.name + DB_CREDENTIALS_SUFFIX)
            namespace = namespace_of(context, service)
            provider = providers.get((namespace, name))
            if provider is None:
                yield Violation(
                    f"TrustyAIService {service.name} keeps its data in a database whose credentials Secret {name!r} "
                    f"is created by nothing in namespace {namespace or '?'} of {target.name}: the operator does not "
                    "deploy the service (\"neither secret ... found\")", service,
                    "spec.storage.databaseConfigurations" if storage.get("databaseConfigurations") else
                    "spec.storage.format",
                    fix=f"create the Secret {name} (an ExternalSecret from the vault) with the keys "
                        + ", ".join(DATABASE_KEYS))
                continue
            keys = _secret_keys(provider)
            missing = [key for key in DATABASE_KEYS if keys is not None and key not in keys]
            if missing:
                yield Violation(
                    f"{provider.kind} {provider.name}, the database credentials of TrustyAIService {service.name}, "
                    f"lacks {', '.join(missing)}: the operator refuses a configuration without them", provider,
                    "spec.target.template.data" if provider.kind == "ExternalSecret" else "data",
                    fix="give the Secret every key: " + ", ".join(DATABASE_KEYS))


RULES: list[Rule] = [
    Rule(
        id="trustyai-storage",
        summary="TrustyAI stores inference data in a database whose credentials Secret exists",
        explanation=(
            "The dashboard creates TrustyAIServices with `storage.format: DATABASE` and "
            "`storage.databaseConfigurations` naming a Secret since 2024-10 (odh-dashboard "
            "`frontend/src/api/trustyai/k8s.ts`); `PVC` keeps inference data in files on one volume. With "
            "DATABASE, trustyai-service-operator reads the Secret named there (default `<name>-db-credentials`) "
            "in the service's namespace and does not deploy the service without it, or without any of "
            + ", ".join(f"`{key}`" for key in DATABASE_KEYS) + " (`controllers/tas/secrets.go`). The Secret may "
            "come from an ExternalSecret or SealedSecret; its keys are checked when the object shows them."
        ),
        fix="storage.format: DATABASE with storage.databaseConfigurations naming an ExternalSecret-made Secret",
        check=_check_storage,
        scope=Scope.DEPLOYED,
    ),
]
