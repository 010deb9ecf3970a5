"""GitHub answers that are not what GitHub documents: one line, exit 3, nothing left behind.

A proxy's login page with 200, `{}`, a pull request without its number or head, JSON cut off
by a dropped connection, an empty body: each at each request of promote, add-version
--pull-request and comment, and in status (where it becomes a note under the table).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from github_standin import RawAnswer, github  # noqa: F401 - the fixture
from mlops.cli import main
from mlops.git import Git
from test_promote import mlops, remote_refs, workspace  # noqa: F401 - the fixture
from test_register import ARGS as REGISTER_ARGS

pytestmark = pytest.mark.slow  # end to end: git remotes and the GitHub stand-in

HTML = RawAnswer(200, "text/html; charset=utf-8", b"<html><body>Sign in to continue</body></html>")
EMPTY_OBJECT = RawAnswer(200, "application/json; charset=utf-8", b"{}")
EMPTY_BODY = RawAnswer(200, "application/json; charset=utf-8", b"")
TRUNCATED = RawAnswer(201, "application/json; charset=utf-8", b'{"number": 1, "head": {"ref": "mlops/pro')
NO_NUMBER = RawAnswer(201, "application/json", json.dumps({"html_url": "https://x/1", "head": {"ref": "h"},
                                                           "base": {"ref": "main"}}).encode())
NO_HEAD = RawAnswer(201, "application/json", json.dumps({"number": 1, "base": {"ref": "main"}}).encode())
NUMBER_AS_TEXT = RawAnswer(201, "application/json", json.dumps({"number": "1", "head": {"ref": "h"},
                                                                "base": {"ref": "main"}}).encode())
NO_CONTENT_TYPE = RawAnswer(200, "", b"[]")

FIND = ("GET", r"/pulls$")
OPEN = ("POST", r"/pulls$")
LABELS = ("POST", r"/labels$")

PULL_REQUEST_ANSWERS = [
    pytest.param(FIND, HTML, "with text/html, not JSON", id="find-html"),
    pytest.param(FIND, EMPTY_OBJECT, "an empty object {} where GitHub documents a list", id="find-empty-object"),
    pytest.param(FIND, EMPTY_BODY, "an empty answer where GitHub documents a list", id="find-empty-body"),
    pytest.param(FIND, NO_CONTENT_TYPE, "with no content type, not JSON", id="find-no-content-type"),
    pytest.param(OPEN, HTML, "with text/html, not JSON", id="open-html"),
    pytest.param(OPEN, EMPTY_OBJECT, "with no field 'number'", id="open-empty-object"),
    pytest.param(OPEN, TRUNCATED, "JSON that does not parse", id="open-truncated"),
    pytest.param(OPEN, NO_NUMBER, "with no field 'number'", id="open-no-number"),
    pytest.param(OPEN, NO_HEAD, "with no field 'head.ref'", id="open-no-head"),
    pytest.param(OPEN, NUMBER_AS_TEXT, "with a str as field 'number'", id="open-number-as-text"),
    pytest.param(LABELS, HTML, "with text/html, not JSON", id="labels-html"),
]


def assert_one_line(stderr: str, words: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert words in lines[0] and "Traceback" not in stderr
    return lines[0]


def no_open_pull_request(standin: Any) -> bool:
    return all(pull["state"] == "closed" for pull in standin.pulls.values())


@pytest.mark.parametrize(("request_", "answer", "words"), PULL_REQUEST_ANSWERS)
def test_promote(workspace: tuple[Path, Path], github: Any, request_: tuple[str, str],  # noqa: F811
                 answer: RawAnswer, words: str) -> None:
    clone, remote = workspace
    state, refs = Git(clone).state(), remote_refs(remote)
    github.answer_next(*request_, answer)
    result = mlops(clone, "promote", "fraud-detection", "--to", "test")
    assert result.exit_code == 3, result.output
    line = assert_one_line(result.stderr, words)
    assert "the push of mlops/promote/fraud-detection-test-1.2.0 was undone" in line
    assert Git(clone).state() == state and remote_refs(remote) == refs
    assert no_open_pull_request(github)
    if request_ == LABELS:  # GitHub had opened it: it is closed again, never left without its labels
        assert "pull request #1 was closed again" in line and github.pulls[1]["state"] == "closed"


@pytest.mark.parametrize(("request_", "answer", "words"), [
    pytest.param(FIND, HTML, "not JSON", id="find-html"),
    pytest.param(OPEN, EMPTY_OBJECT, "with no field 'number'", id="open-empty-object"),
    pytest.param(OPEN, TRUNCATED, "does not parse", id="open-truncated"),
])
def test_add_version_pull_request(workspace: tuple[Path, Path], github: Any, request_: tuple[str, str],  # noqa: F811
                                  answer: RawAnswer, words: str) -> None:
    clone, remote = workspace
    state, refs = Git(clone).state(), remote_refs(remote)
    github.answer_next(*request_, answer)
    result = mlops(clone, *REGISTER_ARGS)
    assert result.exit_code == 3, result.output
    assert "the push of mlops/register/fraud-detection-1.3.0 was undone" in assert_one_line(result.stderr, words)
    assert Git(clone).state() == state and remote_refs(remote) == refs
    assert no_open_pull_request(github)


@pytest.mark.parametrize(("request_", "answer", "words"), [
    pytest.param(("GET", r"^/user$"), EMPTY_OBJECT, "with no field 'login' in a user", id="user-empty-object"),
    pytest.param(("GET", r"^/user$"), HTML, "not JSON", id="user-html"),
    pytest.param(("GET", r"/comments$"), EMPTY_OBJECT, "where GitHub documents a list of issue comments",
                 id="comments-empty-object"),
    pytest.param(("GET", r"/comments$"), TRUNCATED, "does not parse", id="comments-truncated"),
    pytest.param(("POST", r"/comments$"), HTML, "not JSON", id="post-html"),
])
def test_comment(tmp_path: Path, github: Any, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                 request_: tuple[str, str], answer: RawAnswer, words: str) -> None:
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", github.repository)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    github.pulls[3] = {"state": "open", "head": {"ref": "feature"}, "base": {"ref": "main"}}
    github.answer_next(*request_, answer)
    result = CliRunner().invoke(main, ["comment", "3", "--repo", str(tmp_path)], input="preview\n")
    assert result.exit_code == 3, result.output
    assert_one_line(result.stderr, words)
    assert github.comments == {}


def test_status_shows_the_table_with_a_note(workspace: tuple[Path, Path], github: Any) -> None:  # noqa: F811
    clone, _ = workspace
    github.answer_next(*FIND, HTML)
    result = mlops(clone, "status")
    assert result.exit_code == 0, result.output
    assert "fraud-detection" in result.stdout
    assert "open pull requests unknown: GitHub GET /repos/" in result.stdout and "not JSON" in result.stdout
