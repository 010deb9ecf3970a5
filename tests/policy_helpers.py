"""Build a PolicyContext from plain dicts, so rule tests need neither kustomize nor files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops.config import Config, RuleSettings, Target
from mlops.findings import Finding
from mlops.manifests import Manifest, SourceIndex
from mlops.policies.base import PolicyContext, Rule
from mlops.policies.engine import run_rules

ENVIRONMENTS = ("dev", "test", "prod")


def make_config(root: Path, environments: tuple[str, ...] = ENVIRONMENTS,
                targets: tuple[tuple[str, str], ...] = (), rules: dict[str, RuleSettings] | None = None) -> Config:
    return Config(
        root=root,
        kubernetes_version="1.33",
        environments=tuple(Target(env, f"overlays/{env}", f"ml-{env}", {"server": "https://kubernetes.default.svc"},
                                  True) for env in environments),
        targets=tuple(Target(name, path) for name, path in targets),
        schema_locations=(),
        rules=rules or {},
    )


def make_context(root: Path, objects: dict[str, list[dict[str, Any]]], **config: Any) -> PolicyContext:
    """objects: target name -> list of object dicts (file defaults to `<target>.yaml`)."""
    cfg = make_config(root, **config)
    manifests = {
        target: [Manifest(data, target, file=data.pop("__file__", None)) for data in items]
        for target, items in objects.items()
    }
    return PolicyContext(config=cfg, manifests=manifests, trees={})


def check(rule: Rule, context: PolicyContext) -> list[Finding]:
    """Findings of one rule, through the engine (severity, waivers) like `mlops validate`."""
    return run_rules([rule], context, SourceIndex(context.root))
