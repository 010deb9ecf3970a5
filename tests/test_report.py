"""Every output format is a view of the same findings; each is checked against what its consumer needs.

The consumers are strict in different ways (GitHub's workflow-command parser, XML parsers, the
SARIF schema and GitHub's SARIF ingestion, GitHub-flavoured markdown tables), so each format is
tested with the same awkward findings: a message with `|`, a line break, `%`, `,`, `:` and `<&>`,
a waived finding, and a finding with no file, line or object.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest

from mlops.findings import MESSAGE_LIMIT, Finding, ObjectRef, SchemaCoverage, Severity, one_per_cause
from mlops.report import FORMATS, MARKDOWN_LIMIT, ReportContext, RuleInfo, render

ISVC = ObjectRef("InferenceService", "fraud", "ml-prod", "serving.kserve.io/v1beta1")
RUNTIME = ObjectRef("ServingRuntime", "ovms", "ml-prod")
NASTY = "minReplicas is 1 | needs 2,\nsee: docs 100% <ok> & more"

SCHEMA = Finding("schema", Severity.ERROR, "unknown field 'storageURI'", file="models/fraud/isvc.yaml", line=12,
                 object=ISVC, environment="prod", path="spec.predictor.model.storageURI", fix="use storageUri")
ESCAPING = Finding("isvc-min-replicas", Severity.WARNING, NASTY, file="overlays/dev/patch, v2:x.yaml", line=3,
                   object=ISVC, environment="dev", fix="set `minReplicas: 2` | or waive")
WAIVED = Finding("image-digest", Severity.ERROR, "image is tag-only", file="base/serving/rt.yaml", line=9,
                 object=RUNTIME, environment="prod", waived="vendor ships tags only")
NO_LINE = Finding("secret-in-git", Severity.ERROR, "AWS key AKIA****", file="notes.yaml")
BARE = Finding("render", Severity.ERROR, "kustomize failed")
INFO = Finding("grafana-instance-selector", Severity.INFO, "no instanceSelector", file="platform/g.yaml", line=4,
               environment="test")
FINDINGS = [SCHEMA, ESCAPING, WAIVED, NO_LINE, BARE, INFO]

CONTEXT = ReportContext(
    tool_version="9.9.9", environments=("dev", "test", "prod"), objects_checked=42,
    rules={"schema": RuleInfo("schema", "Objects match their schema", "Fix the **field**."),
           "unused": RuleInfo("unused", "A rule nothing broke")},
)


def sarif_validator(contracts_dir: Path) -> jsonschema.Draft4Validator:
    schema = json.loads((contracts_dir / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


# -- every format -------------------------------------------------------------------------------


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of text, json"):
        render(FINDINGS, "yaml", CONTEXT)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_ends_with_one_newline_and_ignores_input_order(fmt: str) -> None:
    output = render(FINDINGS, fmt, CONTEXT)
    assert output.endswith("\n") and not output.endswith("\n\n")
    assert render(list(reversed(FINDINGS)), fmt, CONTEXT) == output


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_an_empty_list(fmt: str) -> None:
    assert render([], fmt, CONTEXT).strip()
    assert render([], fmt, ReportContext(tool_version="1")).strip()


# -- text ---------------------------------------------------------------------------------------


def test_text_lines_are_sorted_by_file_and_line_then_summarised() -> None:
    lines = render(FINDINGS, "text", CONTEXT).splitlines()
    assert len(lines) == len(FINDINGS) + 1  # one line per finding, even with a line break in a message
    assert lines[0] == "error [render]: kustomize failed"  # no file sorts first, no location prefix
    assert lines[1] == ("base/serving/rt.yaml:9: waived (vendor ships tags only) [image-digest] prod "
                        "ServingRuntime/ml-prod/ovms: image is tag-only")
    assert lines[2] == ("models/fraud/isvc.yaml:12: error [schema] prod InferenceService/ml-prod/fraud: "
                        "unknown field 'storageURI' (at spec.predictor.model.storageURI) — fix: use storageUri")
    assert lines[3] == "notes.yaml: error [secret-in-git]: AWS key AKIA****"
    assert lines[4].startswith("overlays/dev/patch, v2:x.yaml:3: warning [isvc-min-replicas] dev ")
    assert "needs 2, see: docs 100% <ok> & more — fix: set `minReplicas: 2` | or waive" in lines[4]
    assert lines[5] == "platform/g.yaml:4: info [grafana-instance-selector] test: no instanceSelector"
    assert lines[6] == "3 errors, 1 warning, 1 info, 1 waived in 42 objects across dev, test, prod"


def test_text_summary_without_findings_or_environments() -> None:
    assert render([], "text", CONTEXT) == "no findings in 42 objects across dev, test, prod\n"
    assert render([], "text", ReportContext(tool_version="1", objects_checked=1)) == "no findings in 1 object\n"
    only_waived = render([WAIVED], "text", ReportContext(tool_version="1", environments=("prod",)))
    assert only_waived.splitlines()[-1] == "0 errors, 0 warnings, 1 waived in 0 objects across prod"


def test_text_colour_only_when_asked_and_never_from_the_message() -> None:
    sneaky = Finding("schema", Severity.ERROR, "bad \x1b[2J value", file="a.yaml", line=1)
    plain = render([sneaky, WAIVED], "text", CONTEXT)
    assert "\x1b" not in plain and "bad \\x1b[2J value" in plain
    coloured = render([sneaky, WAIVED], "text", ReportContext(tool_version="1", color=True))
    assert "\x1b[1;31merror\x1b[0m [schema]" in coloured
    assert "\x1b[2mwaived (vendor ships tags only)\x1b[0m" in coloured
    assert "\x1b[2J" not in coloured


def test_text_line_zero_is_no_line() -> None:
    zero = Finding("schema", Severity.ERROR, "m", file="a.yaml", line=0)
    assert render([zero], "text", CONTEXT).startswith("a.yaml: error [schema]: m\n")


# -- json ---------------------------------------------------------------------------------------


def test_json_round_trips_every_field() -> None:
    document = json.loads(render(FINDINGS, "json", CONTEXT))
    assert list(document) == ["version", "tool", "summary", "findings"]
    assert document["version"] == 1
    assert document["tool"] == {"name": "mlops", "version": "9.9.9"}
    assert document["summary"] == {"error": 3, "warning": 1, "info": 1, "waived": 1, "objects_checked": 42,
                                   "environments": ["dev", "test", "prod"]}
    records = document["findings"]
    assert [r["rule"] for r in records] == ["render", "image-digest", "schema", "secret-in-git",
                                            "isvc-min-replicas", "grafana-instance-selector"]
    rebuilt = [
        Finding(r["rule"], Severity(r["severity"]), r["message"], file=r["file"], line=r["line"],
                object=None if r["object"] is None else ObjectRef(r["object"]["kind"], r["object"]["name"],
                                                                   r["object"]["namespace"],
                                                                   r["object"]["apiVersion"]),
                environment=r["environment"], path=r["path"], fix=r["fix"], waived=r["waived"])
        for r in records
    ]
    assert sorted(rebuilt, key=Finding.sort_key) == sorted(FINDINGS, key=Finding.sort_key)


def test_json_has_every_key_even_when_absent() -> None:
    record = json.loads(render([BARE], "json", CONTEXT))["findings"][0]
    assert list(record) == ["rule", "severity", "message", "file", "line", "object", "environment", "environments",
                            "path", "fix", "waived"]
    assert record["file"] is None and record["object"] is None and record["waived"] is None
    assert json.loads(render([], "json", CONTEXT))["findings"] == []


# -- github -------------------------------------------------------------------------------------


def _unescape(text: str) -> str:
    """What the Actions runner does to a command's data and properties."""
    return (text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",")
            .replace("%25", "%"))


def _parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Parse one workflow command the way the runner does: `::name props::data`."""
    assert line.startswith("::")
    end = line.index("::", 2)
    head, data = line[2:end], line[end + 2:]
    name, _, props = head.partition(" ")
    properties = dict(item.split("=", 1) for item in props.split(",")) if props else {}
    return name, {key: _unescape(value) for key, value in properties.items()}, _unescape(data)


def test_github_one_annotation_per_unwaived_finding_then_a_notice() -> None:
    lines = render(FINDINGS, "github", CONTEXT).splitlines()
    commands = [_parse_command(line) for line in lines]
    assert [name for name, _, _ in commands] == ["error", "error", "error", "warning", "notice", "notice"]
    assert not any("image-digest" in line for line in lines)  # waived: no annotation
    _, properties, data = commands[-1]
    assert properties == {"title": "mlops"}
    assert data == "3 errors, 1 warning, 1 info, 1 waived in 42 objects across dev, test, prod"


def test_github_escapes_data_and_properties() -> None:
    line = render([ESCAPING], "github", CONTEXT).splitlines()[0]
    assert "\n" not in line and "\r" not in line
    head = line.split("::")[1]
    assert head == ("warning file=overlays/dev/patch%2C v2%3Ax.yaml,line=3,"
                    "title=[isvc-min-replicas] InferenceService/ml-prod/fraud (dev)")
    name, properties, data = _parse_command(line)
    assert name == "warning"
    assert properties == {"file": "overlays/dev/patch, v2:x.yaml", "line": "3",
                          "title": "[isvc-min-replicas] InferenceService/ml-prod/fraud (dev)"}
    assert data == NASTY + "\nFix: set `minReplicas: 2` | or waive"
    assert "100%25 <ok> & more" in line


def test_github_carriage_return_and_colons_in_the_message() -> None:
    finding = Finding("schema", Severity.INFO, "a\r\nb::c %0A", file="x.yaml")
    line = render([finding], "github", CONTEXT).splitlines()[0]
    assert line == "::notice file=x.yaml,title=[schema]::a%0D%0Ab::c %250A"
    assert _parse_command(line)[2] == "a\r\nb::c %0A"


def test_github_without_file_has_no_file_or_line_property() -> None:
    lines = render([BARE, Finding("r", Severity.WARNING, "m", line=7)], "github", CONTEXT).splitlines()
    assert lines[0] == "::error title=[render]::kustomize failed"
    assert lines[1] == "::warning title=[r]::m"


def test_github_empty_is_only_the_notice() -> None:
    assert render([], "github", CONTEXT) == "::notice title=mlops::no findings in 42 objects across dev, test, prod\n"


# -- junit --------------------------------------------------------------------------------------


def _check_junit_counts(root: ElementTree.Element) -> None:
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        found = {"tests": len(cases),
                 "failures": sum(1 for c in cases if c.find("failure") is not None),
                 "errors": sum(1 for c in cases if c.find("error") is not None),
                 "skipped": sum(1 for c in cases if c.find("skipped") is not None)}
        assert {key: int(suite.get(key, "-1")) for key in found} == found
        assert cases, "a suite without test cases"
        for key, value in found.items():
            totals[key] += value
    assert {key: int(root.get(key, "-1")) for key in totals} == totals


def test_junit_one_suite_per_environment_and_consistent_counts() -> None:
    text = render(FINDINGS, "junit", CONTEXT)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ElementTree.fromstring(text)
    assert root.tag == "testsuites"
    _check_junit_counts(root)
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == ["dev", "test", "prod", "repository"]
    assert (int(root.get("tests", "0")), int(root.get("failures", "0")), int(root.get("skipped", "0"))) == (6, 3, 1)
    prod = suites["prod"].findall("testcase")
    assert [c.get("name") for c in prod] == ["ServingRuntime/ml-prod/ovms image-digest",
                                            "InferenceService/ml-prod/fraud schema"]
    assert all(c.get("classname") == "prod" for c in prod)
    skipped = prod[0].find("skipped")
    assert skipped is not None and skipped.get("message") == "waived: vendor ships tags only"
    failure = prod[1].find("failure")
    assert failure is not None and failure.get("type") == "schema"
    assert failure.text is not None
    assert "models/fraud/isvc.yaml:12" in failure.text and "Fix: use storageUri" in failure.text
    assert (prod[1].get("file"), prod[1].get("line")) == ("models/fraud/isvc.yaml", "12")


def test_junit_warnings_and_infos_pass_with_system_out() -> None:
    root = ElementTree.fromstring(render(FINDINGS, "junit", CONTEXT))
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    for name, severity in (("dev", "warning"), ("test", "info")):
        case = suites[name].find("testcase")
        assert case is not None and case.find("failure") is None and case.find("skipped") is None
        out = case.find("system-out")
        assert out is not None and out.text is not None and out.text.startswith(f"{severity}: ")


def test_junit_escapes_markup_and_control_characters() -> None:
    evil = Finding("schema", Severity.ERROR, NASTY + ' "quoted" \x00\x1b', file="a&b.yaml", line=1,
                   object=ObjectRef("Kind", "<n>"), environment="dev")
    root = ElementTree.fromstring(render([evil], "junit", CONTEXT))
    _check_junit_counts(root)
    case = next(root.iter("testcase"))
    assert case.get("name") == "Kind/<n> schema" and case.get("file") == "a&b.yaml"
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert NASTY in failure.text and "\\x00\\x1b" in failure.text
    assert failure.get("message") == "minReplicas is 1 | needs 2, see: docs 100% <ok> & more \"quoted\" \\x00\\x1b"


def test_junit_finding_without_file_or_object() -> None:
    root = ElementTree.fromstring(render([BARE, NO_LINE], "junit", ReportContext(tool_version="1")))
    _check_junit_counts(root)
    assert [s.get("name") for s in root.findall("testsuite")] == ["repository"]
    cases = list(root.iter("testcase"))
    assert [c.get("name") for c in cases] == ["repository render", "notes.yaml secret-in-git"]
    assert cases[0].get("file") is None and cases[1].get("line") is None


def test_junit_empty_still_has_a_passing_case_per_environment() -> None:
    root = ElementTree.fromstring(render([], "junit", CONTEXT))
    _check_junit_counts(root)
    assert [(s.get("name"), [c.get("name") for c in s]) for s in root.findall("testsuite")] == [
        ("dev", ["all objects valid"]), ("test", ["all objects valid"]), ("prod", ["all objects valid"])]
    bare = ElementTree.fromstring(render([], "junit", ReportContext(tool_version="1")))
    _check_junit_counts(bare)
    assert int(bare.get("tests", "0")) == 1 and bare.find("testsuite/testcase") is not None


def test_junit_environment_without_findings_passes_beside_one_that_fails() -> None:
    root = ElementTree.fromstring(render([SCHEMA], "junit", CONTEXT))
    _check_junit_counts(root)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert "repository" not in suites
    assert suites["dev"].get("failures") == "0" and suites["prod"].get("failures") == "1"


# -- sarif --------------------------------------------------------------------------------------


def _sarif(findings: list[Finding], context: ReportContext = CONTEXT) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(render(findings, "sarif", context))
    return log


def test_sarif_validates_against_the_2_1_0_schema(contracts_dir: Path) -> None:
    validator = sarif_validator(contracts_dir)
    evil = Finding("schema", Severity.WARNING, NASTY, file="dir with space/ü#?.yaml", line=0,
                   object=ObjectRef("Namespace", "ml"), path="metadata.labels")
    for findings in (FINDINGS, [], [WAIVED], [BARE], [evil]):
        for context in (CONTEXT, ReportContext(tool_version="0")):
            errors = sorted(validator.iter_errors(_sarif(findings, context)), key=str)
            assert not errors, errors[0].message


def test_sarif_driver_rules_and_result_shape() -> None:
    log = _sarif(FINDINGS)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    assert len(log["runs"]) == 1
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("mlops", "9.9.9")
    assert driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    assert [r["id"] for r in rules] == ["schema", "unused", "grafana-instance-selector", "image-digest",
                                        "isvc-min-replicas", "render", "secret-in-git"]
    assert rules[0] == {"id": "schema", "shortDescription": {"text": "Objects match their schema"},
                        "fullDescription": {"text": "Fix the **field**."},
                        "help": {"text": "Fix the **field**.", "markdown": "Fix the **field**."}}
    assert rules[1] == {"id": "unused", "shortDescription": {"text": "A rule nothing broke"},
                        "fullDescription": {"text": "A rule nothing broke"}}
    assert rules[2] == {"id": "grafana-instance-selector"}
    results = run["results"]
    assert len(results) == len(FINDINGS)  # waived findings are reported too
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    schema = next(r for r in results if r["ruleId"] == "schema")
    assert schema["level"] == "error"
    assert schema["message"]["text"] == ("prod InferenceService/ml-prod/fraud: unknown field 'storageURI' "
                                         "(at spec.predictor.model.storageURI)\nFix: use storageUri")
    location = schema["locations"][0]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "models/fraud/isvc.yaml", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 12}}
    assert location["logicalLocations"] == [
        {"name": "fraud", "fullyQualifiedName": "prod/InferenceService/ml-prod/fraud", "kind": "resource"}]
    assert schema["properties"] == {"environment": "prod", "path": "spec.predictor.model.storageURI"}
    assert {r["ruleId"]: r["level"] for r in results}["grafana-instance-selector"] == "note"


def test_sarif_waived_findings_carry_a_suppression() -> None:
    results = _sarif(FINDINGS)["runs"][0]["results"]
    waived = [r for r in results if "suppressions" in r]
    assert [r["ruleId"] for r in waived] == ["image-digest"]
    assert waived[0]["suppressions"] == [{"kind": "inSource", "justification": "vendor ships tags only"}]
    assert waived[0]["level"] == "error"


def test_sarif_every_result_has_a_physical_location_for_code_scanning() -> None:
    results = {r["ruleId"]: r for r in _sarif(FINDINGS)["runs"][0]["results"]}
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results.values())
    no_line = results["secret-in-git"]["locations"][0]
    assert "region" not in no_line["physicalLocation"] and "logicalLocations" not in no_line
    bare = results["render"]
    assert bare["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "mlops.yaml",
                                                                             "uriBaseId": "%SRCROOT%"}}
    assert bare["properties"] == {"repositoryWide": True}
    assert bare["message"]["text"] == "kustomize failed"


def test_sarif_uri_is_percent_encoded_and_line_zero_has_no_region() -> None:
    odd = Finding("schema", Severity.ERROR, "m", file="dir with space/ü#?:.yaml", line=0)
    location = _sarif([odd])["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "dir%20with%20space/%C3%BC%23%3F%3A.yaml",
                                             "uriBaseId": "%SRCROOT%"}}


def test_sarif_message_keeps_special_characters() -> None:
    result = _sarif([ESCAPING])["runs"][0]["results"][0]
    fix = "set `minReplicas: 2` | or waive"
    assert result["message"]["text"] == f"dev InferenceService/ml-prod/fraud: {NASTY}\nFix: {fix}"


# -- markdown -----------------------------------------------------------------------------------


def _table_rows(text: str) -> list[list[str]]:
    """Split GFM table rows into cells the way GitHub does: on `|` not preceded by a backslash."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            rows.append([cell.strip() for cell in cells])
    return rows


def test_markdown_heading_table_and_order() -> None:
    text = render(FINDINGS, "markdown", CONTEXT)
    lines = text.splitlines()
    assert lines[0] == "### mlops validate: 3 errors, 1 warning, 1 info, 1 waived in 42 objects across dev, test, prod"
    rows = _table_rows(text.split("<details>")[0])
    assert rows[0] == ["Severity", "Rule", "Environment", "Object", "File", "Message"]
    assert [row[1] for row in rows[1:]] == ["`render`", "`schema`", "`secret-in-git`", "`isvc-min-replicas`",
                                            "`grafana-instance-selector`"]
    assert all(len(row) == 6 for row in rows)
    assert rows[2] == ["error", "`schema`", "prod", "`InferenceService/ml-prod/fraud`", "`models/fraud/isvc.yaml:12`",
                       "unknown field 'storageURI' (at `spec.predictor.model.storageURI`)<br>**Fix:** use storageUri"]
    assert rows[1] == ["error", "`render`", "", "", "", "kustomize failed"]  # no file, line or object


def test_markdown_escapes_pipes_newlines_and_html() -> None:
    text = render([ESCAPING], "markdown", CONTEXT)
    row = _table_rows(text)[1]
    assert len(row) == 6
    assert row[4] == "`overlays/dev/patch, v2:x.yaml:3`"
    assert row[5] == ("minReplicas is 1 \\| needs 2,<br>see: docs 100% &lt;ok&gt; &amp; more"
                      "<br>**Fix:** set `minReplicas: 2` \\| or waive")


def test_markdown_neutralises_markup_outside_code_spans() -> None:
    finding = Finding("r", Severity.ERROR, "a *b* _c_ [d](e) <script> `x | <y>` \\ ``z`` tail `", file="f|g`.yaml")
    row = _table_rows(render([finding], "markdown", CONTEXT))[1]
    assert len(row) == 6
    assert row[5] == "a \\*b\\* \\_c\\_ \\[d\\](e) &lt;script&gt; `x \\| <y>` \\\\ ``z`` tail \\`"
    assert row[4] == "``f\\|g`.yaml``"


def test_markdown_waived_in_a_collapsed_section() -> None:
    text = render(FINDINGS, "markdown", CONTEXT)
    table, details = text.split("<details>", 1)
    assert "image-digest" not in table
    assert details.startswith("<summary>1 waived finding</summary>\n\n")
    assert details.rstrip().endswith("</details>")
    rows = _table_rows(details)
    assert rows == [["Rule", "Environment", "Object", "File", "Message", "Reason"],
                    ["`image-digest`", "prod", "`ServingRuntime/ml-prod/ovms`", "`base/serving/rt.yaml:9`",
                     "image is tag-only", "vendor ships tags only"]]
    only_waived = render([WAIVED], "markdown", CONTEXT)
    assert "| Severity |" not in only_waived and "<details>" in only_waived


def test_markdown_no_findings() -> None:
    assert render([], "markdown", CONTEXT) == (
        "### mlops validate: no findings in 42 objects across dev, test, prod\n\nNo findings.\n")


def test_markdown_stays_under_the_comment_limit() -> None:
    many = [Finding("schema", Severity.ERROR, "x" * 500, file=f"f{i:04}.yaml", line=1) for i in range(300)]
    waived = [Finding("image-digest", Severity.ERROR, "y", file="z.yaml", waived="r")]
    text = render(many + waived, "markdown", CONTEXT)
    assert len(text) <= MARKDOWN_LIMIT
    shown = len(_table_rows(text.split("<details>")[0])) - 1
    assert 0 < shown < 300
    assert f"_{300 - shown} more findings not shown: see the job's log._" in text
    assert "1 more waived finding not shown." in text and "</details>" in text


# -- schema coverage: every format says how many objects met a schema -------------------------------

COVERAGE = SchemaCoverage({"dev": (40, 41), "prod": (41, 41)}, ("Widget example.com/v1",))
COVERED = ReportContext(tool_version="9.9.9", environments=("dev", "prod"), objects_checked=82, coverage=COVERAGE)


def test_coverage_in_the_text_github_and_markdown_summaries() -> None:
    line = "81 of 82 objects schema-checked (no schema: Widget example.com/v1)"
    assert render([SCHEMA], "text", COVERED).splitlines()[-1].endswith("; " + line)
    summary = f"no findings in 82 objects across dev, prod; {line}"
    assert render([], "github", COVERED).endswith(f"::notice title=mlops::{summary}\n")
    assert render([], "markdown", COVERED).startswith(f"### mlops validate: {summary}")


def test_coverage_in_json_and_sarif(contracts_dir: Path) -> None:
    expected = {"checked": 81, "total": 82, "percent": 98.8, "unchecked_kinds": ["Widget example.com/v1"],
                "by_environment": {"dev": {"checked": 40, "total": 41}, "prod": {"checked": 41, "total": 41}}}
    assert json.loads(render([SCHEMA], "json", COVERED))["summary"]["schema_coverage"] == expected
    log = json.loads(render([SCHEMA], "sarif", COVERED))
    assert log["runs"][0]["properties"]["schemaCoverage"] == expected
    sarif_validator(contracts_dir).validate(log)


def test_coverage_in_junit_per_environment() -> None:
    root = ElementTree.fromstring(render([SCHEMA], "junit", COVERED))
    figures = {suite.get("name"): {p.get("name"): p.get("value") for p in suite.iter("property")}
               for suite in root.iter("testsuite")}
    assert figures["dev"] == {"objects-schema-checked": "40", "objects-rendered": "41"}
    assert figures["prod"] == {"objects-schema-checked": "41", "objects-rendered": "41"}


# -- one finding per cause ----------------------------------------------------------------------


def test_the_same_source_line_in_several_targets_is_one_finding_listing_them() -> None:
    base = Finding("image-digest", Severity.ERROR, "image is tag-only", file="base/rt.yaml", line=9, object=RUNTIME)
    copies = [replace(base, environment=name) for name in ("dev", "test", "prod")]
    other_line = replace(base, environment="dev", line=10)
    [merged, separate] = one_per_cause([*copies, other_line])
    assert merged.environments == ("dev", "test", "prod") and separate.environments == ("dev",)
    assert "[image-digest] dev, test, prod ServingRuntime" in render([merged], "text", CONTEXT)
    assert json.loads(render([merged], "json", CONTEXT))["findings"][0]["environments"] == ["dev", "test", "prod"]
    suites = {s.get("name"): int(s.get("failures") or 0)
              for s in ElementTree.fromstring(render([merged], "junit", CONTEXT)).iter("testsuite")}
    assert suites == {"dev": 1, "test": 1, "prod": 1}  # each target's suite fails


def test_a_merged_finding_names_no_namespace_that_only_one_target_has() -> None:
    base = Finding("image-digest", Severity.ERROR, "image is tag-only", file="base/rt.yaml", line=9)
    copies = [replace(base, environment=name, object=ObjectRef("ServingRuntime", "ovms", f"mlops-{name}", "v1alpha1"))
              for name in ("dev", "test", "prod")]
    [merged] = one_per_cause(copies)
    assert merged.environments == ("dev", "test", "prod")
    assert merged.object == ObjectRef("ServingRuntime", "ovms", None, "v1alpha1")
    assert "dev, test, prod ServingRuntime/ovms:" in render([merged], "text", CONTEXT)
    suites = ElementTree.fromstring(render([merged], "junit", CONTEXT)).iter("testsuite")
    assert all("mlops-dev" not in ElementTree.tostring(suite, encoding="unicode") for suite in suites)
    same_namespace = one_per_cause([replace(copy, object=RUNTIME) for copy in copies])
    assert [finding.object for finding in same_namespace] == [RUNTIME]


def test_findings_about_objects_of_other_names_stay_apart() -> None:
    base = Finding("image-digest", Severity.ERROR, "image is tag-only", file="base/rt.yaml", line=9)
    prefixed = [replace(base, environment=name, object=ObjectRef("ServingRuntime", f"{name}-ovms", "ml"))
                for name in ("dev", "prod")]
    assert [(f.environments, f.object) for f in one_per_cause(prefixed)] == [
        (("dev",), prefixed[0].object), (("prod",), prefixed[1].object)]


def test_many_targets_are_counted_and_no_message_is_longer_than_the_limit() -> None:
    long = Finding("argocd-source-path", Severity.ERROR, "x" * 20_000, file="a.yaml", line=1, environment="t0")
    merged = one_per_cause([replace(long, environment=f"t{i}") for i in range(16)])
    assert len(merged) == 1 and len(merged[0].message) == MESSAGE_LIMIT
    assert merged[0].targets_label() == "t0 and 15 other targets"
