"""The OpenShift AI 3.x dashboard only shows objects that carry its labels and annotations.

The dashboard lists projects, workbenches, connections and model servers with label selectors
(`opendatahub.io/dashboard=true`) and reads display names, image selections, connection types and
the serving protocol from annotations (odh-dashboard `frontend/src/api/k8s/*`, `connectionTypeUtils`).
An object created from Git without them runs, but is invisible or broken in the dashboard: data
scientists cannot find, stop, edit or attach it, and they re-create it by hand next to the GitOps one.
Warnings in development, errors in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .objects import CONNECTIONS_ANNOTATION, KSERVE_GROUP, dig, is_kind, mapping, namespace_of, parse_connections

DASHBOARD_LABEL = "opendatahub.io/dashboard"
DISPLAY_NAME = "openshift.io/display-name"
MANAGED_LABEL = "opendatahub.io/managed"
#: The dashboard's connection type name (`s3`, `uri-v1`, `oci-v1`); it lists connections by it.
CONNECTION_TYPE_REF = "opendatahub.io/connection-type-ref"
#: The storage type odh-model-controller copies into KServe's storage-config (`s3`); the dashboard
#: writes it for S3 connections and offers only those for model serving.
CONNECTION_TYPE = "opendatahub.io/connection-type"
#: The protocol odh-model-controller's connection webhook reads first (`s3`, `uri`, `oci`).
CONNECTION_TYPE_PROTOCOL = "opendatahub.io/connection-type-protocol"
INJECT_AUTH = "notebooks.opendatahub.io/inject-auth"
INJECT_OAUTH = "notebooks.opendatahub.io/inject-oauth"
LAST_IMAGE = "notebooks.opendatahub.io/last-image-selection"
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
#: Deployment modes of the 3.x dashboard (KServe renamed RawDeployment to Standard).
DEPLOYMENT_MODES = ("RawDeployment", "Standard")
API_PROTOCOLS = ("REST", "gRPC")


@dataclass(frozen=True)
class Metadata:
    """Labels and annotations the dashboard will see, and where they are written in the object."""

    labels: dict[str, Any]
    annotations: dict[str, Any]
    path: str  # dotted path of the metadata block (`metadata`, `spec.target.template.metadata`)


def _missing(manifest: Manifest, meta: Metadata, what: str, kind: str, key: str,
             expected: str | None = None, allowed: tuple[str, ...] = (), alternative: str | None = None,
             ) -> Violation | None:
    """A violation when a label/annotation is missing or (with `expected`/`allowed`) has another value."""
    values = meta.labels if kind == "label" else meta.annotations
    path = f"{meta.path}.{'labels' if kind == 'label' else 'annotations'}.{key}"
    value = values.get(key)
    shown = f"{key}: \"{expected}\"" if expected is not None else key
    if alternative:
        shown += f" (or {alternative})"
    if value is None or (isinstance(value, str) and not value.strip() and expected is None and not allowed):
        return Violation(f"{what} lacks the {kind} {shown}; the OpenShift AI dashboard does not show it properly",
                         manifest, path, fix=f"add the {kind} {shown} under {meta.path}")
    if expected is not None and str(value) != expected:
        return Violation(f"{what} has the {kind} {key}: {value!r}, the dashboard expects \"{expected}\"",
                         manifest, path, fix=f"set the {kind} {key}: \"{expected}\"")
    if allowed and str(value) not in allowed:
        return Violation(f"{what} has the {kind} {key}: {value!r}; the 3.x dashboard knows {' or '.join(allowed)}",
                         manifest, path, fix=f"set the {kind} {key} to {' or '.join(allowed)}")
    return None


def _own(manifest: Manifest) -> Metadata:
    return Metadata(manifest.labels, manifest.annotations, "metadata")


# --- dashboard-project -----------------------------------------------------------------------------


#: Kinds that make a namespace a data science project: the dashboard shows them inside one.
PROJECT_WORKLOADS = (("Notebook", "kubeflow.org"), ("InferenceService", KSERVE_GROUP),
                     ("ServingRuntime", KSERVE_GROUP), ("DataSciencePipelinesApplication",
                                                        "datasciencepipelinesapplications.opendatahub.io"))


def _project_namespaces(context: PolicyContext) -> set[str]:
    """Namespaces the repository marks as data science projects.

    An environment's namespace (mlops.yaml), a namespace that holds workbenches, model servers or a
    pipeline server, or one that already carries the dashboard label. Operator and platform
    namespaces are none of these, and the dashboard never lists them.
    """
    found = {env.namespace for env in context.config.environments if env.namespace}
    for manifest in context.objects(Scope.DEPLOYED):
        if any(is_kind(manifest, kind, group) for kind, group in PROJECT_WORKLOADS):
            namespace = namespace_of(context, manifest)
            if namespace:
                found.add(namespace)
        elif is_kind(manifest, "Namespace", "") and DASHBOARD_LABEL in manifest.labels:
            found.add(manifest.name)
    return found


def _check_project(context: PolicyContext) -> Iterator[Violation]:
    projects = _project_namespaces(context)
    for namespace in context.objects(Scope.DEPLOYED):
        if not is_kind(namespace, "Namespace", "") or namespace.name not in projects:
            continue
        meta, what = _own(namespace), f"Namespace {namespace.name}"
        for found in (_missing(namespace, meta, what, "label", DASHBOARD_LABEL, "true"),
                      _missing(namespace, meta, what, "annotation", DISPLAY_NAME)):
            if found:
                yield found


# --- dashboard-workbench ---------------------------------------------------------------------------


def _check_workbench(context: PolicyContext) -> Iterator[Violation]:
    for notebook in context.objects(Scope.DEPLOYED):
        if not is_kind(notebook, "Notebook", "kubeflow.org"):
            continue
        meta, what = _own(notebook), f"Notebook {notebook.name}"
        checks = [
            _missing(notebook, meta, what, "label", "app", notebook.name),
            _missing(notebook, meta, what, "label", DASHBOARD_LABEL, "true"),
            _missing(notebook, meta, what, "label", "opendatahub.io/odh-managed", "true"),
            _missing(notebook, meta, what, "annotation", DISPLAY_NAME),
            _missing(notebook, meta, what, "annotation", LAST_IMAGE),
        ]
        oauth = INJECT_OAUTH in notebook.annotations
        if INJECT_AUTH in notebook.annotations or not oauth:
            checks.append(_missing(notebook, meta, what, "annotation", INJECT_AUTH, "true"))
        yield from (found for found in checks if found)
        if oauth:
            yield Violation(
                f"{what} carries {INJECT_OAUTH}, the OpenShift AI 2.x oauth-proxy switch; 3.x puts kube-rbac-proxy "
                f"in front of workbenches with {INJECT_AUTH}: \"true\"", notebook,
                f"metadata.annotations.{INJECT_OAUTH}",
                fix=f"replace {INJECT_OAUTH} with {INJECT_AUTH}: \"true\" (and drop oauth-proxy settings)")


# --- dashboard-connection --------------------------------------------------------------------------


def connection_metadata(manifest: Manifest) -> Metadata | None:
    """What the Secret will carry: its own metadata, or what an ExternalSecret/SealedSecret writes."""
    if is_kind(manifest, "Secret", ""):
        return _own(manifest)
    if is_kind(manifest, "ExternalSecret", "external-secrets.io"):
        template = dig(manifest.data, "spec", "target", "template")
        if not isinstance(template, dict):  # without a template ESO copies the ExternalSecret's own metadata
            return _own(manifest)
        metadata = mapping(template.get("metadata"))
        return Metadata(mapping(metadata.get("labels")), mapping(metadata.get("annotations")),
                        "spec.target.template.metadata")
    if is_kind(manifest, "SealedSecret", "bitnami.com"):
        metadata = mapping(dig(manifest.data, "spec", "template", "metadata"))
        return Metadata(mapping(metadata.get("labels")), mapping(metadata.get("annotations")),
                        "spec.template.metadata")
    return None


def secret_name(manifest: Manifest) -> str:
    if manifest.kind == "ExternalSecret":
        return str(dig(manifest.data, "spec", "target", "name") or manifest.name)
    if manifest.kind == "SealedSecret":
        return str(dig(manifest.data, "spec", "template", "metadata", "name") or manifest.name)
    return manifest.name


def connection_type(meta: Metadata) -> str | None:
    """The storage protocol a connection declares (`s3`, `uri`, `oci`), from any of its three annotations."""
    for key in (CONNECTION_TYPE_PROTOCOL, CONNECTION_TYPE, CONNECTION_TYPE_REF):
        value = meta.annotations.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().removesuffix("-v1")
    return None


def _referenced_connections(context: PolicyContext, objects: list[Manifest]) -> dict[tuple[str | None, str], str]:
    """(namespace, Secret) -> who uses it as a connection (Notebook/InferenceService/pipeline server)."""
    used: dict[tuple[str | None, str], str] = {}
    for manifest in objects:
        namespace = namespace_of(context, manifest)
        if is_kind(manifest, "Notebook", "kubeflow.org") or is_kind(manifest, "InferenceService", KSERVE_GROUP):
            for key in parse_connections(manifest.annotations.get(CONNECTIONS_ANNOTATION), namespace):
                used.setdefault(key, f"{manifest.kind} {manifest.name}")
        if is_kind(manifest, "InferenceService", KSERVE_GROUP):
            storage_key = dig(manifest.data, "spec", "predictor", "model", "storage", "key")
            if isinstance(storage_key, str) and storage_key:
                used.setdefault((namespace, storage_key), f"InferenceService {manifest.name}")
        if manifest.kind == "DataSciencePipelinesApplication":
            secret = dig(manifest.data, "spec", "objectStorage", "externalStorage", "s3CredentialsSecret", "secretName")
            if isinstance(secret, str) and secret:
                used.setdefault((namespace, secret), f"DataSciencePipelinesApplication {manifest.name}")
    return used


def _check_connection(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.DEPLOYED):
        objects = context.manifests[target.name]
        used = _referenced_connections(context, objects)
        for manifest in objects:
            meta = connection_metadata(manifest)
            if meta is None:
                continue
            name = secret_name(manifest)
            user = used.get((namespace_of(context, manifest), name))
            typed = CONNECTION_TYPE_REF in meta.annotations or CONNECTION_TYPE in meta.annotations
            if not typed and user is None:
                continue  # an ordinary Secret
            what = (f"Secret {name}" if manifest.kind == "Secret"
                    else f"{manifest.kind} {manifest.name} (creates Secret {name})")
            if user is not None:
                what += f", a connection of {user},"
            checks = [
                _missing(manifest, meta, what, "label", DASHBOARD_LABEL, "true"),
                None if typed else _missing(manifest, meta, what, "annotation", CONNECTION_TYPE_REF,
                                            alternative=CONNECTION_TYPE),
                _missing(manifest, meta, what, "annotation", DISPLAY_NAME),
            ]
            if connection_type(meta) == "s3":
                # odh-dashboard packages/k8s-core/src/connectionTypeUtils.ts (isModelServingCompatible):
                # an S3 connection is offered for model serving only with both of these; the
                # connection-type-ref alone lists it, but not as a place to serve models from.
                checks += [_missing(manifest, meta, what, "annotation", CONNECTION_TYPE, "s3"),
                           _missing(manifest, meta, what, "label", MANAGED_LABEL, "true")]
            yield from (found for found in checks if found)


# --- dashboard-model-server ------------------------------------------------------------------------


def _check_model_server(context: PolicyContext) -> Iterator[Violation]:
    for manifest in context.objects(Scope.DEPLOYED):
        if manifest.group != KSERVE_GROUP:
            continue
        meta, what = _own(manifest), f"{manifest.kind} {manifest.name}"
        checks: list[Violation | None]
        if manifest.kind == "InferenceService":
            checks = [
                _missing(manifest, meta, what, "label", DASHBOARD_LABEL, "true"),
                _missing(manifest, meta, what, "annotation", DISPLAY_NAME),
                _missing(manifest, meta, what, "annotation", DEPLOYMENT_MODE, allowed=DEPLOYMENT_MODES),
            ]
        elif manifest.kind == "ServingRuntime":
            display = "opendatahub.io/template-display-name"
            checks = [
                _missing(manifest, meta, what, "label", DASHBOARD_LABEL, "true"),
                _missing(manifest, meta, what, "annotation", "opendatahub.io/apiProtocol", allowed=API_PROTOCOLS),
                None if DISPLAY_NAME in meta.annotations else _missing(manifest, meta, what, "annotation", display,
                                                                       alternative=DISPLAY_NAME),
            ]
        else:
            continue
        yield from (found for found in checks if found)


_SEVERITY = " Warning before production, error in production."

RULES: list[Rule] = [
    Rule(
        id="dashboard-project",
        summary="Project namespaces carry the dashboard label and a display name",
        explanation=(
            "The dashboard lists only namespaces labelled `opendatahub.io/dashboard: \"true\"` as data science "
            "projects, and shows `openshift.io/display-name` as their name. An environment's namespace without "
            "them is invisible: its workbenches, connections and models cannot be managed from the dashboard."
            + _SEVERITY
        ),
        fix="add label opendatahub.io/dashboard: \"true\" and annotation openshift.io/display-name to the Namespace",
        check=_check_project,
        scope=Scope.DEPLOYED,
        escalates_to_production=True,
    ),
    Rule(
        id="dashboard-workbench",
        summary="Notebooks carry the labels and annotations the dashboard gives workbenches",
        explanation=(
            "The dashboard lists workbenches by `opendatahub.io/dashboard: \"true\"` and "
            "`opendatahub.io/odh-managed: \"true\"`, links them by `app: <name>`, shows "
            "`openshift.io/display-name`, and matches the image by `notebooks.opendatahub.io/last-image-"
            "selection` (`<imagestream>:<tag>`). In 3.x `notebooks.opendatahub.io/inject-auth: \"true\"` puts "
            "kube-rbac-proxy in front of Jupyter; the 2.x `inject-oauth` annotation is a leftover that 3.x "
            "ignores, leaving the workbench without its auth proxy route." + _SEVERITY
        ),
        fix="shape the Notebook like one the dashboard creates (labels app, opendatahub.io/dashboard, "
            "opendatahub.io/odh-managed; annotations display-name, last-image-selection, inject-auth)",
        check=_check_workbench,
        scope=Scope.DEPLOYED,
        escalates_to_production=True,
    ),
    Rule(
        id="dashboard-connection",
        summary="Connection Secrets (and ExternalSecret/SealedSecret templates) carry the dashboard's metadata",
        explanation=(
            "The dashboard lists connections with the label `opendatahub.io/dashboard: \"true\"`, recognises "
            "them by `opendatahub.io/connection-type-ref` (or `opendatahub.io/connection-type`) and shows "
            "`openshift.io/display-name`. It offers an S3 connection for model serving only when it also carries "
            "`opendatahub.io/connection-type: s3` and the label `opendatahub.io/managed: \"true\"`, as the "
            "connections it creates do (odh-dashboard `packages/k8s-core/src/connectionTypeUtils.ts`); with the "
            "type reference alone it is listed, but not offered where models are deployed. A Secret is a "
            "connection when it has a connection-type annotation, or when a Notebook or InferenceService names it"
            " in `opendatahub.io/connections`, an InferenceService in `storage.key`, or a pipeline server as "
            "`s3CredentialsSecret`. For an ExternalSecret the metadata that counts is "
            "`spec.target.template.metadata` (the ExternalSecret's own when it has no template), for a "
            "SealedSecret `spec.template.metadata`."
            + _SEVERITY
        ),
        fix="add label opendatahub.io/dashboard: \"true\" and annotations opendatahub.io/connection-type-ref "
            "(e.g. s3) and openshift.io/display-name to the Secret (or its template); for S3 also "
            "opendatahub.io/connection-type: s3 and the label opendatahub.io/managed: \"true\"",
        check=_check_connection,
        scope=Scope.DEPLOYED,
        escalates_to_production=True,
    ),
    Rule(
        id="dashboard-model-server",
        summary="InferenceServices and ServingRuntimes carry the dashboard's labels and annotations",
        explanation=(
            "The dashboard lists deployed models by `opendatahub.io/dashboard: \"true\"`, shows "
            "`openshift.io/display-name`, and reads `serving.kserve.io/deploymentMode` (3.x knows "
            "`RawDeployment` and `Standard`; `Serverless` and `ModelMesh` are gone). It shows a model's "
            "serving runtime by the ServingRuntime's label `opendatahub.io/dashboard: \"true\"`, its "
            "`opendatahub.io/apiProtocol` (REST or gRPC) and its `opendatahub.io/template-display-name` or "
            "`openshift.io/display-name`. Without them the model is missing from the dashboard, or shown "
            "without runtime and endpoint." + _SEVERITY
        ),
        fix="add the dashboard label and the display-name/deploymentMode (InferenceService) or "
            "apiProtocol/template-display-name (ServingRuntime) annotations",
        check=_check_model_server,
        scope=Scope.DEPLOYED,
        escalates_to_production=True,
    ),
]
