"""Run every enabled rule and turn violations into findings: severity, waivers, positions.

Waivers live on the object, where reviewers see them: an annotation
`waive.mlops.dev/<rule-id>: "<reason>"`. A waived violation is still reported (as waived) in
json and SARIF output; a waiver without a reason is itself a finding, because an unexplained
exception is how a temporary shortcut becomes permanent.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..findings import Finding, Severity
from ..manifests import PendingManifests, SourceIndex
from .base import PolicyContext, Rule, Violation

WAIVER_PREFIX = "waive.mlops.dev/"
WAIVER_RULE_ID = "waiver-reason"
RULE_CRASHED = "rule-crashed"


def _waiver(violation: Violation, rule_id: str) -> str | None:
    if violation.manifest is None:
        return None
    reason = violation.manifest.annotations.get(WAIVER_PREFIX + rule_id)
    return reason.strip() if isinstance(reason, str) and reason.strip() else None


def _finding(rule: Rule, violation: Violation, context: PolicyContext, sources: SourceIndex) -> Finding | None:
    manifest = violation.manifest
    environment = violation.environment or (manifest.environment if manifest else None)
    settings = context.config.rules.get(rule.id)
    if settings is not None and not settings.enabled:
        return None
    severity = rule.default_severity(environment, context.production())
    if settings is not None:
        severity = settings.severity_for(environment, severity)
    file, line = violation.file, violation.line
    if file is None and manifest is not None:
        file, located = sources.locate(manifest, violation.path)
        line = line or located
    return Finding(
        rule=rule.id, severity=severity, message=violation.message, file=file, line=line,
        object=manifest.ref if manifest else None, environment=environment, path=violation.path,
        fix=violation.fix or rule.fix, waived=_waiver(violation, rule.id),
    )


def _unexplained_waivers(context: PolicyContext, known: set[str], sources: SourceIndex) -> list[Finding]:
    findings = []
    for manifest in context.objects():
        for key, value in manifest.annotations.items():
            if not key.startswith(WAIVER_PREFIX):
                continue
            rule_id = key.removeprefix(WAIVER_PREFIX)
            problem = None
            if rule_id not in known:
                problem = f"waiver names {rule_id!r}, which is no policy rule that a waiver can silence"
            elif not isinstance(value, str) or not value.strip():
                problem = f"waiver of {rule_id} gives no reason"
            if problem:
                findings.append(Finding(
                    WAIVER_RULE_ID, Severity.ERROR, problem, file=manifest.file,
                    line=sources.line(manifest, f"metadata.annotations.{key}"), object=manifest.ref,
                    environment=manifest.environment,
                    fix=f"write why the rule does not apply: {key}: \"<reason>\" (see `mlops rules`)",
                ))
    return findings


def _run_rule(rule: Rule, context: PolicyContext, sources: SourceIndex) -> list[Finding]:
    findings: list[Finding] = []
    settings = context.config.rules.get(rule.id)
    if rule.check is None or (settings is not None and not settings.enabled):
        return findings
    try:
        for violation in rule.check(context):
            finding = _finding(rule, violation, context, sources)
            if finding is not None:
                findings.append(finding)
    except Exception as error:  # one broken rule must not hide every other finding
        findings.append(Finding(
            RULE_CRASHED, Severity.ERROR,
            f"rule {rule.id} could not check this repository ({type(error).__name__}: {error})",
            fix="this is a bug in mlops: please report it with the object that triggers it",
        ))
    return findings


def _run_rules_at_once(rules: Sequence[Rule], context: PolicyContext, sources: SourceIndex) -> list[list[Finding]]:
    """Each rule in its own thread; results in rule order, whatever order they finished in.

    Used while targets are still rendering (`PendingManifests`): a rule that needs only files
    (the credential scan, the catalog) runs at once, and one that looks at every environment
    works on each as it arrives, instead of all of them waiting for the slowest render. One rule
    works at a time and hands over only while it waits for a target
    (`PendingManifests.exclusive`), so two rules of a family meet only there: at worst both
    compute a fact they share (`context.cache`), with the same result. (A rule must therefore
    never wait for a target while holding a lock another rule may take.)
    """
    manifests = context.manifests
    assert isinstance(manifests, PendingManifests)
    results: list[list[Finding]] = [[] for _ in rules]

    def run_one(index: int) -> None:
        with manifests.exclusive():
            results[index] = _run_rule(rules[index], context, sources)

    threads = [threading.Thread(target=run_one, args=(index,), daemon=True, name=f"rule {rule.id}")
               for index, rule in enumerate(rules) if rule.check is not None]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def run_rules(rules: Sequence[Rule], context: PolicyContext, sources: SourceIndex) -> list[Finding]:
    """Every finding of every enabled rule, waived ones included (in rule order, however they ran)."""
    if isinstance(context.manifests, PendingManifests) and len(rules) > 1:
        per_rule = _run_rules_at_once(rules, context, sources)
    else:
        per_rule = [_run_rule(rule, context, sources) for rule in rules]
    findings = [finding for found in per_rule for finding in found]
    findings += _unexplained_waivers(context, {rule.id for rule in rules if rule.check is not None}, sources)
    return findings
