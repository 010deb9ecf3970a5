"""What a policy rule is, and what it is given to look at.

Like yamllint's rules: each rule is a small module-level object with an id, a default severity, a
one-line summary and a longer explanation that ends with the fix. A rule's `check` looks at the
rendered objects of every target and yields `Violation`s; it never decides severity, waivers or
output, which `policies.engine` does the same way for every rule.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..findings import Severity
from ..manifests import Manifest

if TYPE_CHECKING:
    from ..config import Config, Target
    from ..kustomization import KustomizeTree
    from .facts.argocd import ArgoCDFacts


_ARGOCD_FACTS = "base.argocd-facts"


class Scope(enum.Enum):
    """Which rendered targets a rule looks at. Environment names are the user's, so scopes are positions."""

    ALL = "every target"
    ENVIRONMENTS = "every environment"
    DEPLOYED = "every environment (without mlops.yaml environments: every root Argo CD syncs)"
    AFTER_FIRST = "every environment after the first (e.g. test and prod)"
    PRODUCTION = "the last environment (production)"
    REPOSITORY = "the repository as a whole"


@dataclass(frozen=True)
class Violation:
    """One thing a rule found wrong. File and line default to the object's source."""

    message: str
    manifest: Manifest | None = None
    path: str | None = None  # dotted JSON path inside the object
    fix: str | None = None  # overrides the rule's fix for this case
    file: str | None = None
    line: int | None = None
    environment: str | None = None


@dataclass
class PolicyContext:
    """Everything rules may read: settings, every target's objects, the kustomize trees."""

    config: Config
    manifests: Mapping[str, list[Manifest]]
    trees: dict[str, KustomizeTree]
    #: Extra facts a family computes once and shares between its rules (e.g. the model catalog).
    cache: dict[str, object] = field(default_factory=dict)
    #: The Argo CD objects discovery read (no mlops.yaml targets): what Argo CD sees, every copy of
    #: an object kept (per-cluster variants of one ApplicationSet are different objects)
    discovered_argo: list[Manifest] | None = None

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def argocd(self) -> ArgoCDFacts:
        """Applications (ApplicationSets expanded) and the repository's URL, from every target's objects.

        Kept in `cache`, not by `functools.cached_property`: its lock (Python 3.11) would be held
        while the facts wait for targets still rendering, and a rule of another thread asking for
        them then could never let the rendered targets in.
        """
        from .facts.argocd import ArgoCDFacts
        from .objects import unique_objects

        known = self.cache.get(_ARGOCD_FACTS)
        if isinstance(known, ArgoCDFacts):
            return known
        if self.discovered_argo is not None:
            found = self.discovered_argo
            facts = ArgoCDFacts(self.root, [m for m in found if m.kind == "Application"],
                                [m for m in found if m.kind == "ApplicationSet"],
                                [m for m in found if m.kind == "AppProject"], per_home=True)
        else:
            facts = ArgoCDFacts(self.root, _every_copy(self, "Application"), _every_copy(self, "ApplicationSet"),
                                unique_objects(self, "AppProject"))
        self.cache[_ARGOCD_FACTS] = facts
        return facts

    def _in_scope(self, scope: Scope) -> list[Target]:
        """The synced targets of a scope, rendered or not."""
        environments = list(self.config.environments)
        chosen: list[Target]
        if scope is Scope.ALL or scope is Scope.REPOSITORY:
            chosen = list(self.config.all_targets)
        elif scope is Scope.ENVIRONMENTS:
            chosen = environments
        elif scope is Scope.DEPLOYED:
            # without mlops.yaml environments (discovery), every synced root deploys somewhere real
            chosen = environments or list(self.config.targets)
        elif scope is Scope.AFTER_FIRST:
            chosen = environments[1:]
        else:
            chosen = environments[-1:]
        return [target for target in chosen if target.synced]

    def targets(self, scope: Scope) -> Iterator[Target]:
        """The targets of a scope that were rendered in this run, each as soon as it is rendered.

        A generator, not a list: while `mlops validate` renders, a rule works on the first
        environment while the later ones still render, instead of waiting for all of them and
        doing every environment's work after the last render (where nothing hides it).
        """
        return (target for target in self._in_scope(scope) if target.name in self.manifests)

    def objects(self, scope: Scope = Scope.ALL) -> Iterator[Manifest]:
        # One target at a time: while `mlops validate` renders, `manifests` hands over each
        # target as soon as it is rendered, and a rule works on it while the next one renders.
        for target in self._in_scope(scope):
            if target.name in self.manifests:
                yield from self.manifests[target.name]

    def production(self) -> str | None:
        """The last environment; None in a repository validated without mlops.yaml environments."""
        return self.config.environments[-1].name if self.config.environments else None


Check = Callable[[PolicyContext], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    """A rule of the registry. `explanation` is markdown: why it matters, then how to fix it.

    A rule without `check` is one the validation pipeline itself emits (schema, render, YAML
    syntax, ...): it is in the registry so that `mlops rules` lists and explains it and
    mlops.yaml can set its severity, but the policy engine has nothing to run for it.
    """

    id: str
    summary: str
    explanation: str
    fix: str
    check: Check | None = None
    severity: Severity = Severity.ERROR
    scope: Scope = Scope.ALL
    #: Production hardening: the default severity applies in production, a warning before it.
    escalates_to_production: bool = False

    def default_severity(self, environment: str | None, production: str | None) -> Severity:
        if self.escalates_to_production and environment is not None and environment != production:
            return Severity.WARNING
        return self.severity

    def describe_environments(self) -> str:
        if self.check is None:
            return f"{self.scope.value} (the validation pipeline)"
        if self.escalates_to_production:
            return f"{self.scope.value}; {self.severity.value} in production, warning before"
        return self.scope.value


def _every_copy(context: PolicyContext, kind: str) -> list[Manifest]:
    """Objects of an Argo CD kind across all targets, each distinct copy once.

    Two targets may render the same ApplicationSet differently (per-cluster patches): every copy
    is generated from, so a defect in any of them is found whatever the order of the targets.
    """
    import json

    from .objects import ARGO_GROUP, is_kind

    seen: dict[str, Manifest] = {}
    for manifest in context.objects(Scope.REPOSITORY):
        if is_kind(manifest, kind, ARGO_GROUP):
            seen.setdefault(json.dumps(manifest.data, sort_keys=True, default=str), manifest)
    return list(seen.values())
