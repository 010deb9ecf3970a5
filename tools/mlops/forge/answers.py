"""Read GitHub's answers defensively: anything but the documented JSON is a one-line OutsideError.

A proxy's login page (HTML with 200), a GitHub Enterprise API root typed without `/api/v3`, an
answer cut off by a dropped connection, or `{}` from a stand-in are not pull requests. Taking
them at face value ends in a KeyError deep inside a promotion; here each becomes an error naming
the request, what came back and what to check, and the promotion undoes its push as for any
other GitHub failure.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx

from ..errors import OutsideError


def _where(response: httpx.Response) -> str:
    request = response.request
    return f"GitHub {request.method} {request.url.path} answered {response.status_code}"


def json_body(response: httpx.Response, api_root: str) -> Any:
    """The decoded JSON of a successful answer (None for an empty one)."""
    if response.status_code == 204 or not response.content:
        return None
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (content_type.endswith("/json") or content_type.endswith("+json")):
        shown = content_type or "no content type"
        raise OutsideError(f"{_where(response)} with {shown}, not JSON; check that GITHUB_API_URL ({api_root}) is "
                           "GitHub's API root (https://api.github.com, or https://HOST/api/v3 for GitHub "
                           "Enterprise Server) and that no proxy answers in its place")
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as error:
        raise OutsideError(f"{_where(response)} with JSON that does not parse ({error}; cut off?); "
                           "try again") from None


def as_object(data: Any, response: httpx.Response, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise OutsideError(f"{_where(response)} with {_kind(data)} where GitHub documents {what}; try again, or "
                           "check GITHUB_API_URL")
    return data


def as_list(data: Any, response: httpx.Response, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise OutsideError(f"{_where(response)} with {_kind(data)} where GitHub documents a list of {what}; "
                           "try again, or check GITHUB_API_URL")
    return data


def field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], response: httpx.Response,
          what: str) -> Any:
    """`data[name]` of the documented type, or an OutsideError naming the field."""
    value: Any = data
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        shown = "no" if value is None else f"a {type(value).__name__} as"
        raise OutsideError(f"{_where(response)} with {shown} field {name!r} in {what}; try again, or check "
                           "GITHUB_API_URL")
    return value


def timestamp(value: Any, name: str, response: httpx.Response) -> datetime | None:
    """An ISO 8601 date-time field (GitHub's `format: date-time`), None when null."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise OutsideError(f"{_where(response)} with {name} {value!r}, which is not a date-time") from None


def _kind(data: Any) -> str:
    if data is None:
        return "an empty answer"
    if isinstance(data, dict):
        return "an object" if data else "an empty object {}"
    if isinstance(data, list):
        return "a list"
    return f"a {type(data).__name__}"
