"""Write findings in one format: every output is a view of the same list.

text for people, json for programs, github for pull-request annotations, junit for CI test
dashboards, sarif for code scanning, markdown for pull-request comments.

Like kubeconform's output writers, there is one pipeline and the writers are small: `render`
sorts the findings once (by `Finding.sort_key`, so every format lists them in the same order) and
hands them to one pure function per format. A writer never filters, re-counts differently or
drops a finding silently; the only per-format choices are the ones the consumer forces:

- github leaves out waived findings, because an annotation asks for action and a waiver says none
  is needed; it ends with one `::notice` carrying the summary line, so a clean run still says
  what it checked in the run's annotations.
- sarif gives a finding without a file the location `mlops.yaml` (no region), because GitHub
  code scanning rejects the whole upload when any result lacks a physical location.
- markdown stops adding rows before GitHub's 65,536-character comment limit and says how many it
  left out.

Text is escaped for its consumer here, never in the checks: checks write plain text in which
`backticks` mark code, as in the rest of the tool's messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote
from xml.etree import ElementTree

from .config import CONFIG_FILE
from .findings import Finding, SchemaCoverage, Severity, counts

FORMATS = ("text", "json", "github", "junit", "sarif", "markdown")
TOOL_NAME = "mlops"
INFORMATION_URI = "https://github.com/example-org/rhoai-mlops-gitops"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
#: GitHub refuses comments over 65,536 characters; stay below it with room for a caller's footer.
MARKDOWN_LIMIT = 60_000


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


def render(findings: Sequence[Finding], fmt: str, context: ReportContext) -> str:
    """The whole report in `fmt`, ending with a newline; ValueError names the known formats."""
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return writer(_ordered(findings), context)


# -- shared pieces ------------------------------------------------------------------------------


def _ordered(findings: Sequence[Finding]) -> list[Finding]:
    """`Finding.sort_key` first; the rest only makes ties (same file, line, rule, message) stable."""
    return sorted(findings, key=lambda f: (*f.sort_key(), str(f.object or ""), f.path or "", f.waived or ""))


def _line(finding: Finding) -> int | None:
    """The line when it is a real one: every consumer (SARIF most strictly) counts from 1."""
    return finding.line if finding.line is not None and finding.line >= 1 else None


def _where(finding: Finding) -> str:
    if not finding.file:
        return ""
    line = _line(finding)
    return f"{finding.file}:{line}" if line else finding.file


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _summary(findings: Sequence[Finding], context: ReportContext) -> str:
    """`2 errors, 1 warning, 1 waived in 42 objects across dev, prod` (infos only when there are any)."""
    scope = _plural(context.objects_checked, "object")
    if context.environments:
        scope += " across " + ", ".join(context.environments)
    coverage = f"; {context.coverage.describe()}" if context.coverage is not None else ""
    if not findings:
        return f"no findings in {scope}{coverage}"
    total = counts(list(findings))
    parts = [_plural(total["error"], "error"), _plural(total["warning"], "warning")]
    if total["info"]:
        parts.append(_plural(total["info"], "info"))
    parts.append(f"{total['waived']} waived")
    return f"{', '.join(parts)} in {scope}{coverage}"


def _coverage_record(coverage: SchemaCoverage) -> dict[str, object]:
    """The coverage figures as json and SARIF carry them."""
    return {
        "checked": coverage.checked,
        "total": coverage.total,
        "percent": round(coverage.percent(), 1),
        "unchecked_kinds": list(coverage.unchecked_kinds),
        "by_environment": {name: {"checked": checked, "total": total}
                           for name, (checked, total) in coverage.by_environment.items()},
    }


def _one_line(text: str) -> str:
    """Line breaks become spaces, so a multi-line message (kustomize's errors) stays one record."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


# C0 controls, lone surrogates and U+FFFE/U+FFFF cannot appear in XML 1.0 at all, escaped or not;
# C0 and C1 controls (ESC above all) would drive a terminal. Tab, LF and CR are each writer's business.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _visible(text: str) -> str:
    """Show unprintable characters as `\\x1b` escapes instead of emitting them."""
    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return _UNPRINTABLE.sub(escape, text)


def _subject(finding: Finding) -> str:
    """`prod InferenceService/ml-prod/fraud`: which rendered object, in which environment."""
    return " ".join(part for part in (finding.environment, str(finding.object) if finding.object else None) if part)


def _detail(finding: Finding) -> str:
    """The message with its JSON path, the part every format shows."""
    return finding.message + (f" (at {finding.path})" if finding.path else "")


# -- text ---------------------------------------------------------------------------------------

_RESET = "\033[0m"
_PAINT = {Severity.ERROR: "\033[1;31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_DIM = "\033[2m"
_BOLD = "\033[1m"


def _text(findings: Sequence[Finding], context: ReportContext) -> str:
    """One line per finding, `file:line:` first so editors and terminals can jump to it."""
    lines = [_text_line(f, context.color) for f in findings]
    summary = _summary(findings, context)
    lines.append(f"{_BOLD}{summary}{_RESET}" if context.color else summary)
    return "\n".join(lines) + "\n"


def _text_line(finding: Finding, color: bool) -> str:
    if finding.is_waived:
        reason = _one_line(finding.waived or "")
        label, paint = (f"waived ({reason})" if reason else "waived"), _DIM
    else:
        label, paint = finding.severity.value, _PAINT[finding.severity]
    label = _visible(label)
    if color:  # after _visible, which would escape the ESC of the colour codes
        label = f"{paint}{label}{_RESET}"
    where = _where(finding)
    rest = " ".join(part for part in (f"[{finding.rule}]", _subject(finding)) if part)
    tail = _one_line(_detail(finding)) + (f" — fix: {_one_line(finding.fix)}" if finding.fix else "")
    return (_visible(f"{where}: ") if where else "") + f"{label} {_visible(rest)}: {_visible(tail)}"


# -- json ---------------------------------------------------------------------------------------


def _finding_record(finding: Finding) -> dict[str, object]:
    """Every field, always present (null when absent), so programs need no key checks."""
    ref = finding.object
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
        "file": finding.file,
        "line": finding.line,
        "object": None if ref is None else {
            "kind": ref.kind, "name": ref.name, "namespace": ref.namespace, "apiVersion": ref.api_version,
        },
        "environment": finding.environment,
        "path": finding.path,
        "fix": finding.fix,
        "waived": finding.waived,
    }


def _json(findings: Sequence[Finding], context: ReportContext) -> str:
    """A versioned document: `version` changes only when a program reading it would break."""
    document = {
        "version": 1,
        "tool": {"name": TOOL_NAME, "version": context.tool_version},
        "summary": {
            **counts(list(findings)),
            "objects_checked": context.objects_checked,
            "environments": list(context.environments),
            **({"schema_coverage": _coverage_record(context.coverage)} if context.coverage is not None else {}),
        },
        "findings": [_finding_record(f) for f in findings],
    }
    return json.dumps(document, indent=2) + "\n"


# -- github -------------------------------------------------------------------------------------


def _github_data(text: str) -> str:
    """Escape a command's message as @actions/core does (`escapeData`): % first, then CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    """Escape a property value (`escapeProperty`): also `:` and `,`, which delimit properties."""
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _github(findings: Sequence[Finding], context: ReportContext) -> str:
    """Workflow commands; GitHub shows them on the pull request's files and in the run summary.

    Waived findings get no annotation. The last line is a `::notice` with the summary.
    """
    lines = []
    for finding in findings:
        if finding.is_waived:
            continue
        properties = []
        if finding.file:
            properties.append(f"file={_github_property(finding.file)}")
            line = _line(finding)
            if line:
                properties.append(f"line={line}")
        title = " ".join(part for part in (
            f"[{finding.rule}]",
            str(finding.object) if finding.object else "",
            f"({finding.environment})" if finding.environment else "",
        ) if part)
        properties.append(f"title={_github_property(title)}")
        message = _detail(finding) + (f"\nFix: {finding.fix}" if finding.fix else "")
        lines.append(f"::{_GITHUB_LEVEL[finding.severity]} {','.join(properties)}::{_github_data(message)}")
    lines.append(f"::notice title={TOOL_NAME}::{_github_data(_summary(findings, context))}")
    return "\n".join(lines) + "\n"


# -- junit --------------------------------------------------------------------------------------

REPOSITORY_SUITE = "repository"
PASSING_CASE = "all objects valid"


def _xml(text: str) -> str:
    """XML 1.0 cannot carry most control characters at all, escaped or not."""
    return _visible(text)


def _junit(findings: Sequence[Finding], context: ReportContext) -> str:
    """One suite per environment, one test case per finding (errors fail, waived ones are skipped).

    Warnings and infos are passing cases with the finding in system-out: JUnit has no "warning",
    and a dashboard that turned them red would disagree with the exit code. An environment
    without findings gets one passing case, so no suite (and no report) is ever empty.
    """
    groups: dict[str, list[Finding]] = {env: [] for env in context.environments}
    for finding in findings:
        if finding.environment:
            groups.setdefault(finding.environment, []).append(finding)
    unplaced = [f for f in findings if not f.environment]
    if unplaced or not groups:
        groups.setdefault(REPOSITORY_SUITE, []).extend(unplaced)

    root = ElementTree.Element("testsuites", name=f"{TOOL_NAME} validate")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for name, items in groups.items():
        suite = ElementTree.SubElement(root, "testsuite", name=_xml(name))
        covered = context.coverage.by_environment.get(name) if context.coverage is not None else None
        if covered is not None:
            properties = ElementTree.SubElement(suite, "properties")
            ElementTree.SubElement(properties, "property", name="objects-schema-checked", value=str(covered[0]))
            ElementTree.SubElement(properties, "property", name="objects-rendered", value=str(covered[1]))
        tally = {"tests": max(len(items), 1), "failures": 0, "errors": 0, "skipped": 0}
        if not items:
            ElementTree.SubElement(suite, "testcase", classname=_xml(name), name=PASSING_CASE, time="0")
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
    case = ElementTree.SubElement(suite, "testcase", classname=_xml(suite_name),
                                  name=_xml(f"{subject} {finding.rule}"), time="0")
    if finding.file:  # pytest's junit-xml writes these too; GitLab and Jenkins link them
        case.set("file", _xml(finding.file))
        line = _line(finding)
        if line:
            case.set("line", str(line))
    body = "\n".join(part for part in (  # the suite and classname already say the environment
        _where(finding),
        str(finding.object) if finding.object else "",
        _detail(finding),
        f"Fix: {finding.fix}" if finding.fix else "",
    ) if part)
    if finding.is_waived:
        reason = f"waived: {finding.waived}" if (finding.waived or "").strip() else "waived"
        ElementTree.SubElement(case, "skipped", message=_xml(_one_line(reason))).text = _xml(body)
        tally["skipped"] += 1
    elif finding.severity is Severity.ERROR:
        failure = ElementTree.SubElement(case, "failure", message=_xml(_one_line(finding.message)),
                                         type=_xml(finding.rule))
        failure.text = _xml(body)
        tally["failures"] += 1
    else:
        ElementTree.SubElement(case, "system-out").text = _xml(f"{finding.severity.value}: {body}")


# -- sarif --------------------------------------------------------------------------------------

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _sarif_uri(path: str) -> str:
    """A relative URI reference: forward slashes, everything but `/` and unreserved percent-encoded.

    Encoding `:` too keeps a first segment like `a:b.yaml` from reading as a URI scheme.
    """
    return quote(path.replace("\\", "/"), safe="/")


def _sarif_rules(findings: Sequence[Finding], context: ReportContext) -> list[dict[str, object]]:
    """Every rule of the context, then any other rule a finding names (with its id only)."""
    seen = sorted({f.rule for f in findings} - set(context.rules))
    rules: list[dict[str, object]] = []
    for rule_id in [*context.rules, *seen]:
        entry: dict[str, object] = {"id": rule_id}
        info = context.rules.get(rule_id)
        if info is not None:
            entry["shortDescription"] = {"text": info.summary}
            entry["fullDescription"] = {"text": info.help or info.summary}
            if info.help:
                entry["help"] = {"text": info.help, "markdown": info.help}
        rules.append(entry)
    return rules


def _sarif_result(finding: Finding, rule_index: int) -> dict[str, object]:
    text = ": ".join(part for part in (_subject(finding), _detail(finding)) if part)
    if finding.fix:
        text += f"\nFix: {finding.fix}"
    result: dict[str, object] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": text},
    }
    physical: dict[str, object] = {
        "artifactLocation": {"uri": _sarif_uri(finding.file or CONFIG_FILE), "uriBaseId": "%SRCROOT%"},
    }
    line = _line(finding) if finding.file else None
    if line:
        physical["region"] = {"startLine": line}
    location: dict[str, object] = {"physicalLocation": physical}
    if finding.object:
        ref = finding.object
        qualified = "/".join(part for part in (finding.environment, ref.kind, ref.namespace, ref.name) if part)
        location["logicalLocations"] = [{"name": ref.name, "fullyQualifiedName": qualified, "kind": "resource"}]
    result["locations"] = [location]
    properties: dict[str, object] = {}
    if finding.environment:
        properties["environment"] = finding.environment
    if finding.path:
        properties["path"] = finding.path
    if not finding.file:
        properties["repositoryWide"] = True  # the location is the config file, not the cause
    if properties:
        result["properties"] = properties
    if finding.is_waived:
        result["suppressions"] = [{"kind": "inSource", "justification": finding.waived or ""}]
    return result


def _sarif(findings: Sequence[Finding], context: ReportContext) -> str:
    """SARIF 2.1.0 as GitHub code scanning ingests it: one run, every result with a file location.

    Waived findings stay in the log with an `inSource` suppression (the waiver annotation sits in
    the source), so code scanning shows them as suppressed rather than forgetting them.
    """
    rules = _sarif_rules(findings, context)
    index = {str(rule["id"]): position for position, rule in enumerate(rules)}
    log = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL_NAME,
                "version": context.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root"}}},
            "results": [_sarif_result(f, index[f.rule]) for f in findings],
            **({"properties": {"schemaCoverage": _coverage_record(context.coverage)}}
               if context.coverage is not None else {}),
        }],
    }
    return json.dumps(log, indent=2) + "\n"


# -- markdown -----------------------------------------------------------------------------------

# A code span: a run of backticks, then anything up to a run of exactly as many (CommonMark).
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]~])")


def _md_plain(text: str) -> str:
    """Escape text outside code spans for a table cell: HTML, emphasis, links, `|`, line breaks."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    text = text.replace("|", "\\|")
    return "<br>".join(_visible(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def _md_code(text: str) -> str:
    """A code span that holds `text` whatever it contains (longer fence, `|` escaped for tables)."""
    text = _visible(" ".join(text.splitlines()))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_cell(text: str) -> str:
    """Text as the checks write it: `backticks` mark code and stay code; the rest is escaped."""
    out = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_md_plain(text[position:match.start()]))
        code = " ".join(match.group(2).splitlines()).replace("|", "\\|")
        out.append(f"{match.group(1)}{_visible(code)}{match.group(1)}")
        position = match.end()
    out.append(_md_plain(text[position:]))
    return "".join(out)


def _md_file(finding: Finding) -> str:
    where = _where(finding)
    return _md_code(where) if where else ""


def _md_message(finding: Finding, with_fix: bool) -> str:
    cell = _md_cell(finding.message)
    if finding.path:
        cell += f" (at {_md_code(finding.path)})"
    if with_fix and finding.fix:
        cell += f"<br>**Fix:** {_md_cell(finding.fix)}"
    return cell


def _md_row(finding: Finding) -> str:
    object_cell = _md_code(str(finding.object)) if finding.object else ""
    return (f"| {finding.severity.value} | {_md_code(finding.rule)} | {_md_plain(finding.environment or '')} | "
            f"{object_cell} | {_md_file(finding)} | {_md_message(finding, with_fix=True)} |")


def _md_waived_row(finding: Finding) -> str:
    object_cell = _md_code(str(finding.object)) if finding.object else ""
    return (f"| {_md_code(finding.rule)} | {_md_plain(finding.environment or '')} | {object_cell} | "
            f"{_md_file(finding)} | {_md_message(finding, with_fix=False)} | {_md_cell(finding.waived or '')} |")


def _fit(rows: list[str], budget: int) -> tuple[list[str], int]:
    """The leading rows that fit in `budget` characters, and the budget left."""
    kept: list[str] = []
    for row in rows:
        if len(row) + 1 > budget:
            break
        kept.append(row)
        budget -= len(row) + 1
    return kept, budget


def _markdown(findings: Sequence[Finding], context: ReportContext) -> str:
    """A pull-request comment: heading with the counts, a table of what to fix, waivers collapsed.

    Rows that would take the comment past `MARKDOWN_LIMIT` are left out, with a line that says
    how many; unwaived findings get the room first.
    """
    active = [f for f in findings if not f.is_waived]
    waived = [f for f in findings if f.is_waived]
    lines = [f"### {TOOL_NAME} validate: {_summary(findings, context)}", ""]
    if not findings:
        lines.append("No findings.")
        return "\n".join(lines) + "\n"
    budget = MARKDOWN_LIMIT - len(lines[0]) - 500  # 500: table headers, <details> and the notes
    if active:
        kept, budget = _fit([_md_row(f) for f in active], budget)
        lines += ["| Severity | Rule | Environment | Object | File | Message |",
                  "| --- | --- | --- | --- | --- | --- |", *kept]
        if len(kept) < len(active):
            lines += ["", f"_{_plural(len(active) - len(kept), 'more finding')} not shown: see the job's log._"]
            budget = 0  # no waived rows while findings that need work are missing
    if waived:
        kept, budget = _fit([_md_waived_row(f) for f in waived], budget)
        lines += ["", f"<details><summary>{_plural(len(waived), 'waived finding')}</summary>", "",
                  "| Rule | Environment | Object | File | Message | Reason |",
                  "| --- | --- | --- | --- | --- | --- |", *kept]
        if len(kept) < len(waived):
            lines += ["", f"_{_plural(len(waived) - len(kept), 'more waived finding')} not shown._"]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


_WRITERS: dict[str, Callable[[Sequence[Finding], ReportContext], str]] = {
    "text": _text, "json": _json, "github": _github, "junit": _junit, "sarif": _sarif, "markdown": _markdown,
}
