"""MLOps policies: the checks that catch what schemas cannot.

Every module of this package that defines `RULES` is a rule family (references, production
hardening, monitoring, ...). The registry is built from them in module-name order, so adding a
family is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from ..errors import UsageError
from .base import PolicyContext, Rule, Scope, Violation

__all__ = ["PolicyContext", "Rule", "Scope", "Violation", "all_rules", "rule_by_id"]


@cache
def all_rules() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        rules.extend(getattr(module, "RULES", ()))
    ids = [rule.id for rule in rules]
    duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicates:
        raise RuntimeError(f"rule ids defined twice: {', '.join(duplicates)}")
    return tuple(rules)


def rule_by_id(rule_id: str) -> Rule:
    for rule in all_rules():
        if rule.id == rule_id:
            return rule
    raise UsageError(f"no rule {rule_id!r}; `mlops rules` lists them")
