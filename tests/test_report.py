"""Every output format is a view of the same findings; each is checked against its consumer."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

from mlops.findings import Finding, ObjectRef, Severity
from mlops.report import FORMATS, ReportContext, RuleInfo, render

ISVC = ObjectRef("InferenceService", "fraud", "ml-prod", "serving.kserve.io/v1beta1")
FINDINGS = [
    Finding("schema", Severity.ERROR, "unknown field 'storageURI'", file="models/fraud/isvc.yaml", line=12,
            object=ISVC, environment="prod", path="spec.predictor.model.storageURI", fix="use storageUri"),
    Finding("isvc-min-replicas", Severity.WARNING, "minReplicas is 1 | needs 2,\nsee: docs 100% <ok> & more",
            file="overlays/dev/patch.yaml", line=3, object=ISVC, environment="dev"),
    Finding("image-digest", Severity.ERROR, "image is tag-only", file="base/serving/rt.yaml", line=9,
            object=ObjectRef("ServingRuntime", "ovms", "ml-prod"), environment="prod", waived="vendor ships tags only"),
    Finding("secret-in-git", Severity.ERROR, "AWS key AKIA****", file="notes.yaml", line=None),
    Finding("render", Severity.ERROR, "kustomize failed"),
]
CONTEXT = ReportContext(tool_version="9.9.9", environments=("dev", "prod"), objects_checked=42,
                        rules={"schema": RuleInfo("schema", "Objects match their schema", "Fix the field.")})


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError):
        render(FINDINGS, "yaml", CONTEXT)


def test_text_sorted_with_location_and_summary() -> None:
    lines = render(FINDINGS, "text", CONTEXT).splitlines()
    assert lines[0].startswith("kustomize failed") is False
    assert any(line.startswith("models/fraud/isvc.yaml:12: error [schema] prod InferenceService/ml-prod/fraud: "
                               "unknown field 'storageURI' (at spec.predictor.model.storageURI) — fix: use storageUri")
               for line in lines)
    assert any("waived (vendor ships tags only) [image-digest]" in line for line in lines)
    assert lines[-1] == "3 errors, 1 warnings, 0 infos, 1 waived in 42 objects across dev, prod"
    assert render([], "text", CONTEXT) == "no findings in 42 objects across dev, prod\n"


def test_json_round_trip() -> None:
    document = json.loads(render(FINDINGS, "json", CONTEXT))
    assert document["summary"]["error"] == 3 and document["summary"]["waived"] == 1
    by_rule = {f["rule"]: f for f in document["findings"]}
    assert by_rule["schema"]["object"] == {"kind": "InferenceService", "name": "fraud", "namespace": "ml-prod",
                                           "apiVersion": "serving.kserve.io/v1beta1"}
    assert by_rule["image-digest"]["waived"] == "vendor ships tags only"
    assert by_rule["render"]["file"] is None and by_rule["render"]["object"] is None


def test_github_annotations_escape_and_skip_waived() -> None:
    lines = render(FINDINGS, "github", CONTEXT).splitlines()
    warning = next(line for line in lines if line.startswith("::warning "))
    assert warning.startswith("::warning file=overlays/dev/patch.yaml,line=3,title=")
    message = warning.split("::", 2)[2]
    assert "%0A" in message and "100%25" in message and "\n" not in message
    title = warning.split("title=", 1)[1].split("::", 1)[0]
    assert "," not in title and ":" not in title  # escaped as %2C / %3A
    assert not any("image-digest" in line for line in lines)  # waived: no annotation
    assert any(line.startswith("::error title=") for line in lines)  # no file: no file property


def test_junit_parses_with_consistent_counts() -> None:
    root = ElementTree.fromstring(render(FINDINGS, "junit", CONTEXT))
    suites = root.findall("testsuite")
    assert {suite.get("name") for suite in suites} == {"dev", "prod", "repository"}
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "0")) == len(cases)
        assert int(suite.get("failures", "0")) == sum(1 for c in cases if c.find("failure") is not None)
        assert int(suite.get("skipped", "0")) == sum(1 for c in cases if c.find("skipped") is not None)
    assert int(root.get("failures", "0")) == 3 and int(root.get("skipped", "0")) == 1
    empty = ElementTree.fromstring(render([], "junit", CONTEXT))
    assert [c.get("name") for c in empty.iter("testcase")] == ["all objects valid", "all objects valid"]


def test_sarif_validates_against_the_2_1_0_schema(shared_dir: Path) -> None:
    schema = json.loads((shared_dir / "sarif" / "sarif-schema-2.1.0.json").read_text())
    for findings in (FINDINGS, []):
        log = json.loads(render(findings, "sarif", CONTEXT))
        jsonschema.Draft4Validator(schema).validate(log)
    log = json.loads(render(FINDINGS, "sarif", CONTEXT))
    results = log["runs"][0]["results"]
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    waived = next(r for r in results if r["ruleId"] == "image-digest")
    assert waived["suppressions"] == [{"kind": "inSource", "justification": "vendor ships tags only"}]
    no_line = next(r for r in results if r["ruleId"] == "secret-in-git")
    assert "region" not in no_line["locations"][0]["physicalLocation"]


def test_markdown_table_escapes_and_collapses_waived() -> None:
    text = render(FINDINGS, "markdown", CONTEXT)
    assert "| Severity | Rule | Environment | Object | File | Message |" in text
    row = next(line for line in text.splitlines() if "minReplicas" in line)
    assert "\\|" in row and "<br>" in row and "&lt;ok>" in row
    assert "<details><summary>1 waived</summary>" in text
    assert "No findings." in render([], "markdown", CONTEXT)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_every_finding_shape(fmt: str) -> None:
    assert render(FINDINGS, fmt, CONTEXT).endswith("\n")
