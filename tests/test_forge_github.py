"""The GitHub client against the stand-in, token discovery, and the stand-in's own strictness."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from github_standin import github  # noqa: F401 - the fixture
from mlops.errors import OutsideError
from mlops.forge.github import MAX_BODY, GitHub, repository_from_remote_url
from mlops.forge.token import api_url_from_env, discover_token, repository_from_env


def client(standin: Any) -> GitHub:
    return GitHub(standin.repository, "t0ken", api_url=standin.url)


def test_open_then_update_the_same_pull_request(github: Any) -> None:  # noqa: F811
    gh = client(github)
    pull, created = gh.open_or_update_pull_request(head="mlops/promote/m-test-1.0.0", base="main", title="T",
                                                   body="B", labels=["promotion", "env/test"],
                                                   reviewers=["alice", "example-org/ml-reviewers"])
    assert created and pull.number == 1 and set(pull.labels) == {"promotion", "env/test"}
    assert github.reviewers[1] == ["alice"] and github.team_reviewers[1] == ["ml-reviewers"]
    again, created = gh.open_or_update_pull_request(head="mlops/promote/m-test-1.0.0", base="main", title="T2",
                                                    body="B2", labels=["promotion"], reviewers=[])
    assert not created and again.number == 1 and len(github.pulls) == 1
    assert github.pulls[1]["title"] == "T2" and github.pulls[1]["body"] == "B2"
    assert gh.find_open_pull_request("mlops/promote/m-test-1.0.0", "main") is not None
    assert gh.find_open_pull_request("other", "main") is None
    assert [p.number for p in gh.list_open_pull_requests(head_prefix="mlops/promote/")] == [1]


@pytest.mark.parametrize(("status", "words"), [(401, "GITHUB_TOKEN"), (403, "GITHUB_TOKEN"), (404, "exists"),
                                               (422, "Validation Failed"), (500, "try again")])
def test_errors_are_one_line(github: Any, status: int, words: str) -> None:  # noqa: F811
    github.fail_next("GET", r"/pulls$", status)
    with pytest.raises(OutsideError) as caught:
        client(github).find_open_pull_request("b", "main")
    message = caught.value.one_line()
    assert "\n" not in message and words in message and str(status) in message and "GET /repos/" in message


def test_refused_reviewers_are_a_warning_not_a_failure(github: Any) -> None:  # noqa: F811
    github.fail_next("POST", r"/requested_reviewers$", 422)
    gh = client(github)
    pull, created = gh.open_or_update_pull_request(head="b", base="main", title="t", body="b", labels=[],
                                                   reviewers=["not-a-collaborator"])
    assert created and pull.number == 1
    assert len(gh.warnings) == 1 and "reviewers not requested" in gh.warnings[0]


def test_unreachable_api_is_an_outside_error() -> None:
    gh = GitHub("o/r", "t", api_url="http://127.0.0.1:9", client=httpx.Client(timeout=2))
    with pytest.raises(OutsideError, match="ConnectError"):
        gh.get_repository()


def test_body_over_the_limit_is_refused(github: Any) -> None:  # noqa: F811
    with pytest.raises(ValueError, match="65536"):
        client(github).open_or_update_pull_request(head="b", base="main", title="t", body="x" * (MAX_BODY + 1),
                                                   labels=[], reviewers=[])
    assert github.requests == []


@pytest.mark.parametrize(("url", "expected"), [
    ("https://github.com/example-org/repo.git", "example-org/repo"),
    ("https://github.com/example-org/repo", "example-org/repo"),
    ("git@github.com:example-org/repo.git", "example-org/repo"),
    ("ssh://git@github.com/example-org/repo.git", "example-org/repo"),
    ("https://github.example.com/team/repo.git", "team/repo"),
    ("/srv/git/repo.git", None),
    ("../remote.git", None),
])
def test_repository_from_remote_url(url: str, expected: str | None) -> None:
    assert repository_from_remote_url(url) == expected


def test_token_discovery_order(tmp_path: Path) -> None:
    gh = tmp_path / "gh"
    gh.write_text("#!/bin/sh\n[ \"$1 $2\" = 'auth token' ] && echo from-gh-cli\n")
    gh.chmod(0o755)
    path = f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"
    assert discover_token({"GITHUB_TOKEN": "a", "GH_TOKEN": "b", "PATH": path}) == "a"
    assert discover_token({"GH_TOKEN": "b", "PATH": path}) == "b"
    assert discover_token({"PATH": path}) == "from-gh-cli"
    assert discover_token({"PATH": str(tmp_path / "empty")}) is None
    assert api_url_from_env({}) == "https://api.github.com"
    assert api_url_from_env({"GITHUB_API_URL": "http://x"}) == "http://x"
    assert repository_from_env({"GITHUB_REPOSITORY": "o/r"}) == "o/r"


# --- the stand-in itself must refuse what GitHub would refuse ---


def raw(standin: Any, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, standin.url + path, json=body, headers={"Authorization": "Bearer t"})


def test_standin_records_contract_violations(github: Any) -> None:  # noqa: F811
    base = f"/repos/{github.repository}"
    raw(github, "POST", f"{base}/pulls", {"title": "t", "head": "h", "base": "main", "colour": "red"})
    raw(github, "POST", f"{base}/pulls", {"title": 5, "head": "h2", "base": "main"})
    raw(github, "GET", f"{base}/pulls?per_page=many")
    raw(github, "DELETE", f"{base}/pulls/1")
    violations = list(github.violations)
    github.violations.clear()  # expected here; the fixture fails a test that leaves any
    assert any("unknown field(s) ['colour']" in v for v in violations)
    assert any("is not of type 'string'" in v for v in violations)
    assert any("per_page='many' is not an integer" in v for v in violations)
    assert any("no such operation" in v for v in violations)


def test_standin_answers_duplicate_pull_requests_like_github(github: Any) -> None:  # noqa: F811
    base = f"/repos/{github.repository}/pulls"
    assert raw(github, "POST", base, {"title": "t", "head": "h", "base": "main"}).status_code == 201
    second = raw(github, "POST", base, {"title": "t", "head": "h", "base": "main"})
    assert second.status_code == 422
    assert "already exists" in second.json()["errors"][0]["message"]
