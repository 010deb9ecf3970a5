"""The Argo CD application controller may write every object its Applications sync.

Argo CD applies objects as its application controller's ServiceAccount, `<instance>-argocd-
application-controller` in the instance's namespace. OpenShift GitOps gives the default instance
(`openshift-gitops`) a ClusterRole that reads everything but writes only a fixed list of API groups
(gitops-operator `controllers/argocd/openshift/openshift.go`, policyRulesForClusterConfig: OLM,
OpenShift config, RBAC, storage, namespaces, PVCs, ConfigMaps, ...), plus the `admin` role in the
namespaces labelled `argocd.argoproj.io/managed-by: <instance namespace>`. The OpenShift AI platform
objects are outside both: a DataScienceCluster, DSCInitialization, Auth (cluster-scoped), a
HardwareProfile in `redhat-ods-applications` or a ModelRegistry in `rhoai-model-registries` fail to
sync with "forbidden" until someone grants more by hand. Declaring the grant in Git makes it
reviewed and reproducible.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from ..manifests import Manifest
from ..yamlsource import load_all_fast
from .argocd_sources import owners
from .base import PolicyContext, Rule, Scope, Violation
from .objects import CLUSTER_SCOPED_KINDS, dig, is_kind, namespace_of, where
from .secrets import repository_texts

RBAC_GROUP = "rbac.authorization.k8s.io"
MANAGED_BY = "argocd.argoproj.io/managed-by"
LOCAL_CONFIG = "config.kubernetes.io/local-config"
#: Verbs a sync needs besides reading (which OpenShift GitOps grants on everything): create, apply
#: (patch; server-side apply), replace (update) and prune (delete).
WRITE_VERBS = frozenset({"create", "update", "patch", "delete"})
#: API group -> resources the default instance may write cluster-wide ("*": all of the group), from
#: gitops-operator's policyRulesForClusterConfig and the argoproj.io rule of its application controller.
DEFAULT_WRITABLE: dict[str, frozenset[str]] = {
    "operators.coreos.com": frozenset({"*"}),
    "operator.openshift.io": frozenset({"*"}),
    "user.openshift.io": frozenset({"*"}),
    "config.openshift.io": frozenset({"*"}),
    "console.openshift.io": frozenset({"*"}),
    "rbac.authorization.k8s.io": frozenset({"*"}),
    "storage.k8s.io": frozenset({"*"}),
    "machine.openshift.io": frozenset({"*"}),
    "machineconfiguration.openshift.io": frozenset({"*"}),
    "compliance.openshift.io": frozenset({"scansettingbindings"}),
    "": frozenset({"namespaces", "persistentvolumeclaims", "persistentvolumes", "configmaps"}),
}
#: Kubernetes' default ClusterRoles a repository binds without declaring them (RBAC bootstrap policy,
#: kubernetes `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`): `cluster-admin` may do
#: everything; `admin` and `edit` write namespaced objects, and every operator's CRD roles aggregate
#: into them through `rbac.authorization.k8s.io/aggregate-to-*` labels the repository does not see, so
#: they count as granting every namespaced object, never a cluster-scoped one. (`cluster-admin`, like any
#: role the repository does not declare, needs no entry: see `_Grant.allows`.)
NAMESPACED_ONLY = frozenset({"admin", "edit"})


def plural(kind: str) -> str:
    """The resource name of a kind, as Kubernetes forms it for CRDs and built-ins alike."""
    lower = kind.lower()
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    return lower + "s"


def controller_account(argocd_namespace: str) -> str:
    """The application controller's ServiceAccount of the instance in `argocd_namespace`.

    OpenShift GitOps names it after the ArgoCD resource; the default instance is `openshift-gitops`
    in the namespace of the same name, and a repository's Applications live in their instance's
    namespace, so the namespace stands for the instance name.
    """
    return f"{argocd_namespace}-argocd-application-controller"


@dataclass(frozen=True)
class _Grant:
    """A role bound to the controller: by a ClusterRoleBinding (`namespace` None) or a RoleBinding."""

    namespace: str | None
    role: Manifest | None  # None: a role the repository binds but does not declare
    role_name: str

    def allows(self, group: str, resource: str, namespace: str | None) -> bool:
        """Whether it lets the controller write `resource` of `group` (`namespace` None: cluster-scoped).

        A role the repository does not render is one of Kubernetes' defaults or one another system
        (an operator, an administrator) keeps on the cluster: what the defaults grant is known, what
        another system's role grants is not, and an unknown grant is not reported as missing.
        """
        if self.namespace is not None and self.namespace != namespace:
            return False
        if self.role is not None:
            return any(_rule_grants(rule, group, resource) for rule in dig(self.role.data, "rules") or [])
        return namespace is not None if self.role_name in NAMESPACED_ONLY else True


def _rule_grants(rule: Any, group: str, resource: str) -> bool:
    if not isinstance(rule, dict):
        return False
    groups, resources = rule.get("apiGroups") or [], rule.get("resources") or []
    verbs = {str(v) for v in rule.get("verbs") or []}
    return (("*" in groups or group in groups) and ("*" in resources or resource in resources)
            and ("*" in verbs or verbs >= WRITE_VERBS))


def _binds_controller(binding: Manifest, account: str, argocd_namespace: str) -> bool:
    for subject in dig(binding.data, "subjects") or []:
        if not isinstance(subject, dict):
            continue
        if subject.get("kind") == "ServiceAccount" and subject.get("name") == account and (
                subject.get("namespace") in (argocd_namespace, None)):
            return True
        if subject.get("kind") == "Group" and subject.get("name") in (
                "system:serviceaccounts", f"system:serviceaccounts:{argocd_namespace}"):
            return True
    return False


def _controller_grants(objects: list[Manifest], account: str, argocd_namespace: str) -> list[_Grant]:
    """Every role bound to the controller of one instance, found once for all the objects it syncs."""
    roles = {(m.kind, m.namespace, m.name): m for m in objects
             if m.group == RBAC_GROUP and m.kind in ("ClusterRole", "Role")}
    grants = []
    for binding in objects:
        if binding.group != RBAC_GROUP or binding.kind not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        if not _binds_controller(binding, account, argocd_namespace):
            continue
        ref_kind, ref_name = dig(binding.data, "roleRef", "kind"), str(dig(binding.data, "roleRef", "name"))
        role = roles.get((str(ref_kind), binding.namespace if ref_kind == "Role" else None, ref_name))
        grants.append(_Grant(binding.namespace if binding.kind == "RoleBinding" else None, role, ref_name))
    return grants


def _bindings_in_files(context: PolicyContext) -> list[Manifest]:
    """Bindings to an Argo CD controller in any YAML file of the repository, rendered or not.

    A bootstrap folder applied by hand often binds the controller (to `cluster-admin`, typically)
    next to a remote base that cannot be rendered offline; the grant is real on the cluster all the
    same, so a binding counts wherever the repository keeps it.
    """
    found: list[Manifest] = []
    for _, name, text in repository_texts(context):
        if "RoleBinding" not in text or "argocd-application-controller" not in text:
            continue
        try:
            documents = load_all_fast(text)
        except yaml.YAMLError:
            continue  # the yaml-syntax check reports it
        found += [Manifest(document, "", file=name) for document in documents
                  if isinstance(document, dict) and document.get("kind") in ("ClusterRoleBinding", "RoleBinding")
                  and str(document.get("apiVersion", "")).startswith(f"{RBAC_GROUP}/")]
    return found


def _writable_by_default(group: str, resource: str) -> bool:
    allowed = DEFAULT_WRITABLE.get(group)
    return allowed is not None and ("*" in allowed or resource in allowed)


def _check_controller_rbac(context: PolicyContext) -> Iterator[Violation]:
    # Grants count wherever the repository renders them: in a synced target, or in a base applied by hand
    # together with the Argo CD objects (as base/argocd is, with `oc apply -k`).
    everything = [manifest for manifests in context.manifests.values() for manifest in manifests]
    everything += _bindings_in_files(context)
    # One cause, one finding: the grant missing for a resource (and, for a namespaced one, a namespace)
    # of one instance, reported at its first object with every object and target it blocks.
    missing: dict[tuple[str, str, str, str | None], list[Manifest]] = {}
    # per instance, the same for every target it syncs: the namespaces it manages and its grants
    instances: dict[str, tuple[set[str], list[_Grant]]] = {}
    for target_name, apps in owners(context).items():
        argocd_namespace = next((str(app.manifest.namespace) for app, _ in apps if app.manifest.namespace), None)
        if argocd_namespace is None:
            continue
        if argocd_namespace not in instances:
            instances[argocd_namespace] = (
                {argocd_namespace} | {m.name for m in everything if is_kind(m, "Namespace", "")
                                      and m.labels.get(MANAGED_BY) == argocd_namespace},
                _controller_grants(everything, controller_account(argocd_namespace), argocd_namespace))
        managed, grants = instances[argocd_namespace]
        # whether the controller may write it depends only on these: hundreds of objects, a few dozen answers
        writable: dict[tuple[str, str, str | None], bool] = {}  # (group, kind, namespace)
        for manifest in context.manifests.get(target_name, []):
            if str(manifest.annotations.get(LOCAL_CONFIG, "")).lower() == "true":
                continue  # read by kustomize, never applied
            cluster_scoped = manifest.kind in CLUSTER_SCOPED_KINDS
            namespace = None if cluster_scoped else namespace_of(context, manifest)
            resource = plural(manifest.kind)
            key = (manifest.group, manifest.kind, namespace)
            if key not in writable:
                writable[key] = ((namespace in managed and not cluster_scoped)
                                 or _writable_by_default(manifest.group, resource)
                                 or any(grant.allows(manifest.group, resource, namespace) for grant in grants))
            if not writable[key]:
                missing.setdefault((argocd_namespace, manifest.group, resource, namespace), []).append(manifest)
    for (argocd_namespace, group, resource, namespace), manifests in missing.items():
        yield _violation(argocd_namespace, group, resource, namespace, manifests)


def _violation(argocd_namespace: str, group: str, resource: str, namespace: str | None,
               manifests: list[Manifest]) -> Violation:
    account = controller_account(argocd_namespace)
    first = manifests[0]
    names = sorted({where(namespace, m.name) for m in manifests})
    targets = sorted({str(m.environment) for m in manifests if m.environment})
    more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
    synced = f", synced by {len(targets)} targets," if len(targets) > 1 else ""
    place = ("is cluster-scoped" if namespace is None
             else f"is in namespace {namespace}, which is not managed by {argocd_namespace}")
    return Violation(
        f"{first.kind} {names[0]}{more}{synced} {place}, and no role of the repository bound to "
        f"{argocd_namespace}/{account} lets the Argo CD application controller write {resource}.{group or 'core'}: "
        "OpenShift GitOps grants the instance only a fixed list of API groups, so the sync fails with \"forbidden\"",
        first, "kind",
        fix=f"declare a ClusterRole with apiGroups [{group!r}], resources [{resource}] and verbs get, list, "
            f"watch, create, update, patch, delete, and a ClusterRoleBinding of it to ServiceAccount "
            f"{account} in {argocd_namespace}"
            + ("" if namespace is None else f" (or a RoleBinding in {namespace}, or label {namespace} "
                                           f"{MANAGED_BY}: {argocd_namespace})"))


RULES: list[Rule] = [
    Rule(
        id="argocd-controller-rbac",
        summary="The Argo CD application controller is granted, in Git, every platform kind it syncs",
        explanation=(
            "Argo CD writes objects as `<instance>-argocd-application-controller`. OpenShift GitOps lets the "
            "default instance read everything but write only some API groups cluster-wide (OLM, OpenShift "
            "configuration, RBAC, storage, namespaces, PersistentVolumeClaims, ConfigMaps: gitops-operator "
            "`controllers/argocd/openshift/openshift.go`), and everything in namespaces labelled "
            "`argocd.argoproj.io/managed-by: <its namespace>`. Every other object an Application of the repository "
            "syncs (a DataScienceCluster, DSCInitialization or Auth; a HardwareProfile in "
            "`redhat-ods-applications`; a ModelRegistry in `rhoai-model-registries`) needs a ClusterRole with "
            "create, update, patch and delete on its resource, bound by a ClusterRoleBinding (or, for a namespaced "
            "object, a RoleBinding in its namespace) to that ServiceAccount, and the repository must render the "
            "binding: Kubernetes' `cluster-admin` grants everything, `admin` and `edit` every namespaced object; a "
            "role the repository binds but does not declare is taken to grant what is needed (it is the "
            "cluster's, and the rule cannot see it). "
            "Otherwise "
            "the sync fails with \"forbidden\", and the grant someone adds by hand is reviewed nowhere. "
            "The instance is taken to be the one named like the Applications' namespace (`openshift-gitops`)."
        ),
        fix="add the resource to the controller's ClusterRole in base/argocd (and bind it to the controller)",
        check=_check_controller_rbac,
        scope=Scope.REPOSITORY,
    ),
]
