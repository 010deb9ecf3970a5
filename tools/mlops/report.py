"""Write findings in one format: every output is a view of the same list.

text for people, json for programs, github for pull-request annotations, junit for CI test
dashboards, sarif for code scanning, markdown for pull-request comments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree

from .findings import Finding, Severity, counts

FORMATS = ("text", "json", "github", "junit", "sarif", "markdown")
INFORMATION_URI = "https://github.com/example-org/rhoai-mlops-gitops"


@dataclass(frozen=True)
class RuleInfo:
    id: str
    summary: str
    help: str = ""


@dataclass(frozen=True)
class ReportContext:
    tool_version: str
    environments: tuple[str, ...] = ()
    rules: Mapping[str, RuleInfo] = field(default_factory=dict)
    objects_checked: int = 0
    color: bool = False


def render(findings: Sequence[Finding], fmt: str, context: ReportContext) -> str:
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return writer(sorted(findings, key=Finding.sort_key), context)


def _summary(findings: Sequence[Finding], context: ReportContext) -> str:
    total = counts(list(findings))
    where = f"{context.objects_checked} objects across {', '.join(context.environments) or 'nothing'}"
    if not findings:
        return f"no findings in {where}"
    return (f"{total['error']} errors, {total['warning']} warnings, {total['info']} infos, "
            f"{total['waived']} waived in {where}")


_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}


def _text(findings: Sequence[Finding], context: ReportContext) -> str:
    lines = []
    for f in findings:
        where = f"{f.file}:{f.line}: " if f.file and f.line else (f"{f.file}: " if f.file else "")
        label = f"waived ({f.waived})" if f.waived else f.severity.value
        if context.color and not f.waived:
            label = f"{_COLORS[f.severity]}{label}\033[0m"
        parts = [f"{where}{label} [{f.rule}]"]
        if f.environment:
            parts.append(f.environment)
        if f.object:
            parts.append(str(f.object))
        line = " ".join(parts) + f": {f.message}"
        if f.path:
            line += f" (at {f.path})"
        if f.fix:
            line += f" — fix: {f.fix}"
        lines.append(line)
    lines.append(_summary(findings, context))
    return "\n".join(lines) + "\n"


def _finding_dict(f: Finding) -> dict[str, object]:
    return {
        "rule": f.rule, "severity": f.severity.value, "message": f.message, "file": f.file, "line": f.line,
        "object": None if f.object is None else {"kind": f.object.kind, "name": f.object.name,
                                                 "namespace": f.object.namespace, "apiVersion": f.object.api_version},
        "environment": f.environment, "path": f.path, "fix": f.fix, "waived": f.waived,
    }


def _json(findings: Sequence[Finding], context: ReportContext) -> str:
    document = {
        "version": 1,
        "tool": {"name": "mlops", "version": context.tool_version},
        "summary": {**counts(list(findings)), "objects_checked": context.objects_checked,
                    "environments": list(context.environments)},
        "findings": [_finding_dict(f) for f in findings],
    }
    return json.dumps(document, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _github(findings: Sequence[Finding], context: ReportContext) -> str:
    """Workflow commands; GitHub shows them on the pull request's changed files."""
    lines = []
    for f in findings:
        if f.waived:
            continue
        properties = []
        if f.file:
            properties.append(f"file={_escape_property(f.file)}")
            if f.line:
                properties.append(f"line={f.line}")
        title = f"[{f.rule}] {f.object}" if f.object else f"[{f.rule}]"
        if f.environment:
            title += f" ({f.environment})"
        properties.append(f"title={_escape_property(title)}")
        message = f.message + (f" (at {f.path})" if f.path else "") + (f"\nFix: {f.fix}" if f.fix else "")
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {','.join(properties)}::{_escape_data(message)}")
    lines.append(f"::notice title=mlops validate::{_escape_data(_summary(findings, context))}")
    return "\n".join(lines) + "\n"


def _junit(findings: Sequence[Finding], context: ReportContext) -> str:
    suites = ElementTree.Element("testsuites", name="mlops validate")
    groups: dict[str, list[Finding]] = {env: [] for env in context.environments}
    for f in findings:
        groups.setdefault(f.environment or "repository", []).append(f)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for name, items in groups.items():
        suite = ElementTree.SubElement(suites, "testsuite", name=name)
        failures = skipped = 0
        if not items:
            ElementTree.SubElement(suite, "testcase", classname=name, name="all objects valid")
        for f in items:
            case = ElementTree.SubElement(suite, "testcase", classname=name,
                                          name=f"{f.object or f.file or 'repository'} {f.rule}")
            if f.file:
                case.set("file", f.file)
                if f.line:
                    case.set("line", str(f.line))
            text = f.message + (f" (at {f.path})" if f.path else "") + (f"\nFix: {f.fix}" if f.fix else "")
            if f.waived:
                ElementTree.SubElement(case, "skipped", message=f"waived: {f.waived}")
                skipped += 1
            elif f.severity is Severity.ERROR:
                failure = ElementTree.SubElement(case, "failure", message=f.message, type=f.rule)
                failure.text = text
                failures += 1
            else:
                ElementTree.SubElement(case, "system-out").text = f"{f.severity.value}: {text}"
        tests = max(len(items), 1)
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", str(skipped))
        totals["tests"] += tests
        totals["failures"] += failures
        totals["skipped"] += skipped
    for key, value in totals.items():
        suites.set(key, str(value))
    suites.set("errors", "0")
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _sarif(findings: Sequence[Finding], context: ReportContext) -> str:
    rule_ids = list(dict.fromkeys([*context.rules, *(f.rule for f in findings)]))
    rules = []
    for rule_id in rule_ids:
        info = context.rules.get(rule_id)
        entry: dict[str, object] = {"id": rule_id}
        if info is not None:
            entry["shortDescription"] = {"text": info.summary}
            if info.help:
                entry["fullDescription"] = {"text": info.help}
                entry["help"] = {"text": info.help, "markdown": info.help}
        rules.append(entry)
    index = {rule_id: position for position, rule_id in enumerate(rule_ids)}
    results = []
    for f in findings:
        result: dict[str, object] = {
            "ruleId": f.rule, "ruleIndex": index[f.rule], "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" Fix: {f.fix}" if f.fix else "")},
        }
        location: dict[str, object] = {}
        if f.file:
            physical: dict[str, object] = {"artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"}}
            if f.line:
                physical["region"] = {"startLine": f.line}
            location["physicalLocation"] = physical
        if f.object:
            qualified = "/".join(p for p in (f.environment, f.object.kind, f.object.namespace, f.object.name) if p)
            location["logicalLocations"] = [{"name": f.object.name, "fullyQualifiedName": qualified,
                                             "kind": "resource"}]
        if location:
            result["locations"] = [location]
        properties = {key: value for key, value in (("environment", f.environment), ("path", f.path)) if value}
        if properties:
            result["properties"] = properties
        if f.waived:
            result["suppressions"] = [{"kind": "inSource", "justification": f.waived}]
        results.append(result)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "mlops", "version": context.tool_version,
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root"}}},
            "results": results,
        }],
    }
    return json.dumps(log, indent=2) + "\n"


def _cell(text: str) -> str:
    return text.replace("<", "&lt;").replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


def _markdown(findings: Sequence[Finding], context: ReportContext) -> str:
    active = [f for f in findings if not f.waived]
    waived = [f for f in findings if f.waived]
    lines = [f"### mlops validate: {_summary(findings, context)}", ""]
    if not findings:
        lines.append("No findings.")
    if active:
        lines += ["| Severity | Rule | Environment | Object | File | Message |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for f in active:
            where = f"`{f.file}:{f.line}`" if f.file and f.line else (f"`{f.file}`" if f.file else "")
            message = f.message + (f" (at `{f.path}`)" if f.path else "")
            lines.append(f"| {f.severity.value} | `{f.rule}` | {f.environment or ''} | {_cell(str(f.object or ''))} | "
                         f"{where} | {_cell(message)} |")
    if waived:
        lines += ["", f"<details><summary>{len(waived)} waived</summary>", "",
                  "| Rule | Object | Reason |", "| --- | --- | --- |"]
        lines += [f"| `{f.rule}` | {_cell(str(f.object or f.file or ''))} | {_cell(f.waived or '')} |" for f in waived]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


_WRITERS = {"text": _text, "json": _json, "github": _github, "junit": _junit, "sarif": _sarif, "markdown": _markdown}
