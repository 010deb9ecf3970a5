"""The rule registry: every finding id `mlops validate` can emit, each declared once beside its check.

A plain list, as in yamllint: each family module defines `RULES`, and `FAMILY_NAMES` names the
modules in the order `mlops rules` lists them (the pipeline's own ids first). A module that
defines rules but is missing here is caught by a test, not silently skipped.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from ..errors import UsageError
from .base import PolicyContext, Rule, Scope, Violation

__all__ = ["FAMILY_NAMES", "PolicyContext", "Rule", "Scope", "Violation", "all_rules", "families", "rule_by_id",
           "rule_ids"]

#: The family modules of this package, in the order `mlops rules` lists them.
FAMILY_NAMES: tuple[str, ...] = (
    "pipeline", "apiversions", "argocd_order", "health", "argocd_projects", "argocd_sources", "gitops_rbac",
    "catalog_rules", "dashboard", "connections", "serving_runtime", "workbench", "grafana", "hardening",
    "monitoring", "monitoring_declaration", "trustyai", "promql", "references", "notebook_refs", "platform",
    "remote", "rhoai_release", "secrets", "comments",
)


@cache
def families() -> tuple[ModuleType, ...]:
    """The family modules, imported on first use.

    They are a third of what `mlops validate` imports (0.08 s); importing them when the rules
    are first needed, not with this package, lets the first kustomize start that much sooner,
    and the checks that only need `base` (every command) never load them.
    """
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in FAMILY_NAMES)


@cache
def all_rules() -> tuple[Rule, ...]:
    rules = [rule for family in families() for rule in getattr(family, "RULES", ())]
    ids = [rule.id for rule in rules]
    duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicates:
        raise RuntimeError(f"rule ids defined twice: {', '.join(duplicates)}")
    return tuple(rules)


def rule_ids() -> frozenset[str]:
    return frozenset(rule.id for rule in all_rules())


def rule_by_id(rule_id: str) -> Rule:
    for rule in all_rules():
        if rule.id == rule_id:
            return rule
    raise UsageError(f"no rule {rule_id!r}; `mlops rules` lists them")
