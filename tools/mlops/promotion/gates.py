"""The gates a model version must pass to enter an environment, each with its figures.

A gate never raises: it returns a result that says pass or fail and why, in numbers, because
the pull request shows every gate to the reviewer, including those that passed.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .soak import PULL_REQUEST, Since


class GateStatus(enum.StrEnum):
    """What a gate says, as the plan's text and JSON print it (a str, so `"pass"` stays `"pass"` in JSON).

    FAIL is upper-case on purpose: it is the one word a reviewer must not miss in a column of passes.
    """

    PASS = "pass"
    FAIL = "FAIL"
    SKIPPED = "skipped"
    UNVERIFIED = "unverified"


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict; `detail` carries the figures a reviewer needs."""

    name: str
    passed: bool
    detail: str
    skipped: bool = False
    #: passed on a time the real promotion would not accept (a dry run asks GitHub nothing)
    unverified: bool = False

    @property
    def status(self) -> GateStatus:
        if self.skipped:
            return GateStatus.SKIPPED
        if self.unverified:
            return GateStatus.UNVERIFIED
        return GateStatus.PASS if self.passed else GateStatus.FAIL


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes and not days else ""]
    return "".join(parts) or f"{seconds}s"


def skipped(name: str, reason: str) -> GateResult:
    return GateResult(name, True, reason, skipped=True)


def order_gate(version: str, previous_environment: str | None, pinned_in_previous: str | None) -> GateResult:
    """The version must run in the environment before the target now."""
    if previous_environment is None:
        return skipped("order", "first environment: nothing runs before it")
    if pinned_in_previous == version:
        return GateResult("order", True, f"{version} is pinned in {previous_environment}")
    shown = pinned_in_previous or "nothing"
    return GateResult("order", False, f"{previous_environment} runs {shown}, not {version}; promote it there first")


class Threshold(Protocol):
    """A metric threshold of a gate (the catalog's `MetricThreshold`): `auc >= 0.95`."""

    @property
    def metric(self) -> str: ...

    @property
    def description(self) -> str: ...

    def holds(self, value: float) -> bool: ...


def metrics_gate(metrics: dict[str, float], thresholds: Sequence[Threshold], environment: str) -> GateResult:
    """Every threshold of the target environment holds; a missing metric fails."""
    if not thresholds:
        return GateResult("metrics", True, f"{environment} sets no metric thresholds")
    parts, failed = [], False
    for check in thresholds:
        value = metrics.get(check.metric)
        if value is None:
            parts.append(f"{check.metric}: missing (needs {check.description})")
            failed = True
        elif check.holds(value):
            parts.append(f"{check.metric} {value:g} {check.description} ✓")
        else:
            parts.append(f"{check.metric} {value:g} is not {check.description}")
            failed = True
    return GateResult("metrics", not failed, "; ".join(parts))


def signature_gate(new: object, current: object, current_version: str | None, allow_breaking: bool) -> GateResult:
    """Same inputs and outputs as the version the environment runs now, unless allowed."""
    if current_version is None or current is None:
        return GateResult("signature", True, "no version runs there yet")
    if new == current:
        return GateResult("signature", True, f"same inputs and outputs as {current_version}")
    if allow_breaking:
        return GateResult("signature", True, f"differs from {current_version}; allowed with --allow-breaking")
    return GateResult("signature", False,
                      f"inputs or outputs differ from {current_version}; callers may break "
                      "(pass --allow-breaking to promote anyway; the pull request is labelled breaking)")


def soak_gate(version: str, previous_environment: str | None, pinned: Since | None, required: timedelta | None,
              now: datetime, source: str = "any", asked_github: bool = True) -> GateResult:
    """The version has been pinned in the previous environment, on the base branch, long enough.

    The detail names where the start time comes from. With `source` pull-request only the merge
    time of the pull request that pinned the version counts, never a committer date.
    """
    if previous_environment is None:
        return skipped("soak", "first environment")
    if required is None or required.total_seconds() == 0:
        return GateResult("soak", True, "no soak time required")
    if pinned is None:
        return GateResult("soak", False, f"{version} is not pinned in {previous_environment} on the base branch")
    soaked = now - pinned.when
    started = pinned.when.isoformat(timespec="minutes")
    detail = (f"{version} pinned in {previous_environment} for {format_duration(soaked)} "
              f"(since {started}, {pinned.detail}); needs {format_duration(required)}")
    if source == PULL_REQUEST and not pinned.from_pull_request:
        rule = "soak.source is pull-request: only the merge time of the pull request that pinned it counts"
        if not asked_github and soaked >= required:
            return GateResult("soak", True, f"{detail}; {rule}, which the promotion itself looks up", unverified=True)
        return GateResult("soak", False, f"{detail}; {rule}")
    return GateResult("soak", soaked >= required, detail)
