"""A local stand-in for GitHub's pull-request API that holds every request to GitHub's contract.

It serves the operations of `tests/contracts/github-pulls.openapi.json` (GitHub's own description,
trimmed; see `tests/contracts/PROVENANCE.md`) on loopback
with in-memory state. Each request is checked against that description (the path names an
operation, path and query parameters match their schemas, the JSON body matches the request
body schema); each answer is checked against the response schema before it is sent. Anything
off is recorded in `violations`, and the `github` fixture fails the test at teardown, so a client
that sends a field GitHub does not know cannot pass.
"""

from __future__ import annotations

import copy
import http.server
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest

from loopback import serving

OWNER, NAME = "example-org", "rhoai-mlops-gitops"
_PRIVATE: frozenset[str] = frozenset()
NOW = "2026-11-25T00:00:00Z"


def _nullable(schema: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` as JSON Schema (a `null` alternative)."""
    if isinstance(schema, list):
        return [_nullable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _nullable(value) for key, value in schema.items()}
    if converted.pop("nullable", False):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def example(schema: dict[str, Any]) -> Any:
    """A small instance that satisfies `schema` (required properties only)."""
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        return example(next((o for o in options if o.get("type") != "null"), options[0]))
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example(part)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {key: example(properties.get(key, {"type": "string"})) for key in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    return {"date-time": NOW, "uri": "https://example.com/x", "email": "bot@example.com"}.get(fmt, "x")


@dataclass
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]

    def response_schema(self, status: int) -> dict[str, Any] | None:
        response = self.spec.get("responses", {}).get(str(status))
        if response is None:
            return None
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        return _nullable(schema) if schema else None


def load_operations(spec_path: Path) -> list[Operation]:
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    operations = []
    for template, item in spec["paths"].items():
        regex = "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        for method, operation in item.items():
            if method in ("get", "post", "patch", "put", "delete"):
                operations.append(Operation(method.upper(), template, re.compile(regex), operation))
    return operations


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    body: dict[str, Any] | None
    times: int


@dataclass(frozen=True)
class RawAnswer:
    """An answer sent byte for byte, whatever the contract says: HTML from a proxy, cut-off JSON."""

    status: int
    content_type: str
    body: bytes


@dataclass
class Hold:
    """A request kept waiting: `reached` is set when it arrives, it is answered once `release` is set."""

    method: str
    path: re.Pattern[str]
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class StandIn:
    """State and contract checks; `serve` runs it on loopback."""

    operations: list[Operation]
    url: str = ""
    repository: str = f"{OWNER}/{NAME}"
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]], Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    reviewers: dict[int, list[str]] = field(default_factory=dict)
    team_reviewers: dict[int, list[str]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    identity: str = "mlops-bot"  # the account the token acts as: GET /user, author of new comments
    lock: threading.Lock = field(default_factory=threading.Lock)
    raw: list[tuple[str, re.Pattern[str], RawAnswer]] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    #: the bare repository GitHub "hosts": PUT .../merge merges there, as GitHub's merge button does
    git_remote: Path | None = None

    def fail_next(self, method: str, path_regex: str, status: int, body: dict[str, Any] | None = None,
                  times: int = 1) -> None:
        self.faults.append(Fault(method, re.compile(path_regex), status, body, times))

    def answer_next(self, method: str, path_regex: str, answer: RawAnswer) -> None:
        """Answer the next matching request with `answer` instead of the contract's JSON."""
        self.raw.append((method, re.compile(path_regex), answer))

    def hold(self, method: str, path_regex: str) -> Hold:
        """Keep the next matching request waiting until the test releases it."""
        held = Hold(method, re.compile(path_regex))
        self.holds.append(held)
        return held

    def _wait_if_held(self, method: str, path: str) -> None:
        for held in self.holds:
            if held.method == method and held.path.search(path) and not held.reached.is_set():
                held.reached.set()
                held.release.wait(timeout=60)
                return

    def merge(self, number: int, *, merged_at: datetime | None = None, method: str = "merge") -> str:
        """Merge pull request `number` into its base in `git_remote`, as GitHub does; returns the new commit.

        `merged_at` (default: now) is both the pull request's `merged_at` and the committer date of
        the commit GitHub writes, so a test can say "merged four days ago".
        """
        assert self.git_remote is not None, "set github.git_remote to the bare repository first"
        pull = self.pulls[number]
        when = (merged_at or datetime.now(UTC)).astimezone(UTC)
        env = {**os.environ, "GIT_COMMITTER_DATE": when.isoformat(), "GIT_AUTHOR_DATE": when.isoformat(),
               "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}

        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=self.git_remote, env=env, check=True, capture_output=True,
                                  text=True).stdout.strip()

        base, head = pull["base"]["ref"], pull["head"]["ref"]
        base_sha, head_sha = git("rev-parse", f"refs/heads/{base}"), git("rev-parse", f"refs/heads/{head}")
        tree = git("merge-tree", "--write-tree", base_sha, head_sha).splitlines()[0]
        if method == "squash":
            sha = git("commit-tree", tree, "-p", base_sha, "-m", f"{pull['title']} (#{number})")
        else:
            sha = git("commit-tree", tree, "-p", base_sha, "-p", head_sha, "-m",
                      f"Merge pull request #{number} from {OWNER}/{head}\n\n{pull['title']}")
        git("update-ref", f"refs/heads/{base}", sha, base_sha)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        pull.update(state="closed", merged=True, merged_at=stamp, closed_at=stamp, merge_commit_sha=sha)
        return sha

    # -- contract -------------------------------------------------------------------------

    def _check_request(self, operation: Operation, params: dict[str, str], query: dict[str, list[str]],
                       body: Any) -> None:
        where = f"{operation.method} {operation.template}"
        declared = {(p["in"], p["name"]): p for p in operation.spec.get("parameters", [])}
        for (place, name), parameter in declared.items():
            value: Any
            if place == "path":
                value = params.get(name)
            elif place == "query":
                value = query.get(name, [None])[0]
            else:
                continue
            if value is None:
                if parameter.get("required"):
                    self.violations.append(f"{where}: missing required {place} parameter {name!r}")
                continue
            schema = _nullable(parameter.get("schema", {}))
            if schema.get("type") == "integer":
                if not re.fullmatch(r"-?\d+", str(value)):
                    self.violations.append(f"{where}: {place} parameter {name}={value!r} is not an integer")
                    continue
                value = int(value)
            elif schema.get("type") == "boolean":
                value = {"true": True, "false": False}.get(str(value), value)
            self._validate(value, schema, f"{where}: {place} parameter {name}")
        for name in query:
            if ("query", name) not in declared:
                self.violations.append(f"{where}: unknown query parameter {name!r}")
        request_body = operation.spec.get("requestBody")
        if request_body is None:
            if body is not None:
                self.violations.append(f"{where}: sends a body the operation does not take")
            return
        if body is None:
            if request_body.get("required"):
                self.violations.append(f"{where}: the request body is required")
            return
        schema = request_body.get("content", {}).get("application/json", {}).get("schema", {})
        self._validate(body, _nullable(schema), f"{where}: request body")
        if isinstance(body, dict) and isinstance(schema.get("properties"), dict):
            unknown = set(body) - set(schema["properties"])
            if unknown:
                self.violations.append(f"{where}: request body has unknown field(s) {sorted(unknown)}")

    def _validate(self, instance: Any, schema: dict[str, Any], what: str) -> None:
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(instance), key=lambda e: list(e.path))
        for error in errors[:3]:
            self.violations.append(f"{what}: {error.message} at {list(error.path)}")

    def _respond(self, operation: Operation, status: int, body: Any) -> tuple[int, Any]:
        schema = operation.response_schema(status)
        if schema is not None and body is not None:
            errors = list(jsonschema.Draft7Validator(schema).iter_errors(body))
            if errors:
                self.violations.append(f"stand-in bug: {operation.method} {operation.template} {status} answer: "
                                       f"{errors[0].message}")
        return status, body

    # -- behaviour ------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, body: Any) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query)
        self._wait_if_held(method, parts.path)
        with self.lock:
            self.requests.append((method, parts.path, query, body))
            for operation in self.operations:
                match = operation.pattern.match(parts.path)
                if match and operation.method == method:
                    break
            else:
                self.violations.append(f"{method} {parts.path}: no such operation in GitHub's description")
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            params = match.groupdict()
            self._check_request(operation, params, query, body)
            for fault in self.faults:
                if fault.method == method and fault.path.search(parts.path) and fault.times > 0:
                    fault.times -= 1
                    return fault.status, fault.body or _error_body(fault.status)
            for index, (raw_method, pattern, answer) in enumerate(self.raw):
                if raw_method == method and pattern.search(parts.path):
                    del self.raw[index]
                    return answer.status, answer
            if f"{params.get('owner')}/{params.get('repo')}" != self.repository and "owner" in params:
                return 404, _error_body(404)
            return self._respond(operation, *self._dispatch(operation, params, query, body))

    def _dispatch(self, operation: Operation, params: dict[str, str], query: dict[str, list[str]],
                  body: Any) -> tuple[int, Any]:
        key = (operation.method, operation.template)
        if key == ("GET", "/repos/{owner}/{repo}"):
            repo = example(operation.response_schema(200) or {})
            repo.update(name=NAME, full_name=self.repository, default_branch="main")
            return 200, repo
        if key == ("GET", "/repos/{owner}/{repo}/pulls"):
            state = query.get("state", ["open"])[0]
            head = query.get("head", [None])[0]
            base = query.get("base", [None])[0]
            found = [
                self._pull_simple(pull) for pull in self.pulls.values()
                if (state == "all" or pull["state"] == state)
                and (head is None or f"{OWNER}:{pull['head']['ref']}" == head)
                and (base is None or pull["base"]["ref"] == base)
            ]
            return 200, found
        if key == ("POST", "/repos/{owner}/{repo}/pulls"):
            duplicate = [p for p in self.pulls.values() if p["state"] == "open" and p["head"]["ref"] == body.get("head")
                         and p["base"]["ref"] == body.get("base")]
            if duplicate:
                return 422, {"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest",
                             "errors": [{"resource": "PullRequest", "code": "custom",
                                         "message": f"A pull request already exists for {OWNER}:{body['head']}."}]}
            number = len(self.pulls) + 1
            pull = self._new_pull(operation, number, body)
            self.pulls[number] = pull
            return 201, pull
        if key == ("GET", "/user"):
            user = example(operation.response_schema(200) or {})
            user.update(login=self.identity, type="Bot" if self.identity.endswith("[bot]") else "User")
            return 200, user
        if key == ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"):
            comment = self.comments.get(int(params["comment_id"]))
            if comment is None:
                return 404, _error_body(404)
            comment.update(body=body["body"], updated_at=NOW)
            return 200, comment
        number = int(params.get("pull_number") or params.get("issue_number") or 0)
        pull = self.pulls.get(number)
        if pull is None:
            return 404, _error_body(404)
        if key == ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"):
            return 200, pull
        if key == ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}"):
            for name in ("title", "body", "state"):
                if name in body:
                    pull[name] = body[name]
            return 200, pull
        if key == ("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"):
            if pull["state"] != "open":
                return 405, {"message": "Pull Request is not mergeable", "documentation_url": "https://docs.github.com/rest"}
            sha = self.merge(number, method=(body or {}).get("merge_method") or "merge")
            return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
        if key == ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels"):
            names = body.get("labels", []) if isinstance(body, dict) else body
            for name in names:
                if all(label["name"] != name for label in pull["labels"]):
                    pull["labels"].append(self._label(name))
            return 200, pull["labels"]
        if key == ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"):
            per_page = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
            on_issue = [c for c in self.comments.values() if c["issue_url"].endswith(f"/issues/{number}")]
            return 200, on_issue[(page - 1) * per_page:page * per_page]
        if key == ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"):
            comment = example(operation.response_schema(201) or {})
            comment_id = len(self.comments) + 1
            comment.update(id=comment_id, body=body["body"], created_at=NOW, updated_at=NOW,
                           html_url=f"https://github.example/{self.repository}/pull/{number}#issuecomment-{comment_id}",
                           issue_url=f"{self.url}/repos/{self.repository}/issues/{number}")
            comment["user"] = {**comment["user"], "login": self.identity}
            self.comments[comment_id] = comment
            return 201, comment
        if key == ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"):
            self.reviewers.setdefault(number, []).extend(body.get("reviewers", []))
            self.team_reviewers.setdefault(number, []).extend(body.get("team_reviewers", []))
            simple = self._pull_simple(pull)
            return 201, simple
        return 404, _error_body(404)

    def _label(self, name: str) -> dict[str, Any]:
        return {"id": abs(hash(name)) % 10**6, "node_id": "L", "url": f"{self.url}/labels/{name}", "name": name,
                "description": "", "color": "ededed", "default": False}

    def _new_pull(self, operation: Operation, number: int, body: dict[str, Any]) -> dict[str, Any]:
        pull = example(operation.response_schema(201) or {})
        html = f"https://github.example/{self.repository}/pull/{number}"
        pull.update(number=number, id=number, title=body.get("title", ""), body=body.get("body"), state="open",
                    html_url=html, labels=[], draft=bool(body.get("draft", False)), merged=False, merged_at=None,
                    closed_at=None, merge_commit_sha=None)
        for side in ("head", "base"):
            ref = copy.deepcopy(pull[side])
            ref.update(ref=body[side], label=f"{OWNER}:{body[side]}", sha="0" * 40)
            pull[side] = ref
        return pull

    def _pull_simple(self, pull: dict[str, Any]) -> dict[str, Any]:
        listing = "/repos/{owner}/{repo}/pulls"
        operation = next(o for o in self.operations if o.method == "GET" and o.template == listing)
        schema = (operation.response_schema(200) or {}).get("items", {})
        simple = example(schema)
        for key in simple:
            if key in pull:
                simple[key] = copy.deepcopy(pull[key])
        return {key: value for key, value in simple.items() if key not in _PRIVATE}


def _error_body(status: int) -> dict[str, Any]:
    messages = {401: "Bad credentials", 403: "Resource not accessible by integration", 404: "Not Found",
                422: "Validation Failed", 500: "Server Error", 502: "Bad Gateway"}
    body: dict[str, Any] = {"message": messages.get(status, "Error"),
                            "documentation_url": "https://docs.github.com/rest", "status": str(status)}
    if status == 422:
        body["errors"] = [{"resource": "PullRequest", "code": "invalid", "field": "base"}]
    return body


def _handler(standin: StandIn) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    standin.violations.append(f"{self.command} {self.path}: body is not JSON")
            if self.headers.get("Authorization", "") == "":
                standin.violations.append(f"{self.command} {self.path}: no Authorization header")
            status, answer = standin.handle(self.command, self.path, body)
            content_type = "application/json; charset=utf-8"
            if isinstance(answer, RawAnswer):
                content_type, data = answer.content_type, answer.body
            else:
                data = json.dumps(answer).encode() if answer is not None else b""
            try:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a test interrupted it): nobody to answer

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def github(contracts_dir: Path) -> Iterator[StandIn]:
    """The stand-in on a free loopback port; the test fails if any request broke the contract."""
    standin = StandIn(load_operations(contracts_dir / "github-pulls.openapi.json"))
    with serving(_handler(standin)) as url:
        standin.url = url
        yield standin
    assert standin.violations == [], "requests broke GitHub's contract:\n" + "\n".join(standin.violations)
