"""The typed model catalog: what one `models/<model>/model.yaml` says once it has been checked.

These records are what every other room trusts (gates, pins, policies, the pull-request body), so
they hold only values the schema and the semantic checks (`catalog.schema`) accepted; the helpers
beside them (semver order, artifact URIs, durations) are the ones those checks and the edits share.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..model_monitoring import Monitoring
from ..yamlsource import SourceDocument

SCHEMA_RULE = "catalog-schema"
CATALOG_DIR = "models"
CATALOG_FILE = "model.yaml"
VERSION_LABEL = "app.kubernetes.io/version"
ISVC_API_VERSION = "serving.kserve.io/v1beta1"

# Every pattern is used with fullmatch (so "1.0.0\n" is not a version) and spells digits [0-9]
# (Python's \d also matches other scripts' digits).
_SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
LABEL_VALUE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_THRESHOLD = re.compile(r"\s*(>=|<=|==|>|<)\s*([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*")
OCI_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})\Z")
_S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.-]*[a-z0-9](/\S*)?")
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Owner:
    """Who answers for the model (named in promotion pull requests)."""

    name: str
    email: str


@dataclass(frozen=True)
class Tensor:
    """One input or output: KServe v2 datatype and shape (-1 for any size)."""

    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Signature:
    """Inputs and outputs; equal signatures mean callers need not change (hashable, comparable)."""

    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]


def _equal(value: float, bound: float) -> bool:
    """`==` on measured numbers: equal up to float rounding (0.1 + 0.2 == 0.3)."""
    return math.isclose(value, bound, rel_tol=1e-9, abs_tol=1e-12)


_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": _equal,
}


@dataclass(frozen=True)
class MetricThreshold:
    """A gate on one metric, written `auc: ">= 0.95"` in the catalog."""

    metric: str
    operator: str
    value: float

    @property
    def description(self) -> str:
        return f"{self.operator} {self.value:g}"

    def holds(self, value: float) -> bool:
        return _OPERATORS[self.operator](value, self.value)

    @classmethod
    def parse(cls, metric: str, text: str) -> MetricThreshold:
        """`">= 0.95"` to a threshold; ValueError for anything else."""
        match = _THRESHOLD.fullmatch(str(text))
        if not match:
            raise ValueError(f"{text!r} is not a threshold like \">= 0.95\" (operator >=, >, <=, < or ==, a number)")
        return cls(metric, match.group(1), float(match.group(2)))


@dataclass(frozen=True)
class Gate:
    """What a version must satisfy to enter one environment."""

    environment: str
    metrics: tuple[MetricThreshold, ...] = ()
    soak: timedelta | None = None  # least time pinned in the previous environment
    #: where the start of that time may come from: "pull-request" (its merge time only) or "any"
    soak_source: str = "any"
    reviewers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Version:
    """One version of a model: its artifact, evaluation metrics and where it came from."""

    version: str
    uri: str
    created: str
    digest: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    lineage: dict[str, str] = field(default_factory=dict)  # commit, pipelineRun, dataset (those given)
    signature: Signature | None = None  # only when it differs from the model's
    line: int | None = field(default=None, compare=False)

    @property
    def precedence(self) -> tuple[Any, ...]:
        key = semver_key(self.version)
        assert key is not None  # checked when the catalog was loaded
        return key

    def signature_key(self, model: Model) -> Signature:
        """The signature callers see when this version runs."""
        return self.signature or model.signature


@dataclass(frozen=True)
class Model:
    """A checked catalog entry."""

    name: str
    description: str
    owners: tuple[Owner, ...]
    format: str
    runtime: str
    type: str
    signature: Signature
    versions: tuple[Version, ...]
    gates: dict[str, Gate]
    file: str  # repository-relative path of model.yaml
    source: SourceDocument | None = field(default=None, compare=False, repr=False)
    #: What TrustyAI watches in production (checked against the signature by the policy monitoring-declaration).
    monitoring: Monitoring | None = None

    def version(self, version: str) -> Version | None:
        return next((entry for entry in self.versions if entry.version == version), None)

    def newest_version(self) -> Version:
        """The highest version by semver precedence (not the last one listed)."""
        return max(self.versions, key=lambda entry: entry.precedence)

    def line(self, path: str) -> int | None:
        return self.source.line_of(path) if self.source else None


def semver_key(text: str) -> tuple[Any, ...] | None:
    """Sort key with semver precedence (pre-releases before the release), or None if not semver."""
    match = _SEMVER.fullmatch(text)
    if not match:
        return None
    major, minor, patch, pre = int(match.group(1)), int(match.group(2)), int(match.group(3)), match.group(4)
    if pre is None:
        return (major, minor, patch, (1,))
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, (0, parts))


def is_semver(text: str) -> bool:
    return _SEMVER.fullmatch(text) is not None


def uri_problem(uri: str) -> str | None:
    """Why an artifact URI cannot be pinned, or None when it can."""
    if uri.startswith("oci://"):
        if "@sha256:" not in uri:
            return (f"uri {uri!r} names an OCI image without a digest; a tag can be moved to other bytes, "
                    "so write oci://<image>@sha256:<64 hex>")
        if not OCI_DIGEST.search(uri):
            return f"uri {uri!r} has a malformed digest; write oci://<image>@sha256:<64 lower-case hex>"
        return None
    if _S3_URI.fullmatch(uri):
        return None
    return f"uri {uri!r} is neither s3://<bucket>/<path> nor oci://<image>@sha256:<digest>"


def parse_created(text: str) -> date | datetime | None:
    """An ISO 8601 date or date-time, or None when it is neither."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        return None



def parse_duration(text: str) -> timedelta:
    """`72h`, `30m`, `2d`, `1w`, `90s` to a timedelta; ValueError otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration like 72h, 30m or 2d")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def is_model_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))
