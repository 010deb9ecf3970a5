"""The rule registry: every finding id `mlops validate` can emit, each declared once beside its check.

A plain list, as in yamllint: each family module defines `RULES`, and `FAMILIES` names the
modules in the order `mlops rules` lists them (the pipeline's own ids first). A module that
defines rules but is missing here is caught by a test, not silently skipped.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType

from ..errors import UsageError
from . import (
    apiversions,
    argocd_order,
    argocd_projects,
    argocd_sources,
    catalog_rules,
    comments,
    connections,
    dashboard,
    gitops_rbac,
    grafana,
    hardening,
    health,
    monitoring,
    monitoring_declaration,
    notebook_refs,
    pipeline,
    platform,
    promql,
    references,
    remote,
    rhoai_release,
    secrets,
    serving_runtime,
    trustyai,
    workbench,
)
from .base import PolicyContext, Rule, Scope, Violation

__all__ = ["FAMILIES", "PolicyContext", "Rule", "Scope", "Violation", "all_rules", "rule_by_id", "rule_ids"]

FAMILIES: tuple[ModuleType, ...] = (
    pipeline, apiversions, argocd_order, health, argocd_projects, argocd_sources, gitops_rbac, catalog_rules,
    dashboard, connections, serving_runtime, workbench, grafana, hardening, monitoring, monitoring_declaration,
    trustyai, promql, references, notebook_refs, platform, remote, rhoai_release, secrets, comments,
)


@cache
def all_rules() -> tuple[Rule, ...]:
    rules = [rule for family in FAMILIES for rule in getattr(family, "RULES", ())]
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
