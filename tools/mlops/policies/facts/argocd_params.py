"""ApplicationSet parameters as the controller computes them: templates, path globs, path parameters.

Sources in argo-cd: `applicationset/utils/utils.go` (fasttemplate and Go template rendering),
`applicationset/utils/template_functions.go` (`SanitizeName`), `applicationset/generators/git.go`
(path parameters of the git directory and file generators, flattening of file content).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

IN_CLUSTER = "https://kubernetes.default.svc"


TEMPLATE_EXPRESSION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")


_INVALID_DNS = re.compile(r"[^-a-z0-9.]")


def dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _scalar(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None


def sanitize_name(name: str) -> str:
    """Argo CD's `SanitizeName`: lower case, `[^-a-z0-9.]` to `-`, 253 characters, no `-`/`.` at the ends."""
    return _INVALID_DNS.sub("-", name.lower())[:253].strip("-.")


def lookup_param(params: dict[str, Any], expression: str) -> Any:
    if expression in params:  # fasttemplate keys are flat: `path.basename`, `path[1]`
        return params[expression]
    value: Any = params
    for part in expression.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def render_template(text: str, params: dict[str, Any], go: bool) -> str | None:
    """Substitute ApplicationSet parameters into one string; None when something stays unknown."""
    unresolved = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal unresolved
        expression = match.group(1).strip()
        value: Any = None
        if go:
            index = re.fullmatch(r"index\s+\.([\w.]+)\s+(\d+)", expression)
            if index:
                items = lookup_param(params, index.group(1))
                position = int(index.group(2))
                value = items[position] if isinstance(items, list) and position < len(items) else None
            elif expression.startswith("."):
                value = lookup_param(params, expression[1:])
        else:
            value = lookup_param(params, expression)
        if _scalar(value) is None:
            unresolved = True
            return match.group(0)
        return str(value)

    result = TEMPLATE_EXPRESSION.sub(substitute, text)
    return None if unresolved else result


def render_tree(value: Any, params: dict[str, Any], go: bool) -> Any:
    if isinstance(value, dict):
        return {k: render_tree(v, params, go) for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(v, params, go) for v in value]
    if isinstance(value, str) and "{{" in value:
        rendered = render_template(value, params, go)
        return value if rendered is None else rendered
    return value


def path_match(pattern: str, path: str) -> bool:
    """Go's `path.Match`, which the git directory generator uses: `*` never crosses a `/`."""
    pattern_parts, path_parts = pattern.strip("/").split("/"), path.strip("/").split("/")
    if len(pattern_parts) != len(path_parts):
        return False
    return all(fnmatch.fnmatchcase(part, glob.replace("[^", "[!"))
               for glob, part in zip(pattern_parts, path_parts, strict=True))


def pathspec_match(pattern: str, path: str) -> bool:
    """git's default pathspec glob (what `git ls-files -- PATTERN` uses): `*` also crosses `/`."""
    return fnmatch.fnmatchcase(path, pattern.strip("/").replace("[^", "[!"))


def clean_path(path: str) -> str:
    cleaned = PurePosixPath(path.strip()).as_posix()
    return "" if cleaned == "." else cleaned.removeprefix("./").rstrip("/")


def normalize_repo(url: str) -> str:
    """Argo CD compares repository URLs case-insensitively and without `.git` or a trailing `/`."""
    url = url.strip().lower().rstrip("/")
    return url.removesuffix(".git")


def is_glob(value: str) -> bool:
    return any(c in value for c in "*?[")


def cluster_of(destination: dict[str, str]) -> str:
    server = destination.get("server", "").rstrip("/")
    if server:
        return server
    name = destination.get("name", "")
    return IN_CLUSTER if name in ("", "in-cluster") else f"name:{name}"


def path_params(folder: str, go: bool, filename: str | None = None) -> dict[str, Any]:
    segments = folder.split("/")
    basename = segments[-1]
    if go:
        path: dict[str, Any] = {"path": folder, "basename": basename, "basenameNormalized": sanitize_name(basename),
                                "segments": segments}
        if filename is not None:
            path |= {"filename": filename, "filenameNormalized": sanitize_name(filename)}
        return {"path": path}
    params: dict[str, Any] = {"path": folder, "path.basename": basename,
                              "path.basenameNormalized": sanitize_name(basename)}
    if filename is not None:
        params |= {"path.filename": filename, "path.filenameNormalized": sanitize_name(filename)}
    params.update({f"path[{i}]": s for i, s in enumerate(segments) if s})
    return params


def flatten_params(value: Any, prefix: str = "") -> dict[str, Any]:
    """A JSON object as fasttemplate parameters: nested keys joined with dots, values as text."""
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten_params(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list):
        flat = {}
        for index, item in enumerate(value):
            flat.update(flatten_params(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix: "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))}


@dataclass(frozen=True)
class ParamSet:
    """One parameter set of a generator, and the JSON path of what produced it (an element, a file)."""

    params: dict[str, Any]
    origin: str
    #: the keys the element at `origin` writes itself (list elements), empty when params are derived
    fields: frozenset[str] = frozenset()
