"""junit: one suite per environment, one test case per finding, for CI test dashboards."""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree

from ..findings import Finding, Severity
from .common import detail, location_of, one_line, real_line
from .context import TOOL_NAME, ReportContext
from .escape import xml_text

REPOSITORY_SUITE = "repository"


PASSING_CASE = "all objects valid"


def write(findings: Sequence[Finding], context: ReportContext) -> str:
    """One suite per environment, one test case per finding (errors fail, waived ones are skipped).

    Warnings and infos are passing cases with the finding in system-out: JUnit has no "warning",
    and a dashboard that turned them red would disagree with the exit code. An environment
    without findings gets one passing case, so no suite (and no report) is ever empty.
    """
    groups: dict[str, list[Finding]] = {env: [] for env in context.environments}
    for finding in findings:  # a finding of several targets fails each of their suites
        for name in finding.environments:
            groups.setdefault(name, []).append(finding)
    unplaced = [f for f in findings if not f.environment]
    if unplaced or not groups:
        groups.setdefault(REPOSITORY_SUITE, []).extend(unplaced)

    root = ElementTree.Element("testsuites", name=f"{TOOL_NAME} validate")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for name, items in groups.items():
        suite = ElementTree.SubElement(root, "testsuite", name=xml_text(name))
        covered = context.coverage.by_environment.get(name) if context.coverage is not None else None
        if covered is not None:
            properties = ElementTree.SubElement(suite, "properties")
            ElementTree.SubElement(properties, "property", name="objects-schema-checked", value=str(covered[0]))
            ElementTree.SubElement(properties, "property", name="objects-rendered", value=str(covered[1]))
        tally = {"tests": max(len(items), 1), "failures": 0, "errors": 0, "skipped": 0}
        if not items:
            ElementTree.SubElement(suite, "testcase", classname=xml_text(name), name=PASSING_CASE, time="0")
        for finding in items:
            _junit_case(suite, name, finding, tally)
        for key, value in tally.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _junit_case(suite: ElementTree.Element, suite_name: str, finding: Finding, tally: dict[str, int]) -> None:
    subject = str(finding.object) if finding.object else (finding.file or REPOSITORY_SUITE)
    case = ElementTree.SubElement(suite, "testcase", classname=xml_text(suite_name),
                                  name=xml_text(f"{subject} {finding.rule}"), time="0")
    if finding.file:  # pytest's junit-xml writes these too; GitLab and Jenkins link them
        case.set("file", xml_text(finding.file))
        line = real_line(finding)
        if line:
            case.set("line", str(line))
    body = "\n".join(part for part in (  # the suite and classname already say the environment
        location_of(finding),
        str(finding.object) if finding.object else "",
        detail(finding),
        f"Fix: {finding.fix}" if finding.fix else "",
    ) if part)
    if finding.is_waived:
        reason = f"waived: {finding.waived}" if (finding.waived or "").strip() else "waived"
        ElementTree.SubElement(case, "skipped", message=xml_text(one_line(reason))).text = xml_text(body)
        tally["skipped"] += 1
    elif finding.severity is Severity.ERROR:
        failure = ElementTree.SubElement(case, "failure", message=xml_text(one_line(finding.message)),
                                         type=xml_text(finding.rule))
        failure.text = xml_text(body)
        tally["failures"] += 1
    else:
        ElementTree.SubElement(case, "system-out").text = xml_text(f"{finding.severity.value}: {body}")
