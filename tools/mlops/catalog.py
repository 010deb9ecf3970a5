"""The model catalog: `models/<model>/model.yaml`, read with positions, checked, and typed.

A catalog entry is not a Kubernetes object and no kustomization reads it, so neither kustomize
nor the Kubernetes schemas ever look at it; yet `mlops promote` trusts it for every gate and for
the artifact URI it writes into an overlay. So it gets its own JSON schema (shipped in the package
as `data/catalog.schema.json`, for editors too) plus the checks a schema cannot express: the name
matches the folder, versions are unique, gate environments exist in `mlops.yaml`. Every problem
is a `catalog-schema` finding with the file, line, JSON path and fix; a model with any problem is
left out of the result, so nothing is promoted from an entry that is half right.

The version an environment runs is its pin, `overlays/<env>/models/<model>.yaml`: a patch of the
model's InferenceService that sets only the label `app.kubernetes.io/version` and
`spec.predictor.model.storageUri`. `read_pin` reads one; `write_pin_text` writes one, byte for
byte the way `mlops promote` commits it.
"""

from __future__ import annotations

import difflib
import json
import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from .config import Config, Target
from .errors import MlopsError, UsageError
from .findings import Finding, Severity
from .gates import parse_duration
from .model_monitoring import Monitoring
from .model_monitoring import parse as parse_monitoring
from .yamlsource import SourceDocument, decode_utf8, key_line, load_documents, load_file

SCHEMA_RULE = "catalog-schema"
CATALOG_DIR = "models"
CATALOG_FILE = "model.yaml"
VERSION_LABEL = "app.kubernetes.io/version"
ISVC_API_VERSION = "serving.kserve.io/v1beta1"
SCHEMA_RESOURCE = "data/catalog.schema.json"
SCHEMA_FIX = "compare with the catalog schema (mlops/data/catalog.schema.json in the mlops package)"

# Every pattern is used with fullmatch (so "1.0.0\n" is not a version) and spells digits [0-9]
# (Python's \d also matches other scripts' digits).
_SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_LABEL_VALUE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_THRESHOLD = re.compile(r"\s*(>=|<=|==|>|<)\s*([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*")
_OCI_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})\Z")
_S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.-]*[a-z0-9](/\S*)?")
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")

# ---------------------------------------------------------------------------------------------
# Typed catalog


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
        if not _OCI_DIGEST.search(uri):
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


# ---------------------------------------------------------------------------------------------
# Schema


@cache
def catalog_schema() -> dict[str, Any]:
    """The JSON schema of a catalog entry, as shipped in the package."""
    text = resources.files("mlops").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Any:
    return jsonschema_rs.validator_for(catalog_schema())


def _jsonable(value: Any) -> Any:
    """YAML data as JSON data: dates (an unquoted `created: 2025-07-08`) become ISO strings."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def dotted(parts: list[Any] | tuple[Any, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _subschema(path: list[Any]) -> dict[str, Any]:
    node: Any = catalog_schema()
    for step in path:
        if (isinstance(node, dict) and step in node) or (
                isinstance(node, list) and isinstance(step, int) and step < len(node)):
            node = node[step]
        else:
            return {}
    return node if isinstance(node, dict) else {}


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class _Problem:
    path: str
    message: str
    fix: str


def _schema_problems(data: Any) -> Iterator[_Problem]:
    errors = list(_validator().iter_errors(data))
    # A misspelt key is reported once, as unknown with a suggestion, not also as a missing key.
    unknown: dict[tuple[Any, ...], list[str]] = {}
    for error in errors:
        if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            unknown.setdefault(tuple(error.instance_path), []).extend(error.kind.unexpected)
    for error in errors:
        parts = list(error.instance_path)
        where = dotted(parts)
        kind = error.kind
        owner = _subschema(list(error.schema_path)[:-1])  # the schema holding the failed keyword
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            allowed = list(owner.get("properties", {}))
            for key in kind.unexpected:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                yield _Problem(dotted([*parts, key]),
                               f"unknown key {key!r}" + (f" in {where}" if where else "") + hint,
                               f"remove {key!r} or correct its spelling; allowed here: {', '.join(allowed) or 'none'}")
            continue
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            if difflib.get_close_matches(kind.property, unknown.get(tuple(parts), []), n=1):
                continue
            wanted = _subschema([*list(error.schema_path)[:-1], "properties", kind.property]).get("description")
            yield _Problem(where, f"missing required key {kind.property!r}" + (f" in {where}" if where else ""),
                           f"add {kind.property}: " + (wanted or "(see the catalog schema)"))
            continue
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.PropertyNames):
            key = str(kind.error.instance)
            described = _subschema(list(kind.error.schema_path)[:-1]).get("description") or "a valid key"
            yield _Problem(dotted([*parts, key]), f"key {key!r} in {where} is not {described}",
                           f"rename {key!r} to {described}")
            continue
        described = owner.get("description")
        if described:
            yield _Problem(where, f"{where or 'the document'}: {_shown(error.instance)} is not {described}",
                           f"write {described}")
        else:
            yield _Problem(where, f"{where or 'the document'}: {error.message}", SCHEMA_FIX)


def _semantic_problems(data: dict[str, Any], folder: str, config: Config) -> Iterator[_Problem]:
    """What the schema cannot say. Runs only on schema-valid data, so shapes are known."""
    if data["name"] != folder:
        yield _Problem("name", f"name {data['name']!r} differs from its folder models/{folder}/",
                       f"write name: {folder} (or rename the folder; the InferenceService has the same name)")
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["versions"]):
        where = f"versions[{index}]"
        version = entry["version"]
        if version in seen:
            yield _Problem(f"{where}.version", f"version {version} is listed twice (also versions[{seen[version]}])",
                           "give each version its own number; never reuse one for different bytes")
        seen.setdefault(version, index)
        if not _LABEL_VALUE.fullmatch(version):
            yield _Problem(f"{where}.version",
                           f"version {version} cannot be the Kubernetes label {VERSION_LABEL} "
                           "(at most 63 letters, digits, '-', '_' or '.'; build metadata '+...' is not allowed)",
                           "drop the '+build' part or shorten the version")
        if parse_created(entry["created"]) is None:
            yield _Problem(f"{where}.created", f"created {entry['created']!r} is not a real date or date-time",
                           "write an ISO 8601 date such as \"2025-07-08\"")
        digest = entry.get("digest")
        in_uri = _OCI_DIGEST.search(entry["uri"])
        if digest and in_uri and in_uri.group(1) != digest:
            yield _Problem(f"{where}.digest", f"digest {digest} differs from the digest in uri ({in_uri.group(1)})",
                           "write the digest of the uri, or drop digest (the uri's digest is authoritative)")
        for metric, value in (entry.get("metrics") or {}).items():
            if not math.isfinite(value):
                yield _Problem(f"{where}.metrics.{metric}", f"metric {metric} is {value}, not a finite number",
                               "write the measured value")
        yield from _signature_problems(entry.get("signature"), f"{where}.signature")
    yield from _signature_problems(data["signature"], "signature")
    environments = config.environment_names
    for environment, gate in (data.get("gates") or {}).items():
        where = f"gates.{environment}"
        if environment not in environments and environments:  # none: validated without mlops.yaml environments
            yield _Problem(where, f"gate for environment {environment!r}, which mlops.yaml does not define "
                           f"(environments: {', '.join(environments)})",
                           f"use one of {', '.join(environments)}, or add the environment to mlops.yaml")
            continue
        if gate.get("soak") is not None and environments and environments.index(environment) == 0:
            yield _Problem(f"{where}.soak", f"{environment} is the first environment: no environment runs before it, "
                           "so its soak can never be measured",
                           f"remove soak from gates.{environment} "
                           "(soak is the time a version must have been pinned in the previous environment)")
        for metric, text in (gate.get("metrics") or {}).items():
            try:
                MetricThreshold.parse(metric, text)
            except ValueError as error:
                yield _Problem(f"{where}.metrics.{metric}", str(error), "write e.g. auc: \">= 0.95\"")


def _signature_problems(signature: Any, where: str) -> Iterator[_Problem]:
    if not isinstance(signature, dict):
        return
    for side in ("inputs", "outputs"):
        names: set[str] = set()
        for index, tensor in enumerate(signature.get(side) or []):
            if tensor["name"] in names:
                yield _Problem(f"{where}.{side}[{index}].name", f"{side} tensor {tensor['name']!r} is named twice",
                               "give every tensor its own name")
            names.add(tensor["name"])


# ---------------------------------------------------------------------------------------------
# Loading


def _signature(data: dict[str, Any]) -> Signature:
    def tensors(items: list[dict[str, Any]]) -> tuple[Tensor, ...]:
        return tuple(Tensor(t["name"], t["datatype"], tuple(t["shape"])) for t in items)

    return Signature(tensors(data["inputs"]), tensors(data["outputs"]))


def _soak_duration(soak: Any) -> timedelta | None:
    """`soak: 72h` or `soak: {duration: 72h, source: pull-request}` (schema-valid) to its duration."""
    if soak is None:
        return None
    return parse_duration(soak["duration"] if isinstance(soak, dict) else soak)


def _build(data: dict[str, Any], file: str, document: SourceDocument) -> Model:
    versions = tuple(
        Version(
            version=entry["version"], uri=entry["uri"], created=entry["created"], digest=entry.get("digest"),
            metrics={str(k): v for k, v in (entry.get("metrics") or {}).items()},
            lineage={str(k): str(v) for k, v in (entry.get("lineage") or {}).items()},
            signature=_signature(entry["signature"]) if entry.get("signature") else None,
            line=document.line_of(f"versions[{index}]"),
        )
        for index, entry in enumerate(data["versions"])
    )
    gates = {
        environment: Gate(
            environment=environment,
            metrics=tuple(MetricThreshold.parse(metric, text) for metric, text in (gate.get("metrics") or {}).items()),
            soak=_soak_duration(gate.get("soak")),
            soak_source=str(gate["soak"].get("source", "any")) if isinstance(gate.get("soak"), dict) else "any",
            reviewers=tuple(gate.get("reviewers") or ()),
        )
        for environment, gate in (data.get("gates") or {}).items()
    }
    return Model(
        name=data["name"], description=data["description"],
        owners=tuple(Owner(o["name"], o["email"]) for o in data["owners"]),
        format=data["format"], runtime=data["runtime"], type=data["type"],
        signature=_signature(data["signature"]), versions=versions, gates=gates, file=file, source=document,
        monitoring=parse_monitoring(data["monitoring"]) if "monitoring" in data else None,
    )


def _finding(file: str, line: int | None, path: str | None, message: str, fix: str) -> Finding:
    return Finding(SCHEMA_RULE, Severity.ERROR, message, file=file, line=line, path=path or None, fix=fix)


def check_text(text: str, file: str, folder: str, config: Config) -> tuple[Model | None, list[Finding]]:
    """Check the text of one catalog entry; the model only when there are no findings."""
    try:
        documents = load_documents(text, file)
    except MlopsError as error:
        return None, [_finding(file, error.line, None, str(error), "fix the YAML at that line")]
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        line = documents[1].line if len(documents) > 1 else (documents[0].line if documents else 1)
        return None, [_finding(file, line, None, "a catalog entry must be exactly one YAML mapping",
                               "keep one document with name, versions, gates, ... at the top level")]
    document = documents[0]
    data = _jsonable(document.data)
    problems = list(_schema_problems(data))
    if not problems:
        problems = list(_semantic_problems(data, folder, config))
    findings = [_finding(file, document.line_of(p.path) if p.path else document.line, p.path, p.message, p.fix)
                for p in problems]
    if findings:
        return None, findings
    return _build(data, file, document), []


def catalog_files(root: Path) -> list[Path]:
    """Every `models/<model>/model.yaml`, in name order."""
    return sorted((root / CATALOG_DIR).glob(f"*/{CATALOG_FILE}"))


def catalog_path(model: str) -> str:
    return f"{CATALOG_DIR}/{model}/{CATALOG_FILE}"


def load_model_file(root: Path, path: Path, config: Config) -> tuple[Model | None, list[Finding]]:
    file = path.relative_to(root).as_posix()
    try:
        text = decode_utf8(path.read_bytes(), file)
    except OSError as error:
        return None, [_finding(file, None, None, f"cannot read: {error.strerror}", "make the file readable")]
    except MlopsError as error:
        return None, [_finding(file, error.line, None, str(error), "save the file as UTF-8")]
    return check_text(text, file, path.parent.name, config)


def load_catalog(root: Path, config: Config) -> tuple[dict[str, Model], list[Finding]]:
    """Every valid catalog entry by name, and a `catalog-schema` finding for every problem."""
    models: dict[str, Model] = {}
    findings: list[Finding] = []
    for path in catalog_files(root):
        model, problems = load_model_file(root, path, config)
        findings += problems
        if model is not None:
            models[model.name] = model
    return models, findings


# ---------------------------------------------------------------------------------------------
# Pins


@dataclass(frozen=True)
class Pin:
    """The version of a model pinned in one environment, and where the pin file says so."""

    model: str
    environment: str
    file: str  # repository-relative
    version: str
    storage_uri: str
    line: int  # of metadata.name
    version_line: int
    uri_line: int


class PinError(UsageError):
    """A pin file `mlops promote` could not rewrite safely (exit 2; a `catalog-pin` finding in validate)."""


def pin_file(target: Target, model: str) -> str:
    return f"{target.path}/{CATALOG_DIR}/{model}.yaml"


def pinned_models(root: Path, target: Target) -> list[str]:
    """Models with a pin file in an environment, in name order."""
    return sorted(path.stem for path in (root / target.path / CATALOG_DIR).glob("*.yaml"))


def _leaves(data: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from _leaves(value, (*prefix, str(key)))
    else:
        yield prefix, data


def _key_line(document: SourceDocument, keys: tuple[str, ...]) -> int:
    """Line of the deepest of `keys` found (keys may contain dots, unlike `line_of` paths)."""
    return key_line(document.node, keys) or document.line


_VERSION_KEYS = ("metadata", "labels", VERSION_LABEL)
_URI_KEYS = ("spec", "predictor", "model", "storageUri")
#: The only leaves a pin may set; everything else belongs in the overlay's patches/.
_PIN_LEAVES = {("apiVersion",), ("kind",), ("metadata", "name"), _VERSION_KEYS, _URI_KEYS}


def read_pin(root: Path, target: Target, model: str) -> Pin | None:
    """The pin of `model` in an environment; None without a pin file; PinError when it is malformed."""
    file = pin_file(target, model)
    path = root / file
    if not path.is_file():
        return None
    try:
        documents = load_file(path, file)
    except MlopsError as error:
        raise PinError(str(error), file=file, line=error.line) from None
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise PinError("a pin must be exactly one InferenceService patch", file=file, line=1)
    document = documents[0]
    values: dict[tuple[str, ...], Any] = {}
    for keys, value in _leaves(document.data):
        if keys not in _PIN_LEAVES:
            raise PinError(f"the pin sets {'.'.join(keys)}, but a pin sets only the label {VERSION_LABEL} and "
                           "spec.predictor.model.storageUri (mlops promote rewrites the whole file and would drop "
                           "anything else); move it to the overlay's patches/",
                           file=file, line=_key_line(document, keys))
        values[keys] = value
    expected = {("apiVersion",): ISVC_API_VERSION, ("kind",): "InferenceService", ("metadata", "name"): model}
    for keys, wanted in expected.items():
        if values.get(keys) != wanted:
            raise PinError(f"{'.'.join(keys)} is {values.get(keys)!r}, not {wanted!r}: the pin of {model} patches "
                           f"its InferenceService", file=file, line=_key_line(document, keys))
    version, uri = values.get(_VERSION_KEYS), values.get(_URI_KEYS)
    if not isinstance(version, str) or not version:
        raise PinError(f"label {VERSION_LABEL} must be a quoted version such as \"1.2.0\", not {version!r}",
                       file=file, line=_key_line(document, _VERSION_KEYS))
    if not isinstance(uri, str) or not uri:
        raise PinError(f"spec.predictor.model.storageUri must be the uri of the pinned version, not {uri!r}",
                       file=file, line=_key_line(document, _URI_KEYS))
    return Pin(model=model, environment=target.name, file=file, version=version, storage_uri=uri,
               line=_key_line(document, ("metadata", "name")), version_line=_key_line(document, _VERSION_KEYS),
               uri_line=_key_line(document, _URI_KEYS))


def _plain_or_quoted(value: str) -> str:
    """The value as a plain YAML scalar when that reads back the same, else double-quoted."""
    try:
        if (value and value.strip() == value and " #" not in value
                and yaml.safe_load(f"k: {value}\n") == {"k": value}):
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value)


def write_pin_text(model: Model, version: Version, environment: str) -> str:
    """The exact content of `overlays/<env>/models/<model>.yaml` pinning `version`."""
    return (
        f"# Version of {model.name} in {environment}; rewritten by `mlops promote`, do not edit by hand.\n"
        f"apiVersion: {ISVC_API_VERSION}\n"
        "kind: InferenceService\n"
        "metadata:\n"
        f"  name: {model.name}\n"
        "  labels:\n"
        f"    {VERSION_LABEL}: {json.dumps(version.version)}\n"
        "spec:\n"
        "  predictor:\n"
        "    model:\n"
        f"      storageUri: {_plain_or_quoted(version.uri)}\n"
    )


def known_model_names(root: Path) -> list[str]:
    """Folder names of every catalog entry, valid or not."""
    return [path.parent.name for path in catalog_files(root)]


def is_model_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


__all__ = [
    "CATALOG_DIR", "CATALOG_FILE", "SCHEMA_RULE", "VERSION_LABEL", "Gate", "MetricThreshold", "Model", "Owner",
    "Pin", "PinError", "Signature", "Tensor", "Version", "catalog_path", "catalog_schema", "check_text",
    "is_semver", "known_model_names", "load_catalog", "parse_created", "pin_file", "pinned_models",
    "read_pin", "semver_key", "uri_problem", "write_pin_text",
]
