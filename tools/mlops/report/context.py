"""What a report knows beside the findings: the run it describes and the rules it may explain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..findings import SchemaCoverage

TOOL_NAME = "mlops"


@dataclass(frozen=True)
class RuleInfo:
    """What a report says about a rule: SARIF's rule metadata, so code scanning can explain it."""

    id: str
    summary: str
    help: str = ""  # longer explanation with the fix; markdown allowed


@dataclass(frozen=True)
class ReportContext:
    """What the findings cannot say about the run that produced them (summaries, SARIF rules)."""

    tool_version: str
    environments: tuple[str, ...] = ()
    rules: Mapping[str, RuleInfo] = field(default_factory=dict)
    objects_checked: int = 0
    #: how many objects met a schema; every format reports it, so an unchecked kind cannot hide
    coverage: SchemaCoverage | None = None
    color: bool = False
