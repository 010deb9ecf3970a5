"""`mlops promote` and `mlops rollback` as one call: the plan, or the promotion, and what to print of it.

A dry run plans from local refs only; a real run fetches the base, plans, writes the pin in a
temporary worktree, validates and publishes (`promote`). Either way the result is data: the plan
(also when a gate failed, so the reviewer sees every gate's figures before the one-line error),
the pull request when one was opened, and the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import interrupt
from ..check import SchemaOptions, load_config, validator
from ..errors import GateFailed
from ..findings import ExitCode
from ..forge import connector
from ..kustomize import find_engine
from . import promote as promote_module
from .plan import Plan, Request
from .promote import Outcome
from .views import plan_json, plan_text


@dataclass
class PromotionResult:
    """What the command prints (the plan's view), the warnings for stderr, and how it ends."""

    text: str
    exit_code: ExitCode
    warnings: list[str] = field(default_factory=list)
    #: a failed gate or check, raised by the command after the plan was printed
    failure: GateFailed | None = None


def _view(plan: Plan, output_format: str, outcome: Outcome | None = None, dry_run: bool = False) -> str:
    return plan_json(plan, outcome, dry_run) if output_format == "json" else plan_text(plan, outcome, dry_run)


def run_promotion(repo: Path | None, request: Request, *, dry_run: bool, output_format: str,
                  schemas: SchemaOptions) -> PromotionResult:
    """Plan (dry run) or carry out a promotion or rollback; stops only at safe points."""
    cfg = load_config(repo)
    engine = find_engine()
    check = validator(schemas)
    with interrupt.safe_points_of_a_command():
        try:
            if dry_run:
                plan = promote_module.plan_only(cfg.root, request, engine)
                return PromotionResult(_view(plan, output_format, dry_run=True),
                                       ExitCode.OK if plan.passed else ExitCode.FINDINGS)
            outcome = promote_module.promote(cfg.root, request, engine, check, connector(cfg.root, request.remote))
        except GateFailed as failure:
            shown = _view(failure.plan, output_format) if isinstance(failure.plan, Plan) else ""
            return PromotionResult(shown, ExitCode(int(failure.exit_code)), failure=failure)
    return PromotionResult(_view(outcome.plan, output_format, outcome), ExitCode.OK, list(outcome.warnings))
