"""The one record every check produces, and the exit codes every command shares.

Every output format (text, json, GitHub annotations, JUnit, SARIF, markdown) is a view of a list
of `Finding`s, so a check never formats anything itself: it says what is wrong, where, and how to
fix it, and `report.py` decides how that looks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class ExitCode(enum.IntEnum):
    """Exit codes shared by every command (see README)."""

    OK = 0
    FINDINGS = 1
    BAD_INPUT = 2
    OUTSIDE_FAILURE = 3


class Severity(enum.StrEnum):
    """How bad a finding is. Only errors fail a run; warnings fail it under `--strict`."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identifies a Kubernetes object the way `kubectl` users name it."""

    kind: str
    name: str
    namespace: str | None = None
    api_version: str | None = None

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


@dataclass(frozen=True)
class Finding:
    """One problem (or waived problem) found in the repository.

    `file` is a path relative to the repository root, pointing at the file a user edits (the
    source of the object, not the rendered output). `path` is the dotted JSON path inside the
    object (`spec.predictor.minReplicas`), when the finding is about one field.
    """

    rule: str
    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    object: ObjectRef | None = None
    environment: str | None = None
    path: str | None = None
    fix: str | None = None
    waived: str | None = None
    #: the other targets whose render gives this same finding from the same source line
    also_in: tuple[str, ...] = ()

    @property
    def is_waived(self) -> bool:
        return self.waived is not None

    @property
    def environments(self) -> tuple[str, ...]:
        """Every target the finding applies to, the first one first."""
        return ((self.environment,) if self.environment else ()) + self.also_in

    def targets_label(self, most: int = 5) -> str:
        """`dev`, `dev, test, prod`, or `dev and 15 other targets` past `most`."""
        names = self.environments
        if len(names) <= most:
            return ", ".join(names)
        return f"{names[0]} and {len(names) - 1} other targets"

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (self.file or "", self.line or 0, self.environment or "", self.rule, self.message)


@dataclass(frozen=True)
class SchemaCoverage:
    """How many rendered objects of one run met a schema, per environment, and which kinds did not.

    A run that checks only the built-in kinds must not look like a clean one: every report
    says "N of M objects schema-checked" and names the kinds without a schema.
    """

    #: environment -> (objects checked against a schema, objects rendered)
    by_environment: dict[str, tuple[int, int]]
    #: `Kind group/version` of every kind that had no schema, sorted
    unchecked_kinds: tuple[str, ...] = ()

    @property
    def checked(self) -> int:
        return sum(checked for checked, _ in self.by_environment.values())

    @property
    def total(self) -> int:
        return sum(total for _, total in self.by_environment.values())

    def percent(self) -> float:
        return 100.0 if self.total == 0 else 100.0 * self.checked / self.total

    def describe(self) -> str:
        """`74 of 74 objects schema-checked`, with the kinds left out when there are any."""
        text = f"{self.checked} of {self.total} objects schema-checked"
        if self.unchecked_kinds:
            text += f" (no schema: {', '.join(self.unchecked_kinds)})"
        return text


#: No message is longer: a message that lists hundreds of names helps nobody (the json has them all).
MESSAGE_LIMIT = 500


def _shared_object(kept: ObjectRef | None, other: ObjectRef | None) -> ObjectRef | None:
    """The object of a finding merged across targets, saying only what is true of every one of them.

    Each overlay usually sets its own namespace (`mlops-dev`, `mlops-prod`): the merged finding
    names the object without a namespace rather than with the first target's.
    """
    if kept is None or other is None or kept == other:
        return kept
    return replace(kept, namespace=kept.namespace if kept.namespace == other.namespace else None,
                   api_version=kept.api_version if kept.api_version == other.api_version else None)


def one_per_cause(findings: list[Finding]) -> list[Finding]:
    """Findings of the same source line and text in several targets as one, listing those targets.

    Environments share their bases: without this, one mistake in a base shows once per target
    that includes it. Findings without a file (repository-wide) are kept as they are, and so are
    findings about objects of another kind or name (a per-overlay `namePrefix`): each names its own.
    """
    position: dict[tuple[object, ...], int] = {}
    result: list[Finding] = []
    for finding in findings:
        if len(finding.message) > MESSAGE_LIMIT:
            finding = replace(finding, message=finding.message[:MESSAGE_LIMIT - 1].rstrip() + "…")
        if not finding.file or not finding.environment:
            result.append(finding)
            continue
        ref = finding.object
        key = (finding.rule, finding.severity, finding.file, finding.line, finding.path, finding.message,
               finding.fix, finding.waived, None if ref is None else (ref.kind, ref.name))
        index = position.get(key)
        if index is None:
            position[key] = len(result)
            result.append(finding)
        elif finding.environment not in result[index].environments:
            kept = result[index]
            result[index] = replace(kept, also_in=(*kept.also_in, finding.environment),
                                    object=_shared_object(kept.object, ref))
    return result


def counts(findings: list[Finding]) -> dict[str, int]:
    """Errors, warnings, infos and waived findings, as the summary line reports them."""
    result = {"error": 0, "warning": 0, "info": 0, "waived": 0}
    for finding in findings:
        if finding.is_waived:
            result["waived"] += 1
        else:
            result[finding.severity.value] += 1
    return result


def exit_code_for(findings: list[Finding], strict: bool = False) -> ExitCode:
    """Findings exit 1 when any unwaived error exists (or any warning under `strict`)."""
    failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    if any(f.severity in failing and not f.is_waived for f in findings):
        return ExitCode.FINDINGS
    return ExitCode.OK
