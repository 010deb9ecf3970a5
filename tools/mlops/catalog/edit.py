"""Edit the model catalog the way a person would: append a version, change nothing else.

`mlops model add-version` is run by training pipelines and by people. The catalog file is read
by reviewers, so the edit keeps every comment, the key order, the quoting and the indentation
of the file (ruamel.yaml round trip), appends one entry at the end of `versions`, checks the
result exactly as `mlops validate` would, and only then replaces the file (atomically: a
half-written catalog must never be committed). Every refusal is a `UsageError` (exit 2) naming
the file.
"""

from __future__ import annotations

import io
import math
import os
import re
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from ..config import Config
from ..errors import UsageError
from ..yamlsource import decode_utf8
from .load import catalog_path, check_text, known_model_names
from .model import VERSION_LABEL, is_model_name, is_semver, parse_created, uri_problem

_METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*")  # all used with fullmatch
_INTEGER = re.compile(r"[-+]?[0-9]+")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_KEY_LINE = re.compile(r"^ *[A-Za-z_\"'][^:#]*:(\s|$)")


@dataclass(frozen=True)
class Recorded:
    """What a tracking server (MLflow) recorded about a version: the defaults of an entry.

    Explicit arguments of `add_version` win over these. With a `Recorded`, every metric the
    model's gates use must be known (from here or from the arguments): a version imported from
    a tracking server should never reach a gate that cannot be decided.
    """

    origin: str  # for messages, e.g. "MLflow run 3f2a..."
    metrics: Mapping[str, int | float] = field(default_factory=dict)
    lineage: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)
    created: str | None = None


class _Float(float):
    """A metric written so that YAML 1.1 readers (PyYAML) and 1.2 readers both see a number."""


def _represent_float(representer: Any, value: _Float) -> Any:
    text = repr(float(value))
    mantissa, _, exponent = text.partition("e")
    if exponent and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"  # 1e-05 is a string to YAML 1.1; 1.0e-05 is a float to both
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


def parse_metrics(pairs: Sequence[str], file: str) -> dict[str, int | float]:
    """`auc=0.97` pairs to numbers; a one-line UsageError naming `file` for anything else."""
    metrics: dict[str, int | float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not _METRIC_NAME.fullmatch(name):
            raise UsageError(f"metric {pair!r} is not NAME=NUMBER (e.g. auc=0.97)", file=file)
        if name in metrics:
            raise UsageError(f"metric {name!r} is given twice", file=file)
        try:
            value: int | float = int(text) if _INTEGER.fullmatch(text) else float(text)
        except ValueError:
            raise UsageError(f"metric {name} value {text!r} is not a number (e.g. {name}=0.97)", file=file) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"metric {name} value {text!r} is not a finite number", file=file)
        metrics[name] = value
    return metrics


def _check_arguments(file: str, version: str, uri: str, digest: str | None, commit: str | None,
                     created: str | None) -> None:
    if not is_semver(version):
        raise UsageError(f"version {version!r} is not a semantic version MAJOR.MINOR.PATCH (e.g. 1.3.0)", file=file)
    if "+" in version:
        raise UsageError(f"version {version!r} has build metadata ('+...'), which the label {VERSION_LABEL} "
                         "cannot hold", file=file)
    problem = uri_problem(uri)
    if problem:
        raise UsageError(problem, file=file)
    if digest is not None:
        if not _DIGEST.fullmatch(digest):
            raise UsageError(f"digest {digest!r} is not sha256:<64 lower-case hex>", file=file)
        if "@sha256:" in uri and not uri.endswith("@" + digest):
            raise UsageError(f"digest {digest} differs from the digest in uri {uri}", file=file)
    if commit is not None and not _COMMIT.fullmatch(commit):
        raise UsageError(f"commit {commit!r} is not a git commit id (7 to 64 lower-case hex digits)", file=file)
    if created is not None and parse_created(created) is None:
        raise UsageError(f"created {created!r} is not an ISO 8601 date or date-time (e.g. 2025-07-08)", file=file)


def _mapping_indent(text: str) -> int:
    """How far the file indents a mapping nested in a mapping (the most common step; 2 if none)."""
    steps: Counter[int] = Counter()
    previous: str | None = None
    for line in text.splitlines():
        content = line.split(" #", 1)[0].rstrip()
        if not content.strip() or content.lstrip().startswith("#"):
            continue
        if previous is not None and previous.endswith(":") and not previous.lstrip().startswith("-") \
                and _KEY_LINE.match(content) and not content.lstrip().startswith("-"):
            step = _indent(content) - _indent(previous)
            if step > 0:
                steps[step] += 1
        previous = content
    return max(steps, key=lambda step: (steps[step], -step)) if steps else 2


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _yaml_for(text: str) -> YAML:
    """A round-trip YAML that writes in the file's own style."""
    _, sequence_indent, offset = load_yaml_guess_indent(text)
    mapping = _mapping_indent(text)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long plain scalars
    yaml.indent(mapping=mapping, sequence=sequence_indent or mapping + 2,
                offset=offset if offset is not None else mapping)
    significant = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if significant and significant[0].startswith("---"):
        yaml.explicit_start = True
    yaml.representer.add_representer(_Float, _represent_float)
    return yaml


def _new_entry(version: str, uri: str, digest: str | None, created: str, metrics: dict[str, int | float],
               lineage: dict[str, str], parameters: Mapping[str, str]) -> CommentedMap:
    entry = CommentedMap()
    entry["version"] = version
    entry["uri"] = uri
    if digest is not None:
        entry["digest"] = digest
    entry["created"] = DoubleQuotedScalarString(created)
    if metrics:
        entry["metrics"] = CommentedMap(
            (name, value if isinstance(value, int) else _Float(value)) for name, value in metrics.items()
        )
    if lineage:
        entry["lineage"] = CommentedMap((key, _string(value)) for key, value in lineage.items())
    if parameters:  # always quoted: the schema wants strings, and "0.01" must not turn into a number
        entry["parameters"] = CommentedMap((key, DoubleQuotedScalarString(value)) for key, value in parameters.items())
    return entry


def _string(value: str) -> str:
    """`value`, double-quoted when a YAML reader would take it plain for something else (1, true, a date)."""
    try:
        plain = yaml.safe_load(value)
    except yaml.YAMLError:
        plain = None
    return value if plain == value else DoubleQuotedScalarString(value)


def _last_key(node: Any) -> tuple[Any, Any] | None:
    """(container, key or index) of the last scalar line of a block node: where ruamel keeps the
    comments that follow it."""
    found = None
    while isinstance(node, CommentedMap | CommentedSeq) and len(node) and not node.fa.flow_style():
        key = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
        found = (node, key)
        node = node[key]
    return found


def _move_trailing_comments(old: Any, new: Any) -> None:
    """Keep the comments between the old last version and the next top-level key (say `# Gates`)
    after the appended version, where they were: ruamel would leave them above it."""
    source, target = _last_key(old), _last_key(new)
    if source is None or target is None:
        return
    container, key = source
    slots = container.ca.items.get(key)
    token = slots[2] if slots and len(slots) > 2 else None
    if token is None or not isinstance(token.value, str):
        return
    first, newline, rest = token.value.partition("\n")
    lines = rest.splitlines(keepends=True)
    split = len(lines)  # the comments at column 0 (and blank lines) just above the next key...
    while split > 0 and (not lines[split - 1].strip() or lines[split - 1].startswith("#")):
        split -= 1
    # ...from the last blank line that still precedes a comment: what comes before it (a commented-out
    # version, say) stays with the versions.
    starts = [i for i in range(split, len(lines)) if not lines[i].strip() and (i == split or lines[i - 1].strip())
              and any(line.strip() for line in lines[i:])]
    if starts:
        split = starts[-1]
    tail = "".join(lines[split:])
    if not tail:
        return
    token.value = first + newline + "".join(lines[:split])
    target_container, target_key = target
    target_container.ca.items[target_key] = [None, None, CommentToken("\n" + tail, token.start_mark), None]


def _line_endings_of(original: str, result: str) -> str:
    """`result` with the line endings most lines of `original` have: ruamel writes \\n only, and a
    catalog saved on Windows (\\r\\n) must not come back with both kinds."""
    crlf = original.count("\r\n")
    if crlf <= original.count("\n") - crlf:
        return result.replace("\r\n", "\n")
    return result.replace("\r\n", "\n").replace("\n", "\r\n")


def _write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename, keeping its permissions."""
    mode = path.stat().st_mode & 0o777
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def require_model(root: Path, model: str) -> Path:
    """The catalog file of `model`; a UsageError listing the known models when there is none."""
    file = catalog_path(model)
    path = root / file
    if not is_model_name(model) or not path.is_file():
        known = ", ".join(known_model_names(root)) or "none"
        raise UsageError(f"no model {model!r} in the catalog ({file} does not exist; known: {known})", file=file)
    return path


def _missing_gate_metric(data: Any, metrics: Mapping[str, object]) -> tuple[str, str] | None:
    """(metric, environment) of the first gate metric that `metrics` lacks, in file order."""
    gates = data.get("gates")
    for environment, gate in (gates.items() if isinstance(gates, dict) else ()):
        thresholds = gate.get("metrics") if isinstance(gate, dict) else None
        for metric in thresholds if isinstance(thresholds, dict) else ():
            if metric not in metrics:
                return str(metric), str(environment)
    return None


def add_version(root: Path, config: Config, model: str, *, version: str, uri: str, digest: str | None = None,
                metrics: Sequence[str] = (), commit: str | None = None, pipeline_run: str | None = None,
                dataset: str | None = None, created: str | None = None, recorded: Recorded | None = None) -> Path:
    """Append a version to `models/<model>/model.yaml`; returns the file. Refusals raise UsageError.

    `metrics` are `NAME=NUMBER` pairs; `created` defaults to the recorded date, else today's (UTC).
    `recorded` holds what a tracking server knows of the version; the other arguments win over it.
    """
    path = require_model(root, model)
    file = catalog_path(model)
    for link in (path.parent, path):
        if link.is_symlink():  # replacing the file would replace the link, not what it points to
            raise UsageError(f"{link.relative_to(root).as_posix()} is a symlink (to {os.readlink(link)!r}); "
                             "mlops model add-version edits the catalog file itself: replace the link with the file",
                             file=file)
    _check_arguments(file, version, uri, digest, commit, created)
    values = {**(recorded.metrics if recorded else {}), **parse_metrics(metrics, file)}
    text = decode_utf8(path.read_bytes(), file)
    try:
        yaml = _yaml_for(text)
        data = yaml.load(text)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise UsageError(f"malformed YAML: {getattr(error, 'problem', None) or error}; fix it first",
                         file=file, line=mark.line + 1 if mark else None) from None
    if not isinstance(data, CommentedMap):
        raise UsageError("a catalog entry must be one YAML mapping; fix it first", file=file, line=1)
    versions = data.get("versions")
    if versions is None:
        versions = data["versions"] = CommentedSeq()
    if not isinstance(versions, CommentedSeq):
        raise UsageError("'versions' must be a list; fix it first", file=file, line=data.lc.key("versions")[0] + 1)
    for index, existing in enumerate(versions):
        if isinstance(existing, dict) and str(existing.get("version")) == version:
            line = versions.lc.item(index)[0] + 1
            raise UsageError(f"version {version} is already listed; a version number is never reused",
                             file=file, line=line)
    if recorded is not None:
        missing = _missing_gate_metric(data, values)
        if missing:
            metric, environment = missing
            raise UsageError(f"metric {metric} required by the gates of {environment} is missing from "
                             f"{recorded.origin}; log it there or pass --metric {metric}=VALUE", file=file)
    rest = dict(recorded.lineage) if recorded else {}
    lineage = {}
    for key, value in (("commit", commit), ("pipelineRun", pipeline_run), ("dataset", dataset)):
        chosen = value if value is not None else rest.pop(key, None)
        rest.pop(key, None)
        if chosen is not None:
            lineage[key] = chosen
    lineage.update(rest)  # the mlflow* keys after the common ones
    today = datetime.now(UTC).date().isoformat()
    entry = _new_entry(version, uri, digest, created or (recorded.created if recorded else None) or today, values,
                       lineage, recorded.parameters if recorded else {})
    if len(versions):
        _move_trailing_comments(versions[-1], entry)
    versions.append(entry)
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    result = _line_endings_of(text, buffer.getvalue())
    _, findings = check_text(result, file, model, config)
    if findings:
        first = findings[0]
        raise UsageError(f"the catalog would be invalid ({first.message}); nothing was written",
                         file=file, line=first.line)
    _write_atomically(path, result)
    return path
