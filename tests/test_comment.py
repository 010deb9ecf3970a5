"""`mlops comment`: the one pull-request comment a workflow keeps up to date, against the stand-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from github_standin import NOW, github  # noqa: F401 - the fixture
from mlops.cli import main
from mlops.forge.github import GitHub


@pytest.fixture
def pull(github: Any, monkeypatch: pytest.MonkeyPatch) -> int:  # noqa: F811 - fixture injection
    """An open pull request (number) and the environment a workflow gives `mlops`."""
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", github.repository)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.delenv("GH_TOKEN", raising=False)
    client = GitHub(github.repository, "test-token", api_url=github.url)
    opened, _ = client.open_or_update_pull_request(head="feature", base="main", title="t", body="b",
                                                   labels=[], reviewers=[])
    client.close()
    return int(opened.number)


def comment(tmp_path: Path, number: int, body: str, *extra: str) -> Result:
    return CliRunner().invoke(main, ["comment", str(number), "--repo", str(tmp_path), *extra], input=body)


def test_second_run_edits_the_first_comment(tmp_path: Path, pull: int, github: Any) -> None:  # noqa: F811
    first = comment(tmp_path, pull, "### Rendered changes\n\none\n")
    assert first.exit_code == 0, first.output
    assert "comment posted" in first.stdout
    second = comment(tmp_path, pull, "### Rendered changes\n\ntwo\n")
    assert second.exit_code == 0, second.output
    assert "comment updated" in second.stdout
    assert len(github.comments) == 1
    (only,) = github.comments.values()
    assert only["body"] == "<!-- mlops:mlops-diff -->\n### Rendered changes\n\ntwo\n"


def test_keys_keep_separate_comments(tmp_path: Path, pull: int, github: Any) -> None:  # noqa: F811
    assert comment(tmp_path, pull, "diff", "--key", "mlops-diff").exit_code == 0
    assert comment(tmp_path, pull, "status", "--key", "mlops-status").exit_code == 0
    assert comment(tmp_path, pull, "status 2", "--key", "mlops-status").exit_code == 0
    assert sorted(c["body"] for c in github.comments.values()) == ["<!-- mlops:mlops-diff -->\ndiff",
                                                                  "<!-- mlops:mlops-status -->\nstatus 2"]


def test_finds_its_comment_beyond_the_first_page(tmp_path: Path, pull: int, github: Any) -> None:  # noqa: F811
    assert comment(tmp_path, pull, "mine").exit_code == 0
    (mine,) = github.comments.values()
    # 150 comments by people come after it; the listing returns 100 per page
    for number in range(2, 152):
        github.comments[number] = {**mine, "id": number, "body": f"reviewer note {number}", "created_at": NOW}
    github.comments[1] = github.comments.pop(1)  # now the last one listed: on page 2
    assert comment(tmp_path, pull, "mine, again").exit_code == 0
    assert sum(c["body"].startswith("<!-- mlops:mlops-diff -->") for c in github.comments.values()) == 1
    assert github.comments[1]["body"].endswith("mine, again")
    pages = [query.get("page") for method, path, query, _ in github.requests if path.endswith("/comments")
             and method == "GET"]
    assert ["1"] in pages and ["2"] in pages


@pytest.mark.parametrize(("body", "extra", "message"), [
    ("", (), "the comment body is empty"),
    ("x" * 70_000, (), "GitHub accepts"),
    ("x", ("--key", "has space"), "--key"),
])
def test_bad_input_exits_2_and_sends_nothing(tmp_path: Path, pull: int, github: Any, body: str,  # noqa: F811
                                             extra: tuple[str, ...], message: str) -> None:
    sent = len(github.requests)
    result = comment(tmp_path, pull, body, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert len(github.requests) == sent


def test_github_refusal_is_an_outside_failure(tmp_path: Path, pull: int, github: Any) -> None:  # noqa: F811
    github.fail_next("POST", r"/issues/\d+/comments$", 403)
    result = comment(tmp_path, pull, "preview")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and "answered 403" in result.stderr
    assert github.comments == {}


def test_a_marker_in_someone_elses_comment_is_ignored(tmp_path: Path, pull: int, github: Any) -> None:  # noqa: F811
    github.identity = "mallory"
    assert comment(tmp_path, pull, "prod: none (fake)").exit_code == 0  # mallory writes the marker first
    github.identity = "mlops-bot"
    result = comment(tmp_path, pull, "the real preview")
    assert result.exit_code == 0, result.output
    assert "comment posted" in result.stdout
    bodies = {c["user"]["login"]: c["body"] for c in github.comments.values()}
    assert bodies == {"mallory": "<!-- mlops:mlops-diff -->\nprod: none (fake)",
                      "mlops-bot": "<!-- mlops:mlops-diff -->\nthe real preview"}
    assert all(method != "PATCH" for method, *_ in github.requests)


def test_the_workflow_token_is_github_actions_bot(tmp_path: Path, pull: int, github: Any) -> None:  # noqa: F811
    """GITHUB_TOKEN may not read /user (403): its comments are github-actions[bot]'s."""
    github.identity = "github-actions[bot]"
    github.fail_next("GET", r"^/user$", 403, times=2)
    assert comment(tmp_path, pull, "one").exit_code == 0
    second = comment(tmp_path, pull, "two")
    assert second.exit_code == 0, second.output
    assert "comment updated" in second.stdout and len(github.comments) == 1


def test_author_option_names_the_account(tmp_path: Path, pull: int, github: Any) -> None:  # noqa: F811
    github.identity = "platform-app[bot]"
    assert comment(tmp_path, pull, "one").exit_code == 0
    assert comment(tmp_path, pull, "two", "--author", "platform-app[bot]").exit_code == 0
    assert len(github.comments) == 1
    assert not any(path == "/user" for _, path, *_ in github.requests[-3:])  # --author needs no lookup


def test_the_largest_preview_fits_one_comment(tmp_path: Path, pull: int, github: Any) -> None:  # noqa: F811
    """What `mlops diff --base REF --output markdown` prints for a huge change is accepted by GitHub."""
    from mlops.diff import TargetChanges, diff_objects, render_markdown_all
    from mlops.preview import COMMENT_BUDGET

    before = {("ConfigMap", "ml", f"c{i}"): {"data": {"v": "a" * 500}} for i in range(300)}
    after = {key: {"data": {"v": "b" * 500}} for key in before}
    results = [TargetChanges(env, True, diff_objects(before, after)) for env in ("dev", "test", "prod")]
    result = comment(tmp_path, pull, render_markdown_all(results, "origin/main", limit=COMMENT_BUDGET))
    assert result.exit_code == 0, result.output
    (posted,) = github.comments.values()
    assert len(posted["body"]) <= 65_536
