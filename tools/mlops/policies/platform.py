"""The OpenShift AI platform objects agree with each other: components, their instances, access, profiles.

The DataScienceCluster switches components on and off; each component acts only on objects of its
own kinds, some need an instance to be useful at all, and the platform's access rules live in a
separate singleton. A fork can get each of these wrong without any schema noticing:

- a component `Managed` with nothing for it to run (model registry: no ModelRegistry in the
  registries namespace, so the dashboard's registry page is empty and nothing can be registered),
  or objects of a component that is `Removed` (no controller reconciles them);
- no `Auth` object in Git: the operator then creates one (admin group `rhods-admins`, every
  authenticated user allowed; opendatahub-operator `internal/controller/dscinitialization/auth.go`)
  that nobody reviewed, or an `Auth` the API server rejects (its CRD validates the name and groups);
- hardware profile visibility values the dashboard no longer knows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..manifests import Manifest
from .argocd_order import RHOAI_PACKAGES
from .base import PolicyContext, Rule, Scope, Violation
from .objects import dig, is_kind, namespace_of, unique_objects, where

DSC_GROUP = "datasciencecluster.opendatahub.io"
AUTH_GROUP = "services.platform.opendatahub.io"
AUTH_NAME = "auth"
REGISTRY_GROUP = "modelregistry.opendatahub.io"
#: RHOAI's default registries namespace (opendatahub-operator `api/components/v1alpha1/modelregistry_types.rhoai.go`).
DEFAULT_REGISTRIES_NAMESPACE = "rhoai-model-registries"
VISIBILITY_ANNOTATION = "opendatahub.io/dashboard-feature-visibility"
#: HardwareProfileFeatureVisibility of odh-dashboard `packages/k8s-core/src/k8sTypes.ts`; `pipelines` was
#: removed in 2025-09 (RHOAIENG-34215).
VISIBILITY_VALUES = ("workbench", "model-serving")
#: DataScienceCluster component -> the (group, kind)s of the objects its controllers reconcile.
COMPONENT_KINDS: dict[str, tuple[tuple[str, str], ...]] = {
    "kserve": (("serving.kserve.io", "InferenceService"), ("serving.kserve.io", "ServingRuntime")),
    "workbenches": (("kubeflow.org", "Notebook"),),
    "aipipelines": (("datasciencepipelinesapplications.opendatahub.io", "DataSciencePipelinesApplication"),),
    "trustyai": (("trustyai.opendatahub.io", "TrustyAIService"),),
    "modelregistry": ((REGISTRY_GROUP, "ModelRegistry"),),
    "ray": (("ray.io", "RayCluster"), ("ray.io", "RayJob")),
    "trainingoperator": (("kubeflow.org", "PyTorchJob"),),
    "feastoperator": (("feast.dev", "FeatureStore"),),
    "llamastackoperator": (("llamastack.io", "LlamaStackDistribution"),),
    "mlflowoperator": (("mlflow.opendatahub.io", "MLflow"),),
}


def _clusters(context: PolicyContext) -> list[Manifest]:
    return unique_objects(context, "DataScienceCluster", DSC_GROUP)


def _state(dsc: Manifest, component: str) -> str | None:
    value = dig(dsc.data, "spec", "components", component, "managementState")
    return str(value) if value is not None else None


# --- rhoai-component-instance ----------------------------------------------------------------------


def _check_instances(context: PolicyContext) -> Iterator[Violation]:
    objects = list(context.objects(Scope.REPOSITORY))
    for dsc in _clusters(context):
        registries = str(dig(dsc.data, "spec", "components", "modelregistry", "registriesNamespace")
                         or DEFAULT_REGISTRIES_NAMESPACE)
        instances = [m for m in objects if is_kind(m, "ModelRegistry", REGISTRY_GROUP)]
        if _state(dsc, "modelregistry") == "Managed":
            if not any(namespace_of(context, m) == registries for m in instances):
                yield Violation(
                    f"DataScienceCluster {dsc.name} sets modelregistry Managed, but no ModelRegistry "
                    f"({REGISTRY_GROUP}) is rendered in its registries namespace {registries}: the operator "
                    "runs, but the dashboard's model registry page lists only registries someone creates there by "
                    "hand, which Git neither reviews nor restores",
                    dsc, "spec.components.modelregistry.managementState",
                    fix=f"declare a ModelRegistry (v1beta1: rest, a database) in namespace {registries}, or set "
                        "modelregistry to Removed")
            for registry in instances:
                if namespace_of(context, registry) != registries:
                    yield Violation(
                        f"ModelRegistry {where(namespace_of(context, registry), registry.name)} is outside the "
                        f"registries namespace {registries} of DataScienceCluster {dsc.name}: the dashboard lists "
                        "registries of that namespace only (odh-dashboard backend/src/routes/api/modelRegistries/"
                        "modelRegistryUtils.ts)", registry, "metadata.namespace",
                        fix=f"create the ModelRegistry in namespace {registries}")
        yield from _removed_components(context, dsc, objects)


def _removed_components(context: PolicyContext, dsc: Manifest, objects: list[Manifest]) -> Iterator[Violation]:
    for component, kinds in COMPONENT_KINDS.items():
        if _state(dsc, component) != "Removed":
            continue
        for group, kind in kinds:
            found = [m for m in objects if is_kind(m, kind, group)]
            by_target: dict[str, list[Manifest]] = {}
            for manifest in found:
                by_target.setdefault(manifest.environment, []).append(manifest)
            for target, items in by_target.items():
                first = items[0]
                more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
                yield Violation(
                    f"{kind} {first.name}{more} is rendered in {target} while DataScienceCluster {dsc.name} sets "
                    f"component {component} to Removed: no controller reconciles it (the component's controller "
                    "is not deployed, and its CRD may be gone), so it never becomes ready",
                    first, "kind",
                    fix=f"set spec.components.{component}.managementState: Managed, or stop rendering {kind}s")


# --- rhoai-auth -------------------------------------------------------------------------------------


def _groups_problem(field_name: str, value: Any) -> str | None:
    """The Auth CRD's validations (services.platform.opendatahub.io_auths.yaml, x-kubernetes-validations)."""
    if not isinstance(value, list):
        return f"{field_name} is not a list"
    if any(not isinstance(group, str) or group == "" for group in value):
        return f"{field_name} holds an empty group"
    if field_name == "adminGroups":
        if not value:
            return "adminGroups is empty"
        if "system:authenticated" in value:
            return "adminGroups contains system:authenticated (every logged-in user would administer the platform)"
    return None


def _installs_openshift_ai(context: PolicyContext) -> bool:
    return any(is_kind(m, "Subscription", "operators.coreos.com") and dig(m.data, "spec", "name") in RHOAI_PACKAGES
               for m in context.objects(Scope.REPOSITORY))


def _check_auth(context: PolicyContext) -> Iterator[Violation]:
    clusters = [m for m in context.objects(Scope.REPOSITORY)
                if is_kind(m, "DataScienceCluster", DSC_GROUP) and m.api_version.endswith("/v2")]
    auths = unique_objects(context, "Auth", AUTH_GROUP)
    if clusters and not auths and _installs_openshift_ai(context):
        dsc = clusters[0]
        yield Violation(
            f"the repository installs OpenShift AI 3.x (DataScienceCluster {dsc.name}) but renders no Auth "
            f"({AUTH_GROUP}/v1alpha1, named {AUTH_NAME!r}): the operator then creates one with admin group "
            "rhods-admins and every authenticated user allowed, and who administers and who may use OpenShift AI "
            "is decided outside Git", dsc, "metadata.name",
            fix=f"declare Auth {AUTH_NAME} (spec.adminGroups, spec.allowedGroups) next to the DataScienceCluster")
    for auth in auths:
        if auth.name != AUTH_NAME:
            yield Violation(f"Auth {auth.name} is not named {AUTH_NAME!r}: the API server rejects it (\"Auth name "
                            f"must be {AUTH_NAME}\") and the operator reads only {AUTH_NAME!r}", auth, "metadata.name",
                            fix=f"name the Auth {AUTH_NAME}")
        for field_name in ("adminGroups", "allowedGroups"):
            value = dig(auth.data, "spec", field_name)
            problem = "spec." + field_name + " is missing" if value is None else _groups_problem(field_name, value)
            if problem:
                yield Violation(f"Auth {auth.name}: {problem}; the API server rejects it, and the sync fails",
                                auth, f"spec.{field_name}",
                                fix="list the administrators' group in adminGroups (never system:authenticated) and "
                                    "the users' groups in allowedGroups, without empty entries")


# --- hardware-profile-visibility -------------------------------------------------------------------


def _check_visibility(context: PolicyContext) -> Iterator[Violation]:
    for profile in unique_objects(context, "HardwareProfile", "infrastructure.opendatahub.io"):
        value = profile.annotations.get(VISIBILITY_ANNOTATION)
        if value is None:
            continue
        path = f"metadata.annotations.{VISIBILITY_ANNOTATION}"
        try:
            parsed = json.loads(str(value))
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
            yield Violation(f"HardwareProfile {profile.name}: {VISIBILITY_ANNOTATION} is {value!r}, not a JSON list "
                            "of strings; the dashboard cannot read where to offer the profile", profile, path,
                            fix="write a JSON list, e.g. '[\"workbench\",\"model-serving\"]'")
            continue
        unknown = [item for item in parsed if item not in VISIBILITY_VALUES]
        known = [item for item in parsed if item in VISIBILITY_VALUES]
        if unknown:
            effect = (f"the profile is offered for {' and '.join(known)} only" if known
                      else "the list names no place the dashboard offers profiles in")
            yield Violation(f"HardwareProfile {profile.name} lists {', '.join(map(repr, unknown))} in "
                            f"{VISIBILITY_ANNOTATION}; the dashboard knows only {' and '.join(VISIBILITY_VALUES)} "
                            f"(it removed pipelines in 2025), so {effect}", profile, path,
                            fix="keep only workbench and model-serving in the list")


RULES: list[Rule] = [
    Rule(
        id="rhoai-component-instance",
        summary="Managed components have their instance, and Removed components have no objects",
        explanation=(
            "A DataScienceCluster component is useful only with the objects it acts on. `modelregistry: Managed` "
            "deploys the model registry operator, but the dashboard's registry page stays empty until a "
            "ModelRegistry (modelregistry.opendatahub.io/v1beta1) exists in the component's `registriesNamespace` "
            "(default `rhoai-model-registries`), the only namespace the dashboard lists registries of. Conversely, "
            "objects of a component set to `Removed` (InferenceServices with kserve Removed, Notebooks with "
            "workbenches Removed, ...) are reconciled by no controller and never become ready. The check looks at "
            "every target together (the platform and the environments)."
        ),
        fix="declare the component's instance, or set the component to Removed and drop its objects",
        check=_check_instances,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="rhoai-auth",
        summary="The platform's Auth (admin and allowed groups) is declared in Git, and valid",
        explanation=(
            "OpenShift AI 3.x reads who administers the platform and who may use it from the cluster-scoped "
            "singleton `Auth` named `auth` (services.platform.opendatahub.io/v1alpha1: `adminGroups`, "
            "`allowedGroups`). When the repository installs the operator (a `rhods-operator` or "
            "`opendatahub-operator` Subscription) and a DataScienceCluster v2 but renders no Auth, the operator "
            "creates a default one (admin group `rhods-admins`, `system:authenticated` allowed; "
            "opendatahub-operator `internal/controller/dscinitialization/auth.go`), and access is decided by "
            "hand. The CRD's own validations are checked too, since the JSON schema does not carry them: the name "
            "must be `auth`, `adminGroups` must be non-empty and must not contain `system:authenticated`, neither "
            "list may hold an empty group."
        ),
        fix="declare Auth auth with adminGroups and allowedGroups in the platform",
        check=_check_auth,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="hardware-profile-visibility",
        summary="Hardware profiles are offered only in places the dashboard knows",
        explanation=(
            f"The dashboard reads `{VISIBILITY_ANNOTATION}` of a HardwareProfile as a JSON list of the features it "
            f"offers the profile in. It knows {' and '.join(f'`{v}`' for v in VISIBILITY_VALUES)} "
            "(odh-dashboard `packages/k8s-core/src/k8sTypes.ts`, HardwareProfileFeatureVisibility); `pipelines` "
            "was removed in 2025 (RHOAIENG-34215). A value outside the list, or text that is not a JSON list, "
            "does not do what the profile's author meant: the dashboard offers the profile only where the "
            "values it knows say."
        ),
        fix="write the annotation as a JSON list of workbench and/or model-serving",
        check=_check_visibility,
        scope=Scope.REPOSITORY,
    ),
]
