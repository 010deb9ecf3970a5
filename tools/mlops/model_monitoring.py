"""The monitoring declaration of a catalog entry, and what it becomes in every environment.

`models/<model>/model.yaml` says, under `monitoring:`, which input columns TrustyAI watches for
drift and which fairness metrics it computes. Nothing reads the catalog entry on the cluster, and
the hook that talks to TrustyAI runs in a plain Python image with no YAML parser, so the
declaration reaches each environment as a generated file beside the entry,
`models/<model>/monitoring.yaml` (`mlops model monitoring` writes it; `mlops validate` fails when
it is stale): a ConfigMap holding the TrustyAI requests as JSON, read by the PostSync hook
`base/model-monitoring`, and a PrometheusRule recording each declared threshold as a series, which
the drift and fairness alerts of `base/monitoring` compare TrustyAI's values with.

Column names follow TrustyAI's own (explainability-connectors `kserve/v2/TensorConverter.java`,
explainability-service `data/utils/UploadUtils.java`): with one input tensor, a 1-D tensor is one
column named like the tensor, a `[-1, k]` tensor gives `k` columns `<tensor>-0` … `<tensor>-<k-1>`;
with several tensors each one is one column named like the tensor. `columns:` renames them, and
the hook applies the renaming as TrustyAI's name mapping, so requests, the gauges' `subcategory`
and `protected` labels, alerts and dashboards all speak of `distance_from_home`, not
`transaction_features-0`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from .catalog import Model, Signature, Tensor

DRIFT_METRICS = ("meanshift", "kstest", "approxkstest")
FAIRNESS_METRICS = ("spd", "dir")
#: TrustyAIService spec.metrics.batchSize of the template (base/monitoring/trustyaiservice.yaml).
DEFAULT_BATCH_SIZE = 5000
#: Drift is measured against the rows of the served version's training data, uploaded with this tag.
REFERENCE_TAG_PREFIX = "training-"
#: ... and read from this file at the root of the version's storageUri, where training writes it
#: (models/fraud-detection/pipeline/fraud_detection_training/reference_data.py).
REFERENCE_FILE = "trustyai-reference.json"
FILE = "monitoring.yaml"
DECLARATION_KEY = "declaration.json"
DECLARATION_LABEL = "mlops.dev/monitoring-declaration"
DRIFT_THRESHOLD_SERIES = "model:trustyai_drift_threshold:pvalue"
FAIRNESS_THRESHOLD_SERIES = "model:trustyai_fairness_threshold:delta"

Scalar = bool | int | float | str
_FLOAT_TYPES = ("FP16", "FP32", "FP64")
_INT_TYPES = ("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64")


@dataclass(frozen=True)
class DriftCheck:
    """One TrustyAI drift test, and the features whose p-values are alerted on."""

    metric: str
    features: tuple[str, ...]
    threshold: float  # significance level: drifted when p <= threshold


@dataclass(frozen=True)
class FairnessCheck:
    """One TrustyAI group fairness metric between two groups of a protected column."""

    metric: str
    protected: str
    privileged: Scalar
    unprivileged: Scalar
    outcome: str
    favourable: Scalar
    threshold: float  # spd within [-t, t], dir within [1-t, 1+t] (TrustyAI's thresholdDelta)


@dataclass(frozen=True)
class Monitoring:
    """The `monitoring:` block of a catalog entry."""

    columns: dict[str, tuple[str, ...]]
    batch_size: int
    drift: tuple[DriftCheck, ...]
    fairness: tuple[FairnessCheck, ...]


def parse(data: dict[str, Any]) -> Monitoring:
    """The typed declaration from schema-checked catalog data."""
    return Monitoring(
        columns={str(k): tuple(v) for k, v in (data.get("columns") or {}).items()},
        batch_size=int(data.get("batchSize") or DEFAULT_BATCH_SIZE),
        drift=tuple(DriftCheck(d["metric"], tuple(d["features"]), float(d["threshold"]))
                    for d in data.get("drift") or []),
        fairness=tuple(FairnessCheck(f["metric"], f["protected"], f["privileged"], f["unprivileged"], f["outcome"],
                                     f["favourable"], float(f["threshold"])) for f in data.get("fairness") or []),
    )


# --- columns as TrustyAI sees them -------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the model's data in TrustyAI: its own name, the declared name, its tensor."""

    trustyai: str  # the name TrustyAI gives it
    name: str  # after the name mapping
    tensor: Tensor
    side: str  # inputs or outputs


@dataclass(frozen=True)
class Problem:
    """What is wrong with a declaration, at a JSON path of the catalog entry."""

    path: str
    message: str
    fix: str


def _trustyai_names(tensors: tuple[Tensor, ...], side: str) -> tuple[dict[str, list[str]], list[Problem]]:
    """TrustyAI's column names per tensor, or why a tensor cannot be tabulated."""
    names: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for index, tensor in enumerate(tensors):
        shape = tensor.shape
        where = f"signature.{side}[{index}].shape"
        if len(shape) == 1 or (len(shape) == 2 and shape[1] == 1 and len(tensors) > 1):
            names[tensor.name] = [tensor.name]
        elif len(shape) == 2 and shape[1] >= 1 and len(tensors) == 1:
            names[tensor.name] = [f"{tensor.name}-{i}" for i in range(shape[1])]
        else:
            why = ("its number of columns is not fixed" if len(shape) == 2 and shape[1] < 1
                   else "TrustyAI keeps only one- and two-dimensional tensors as table columns" if len(shape) != 2
                   else "TrustyAI reads several tensors only when each is a single column")
            problems.append(Problem(where, f"{side[:-1]} tensor {tensor.name} has shape {list(shape)}: {why}",
                                    "monitor a model whose tensors are columns ([-1] each) or one [-1, k] matrix"))
    return names, problems


def columns(signature: Signature, monitoring: Monitoring) -> tuple[list[Column], list[Problem]]:
    """Every column of the model with its declared name, and what is wrong with `columns:`."""
    found: list[Column] = []
    problems: list[Problem] = []
    tensors = {t.name: ("inputs", t) for t in signature.inputs} | {t.name: ("outputs", t) for t in signature.outputs}
    for name in monitoring.columns:
        if name not in tensors:
            problems.append(Problem(f"monitoring.columns.{name}", f"columns names tensor {name!r}, which is neither "
                                    f"an input nor an output of the signature ({', '.join(tensors)})",
                                    "use the name of a tensor in signature.inputs or signature.outputs"))
    for side, side_tensors in (("inputs", signature.inputs), ("outputs", signature.outputs)):
        original, side_problems = _trustyai_names(side_tensors, side)
        problems += side_problems
        for tensor in side_tensors:
            if tensor.name not in original:
                continue
            declared = monitoring.columns.get(tensor.name)
            own = original[tensor.name]
            if declared is not None and len(declared) != len(own):
                problems.append(Problem(f"monitoring.columns.{tensor.name}",
                                        f"{tensor.name} has {len(own)} column(s) (shape {list(tensor.shape)}), but "
                                        f"columns names {len(declared)}", "name every column, in order"))
                declared = None
            for position, trustyai in enumerate(own):
                found.append(Column(trustyai, declared[position] if declared else trustyai, tensor, side))
    seen: set[str] = set()
    for column in found:
        if column.name in seen:
            problems.append(Problem("monitoring.columns", f"column name {column.name!r} is used twice",
                                    "give every input and output column its own name"))
        seen.add(column.name)
    return found, problems


def _fits(value: Scalar, tensor: Tensor) -> bool:
    if tensor.datatype == "BOOL":
        return isinstance(value, bool)
    if tensor.datatype in _INT_TYPES:
        return isinstance(value, int) and not isinstance(value, bool)
    if tensor.datatype in _FLOAT_TYPES:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


def problems(model: Model) -> Iterator[Problem]:
    """Why the declaration of `model` cannot be carried out by TrustyAI as written."""
    monitoring = model.monitoring
    if monitoring is None:
        return
    if model.type != "predictive":
        yield Problem("monitoring", f"{model.name} is a {model.type} model; TrustyAI's drift and fairness metrics "
                      "are computed over table columns of predictive models",
                      "remove monitoring (watch generative models through their serving metrics)")
        return
    found, column_problems = columns(model.signature, monitoring)
    if column_problems:  # the names below would be checked against the wrong columns
        yield from column_problems
        return
    by_name = {column.name: column for column in found}
    inputs = [c.name for c in found if c.side == "inputs"]
    outputs = [c.name for c in found if c.side == "outputs"]
    metrics: set[str] = set()
    for index, check in enumerate(monitoring.drift):
        where = f"monitoring.drift[{index}]"
        if check.metric in metrics:
            yield Problem(f"{where}.metric", f"drift metric {check.metric} is declared twice",
                          "declare each drift metric once, with all the features it watches")
        metrics.add(check.metric)
        for position, feature in enumerate(check.features):
            column = by_name.get(feature)
            if column is None or column.side != "inputs":
                yield Problem(f"{where}.features[{position}]", f"drift feature {feature!r} is not an input column "
                              f"of {model.name} (inputs: {', '.join(inputs)})",
                              "name an input column (see signature.inputs and monitoring.columns)")
            elif column.tensor.datatype == "BYTES":
                yield Problem(f"{where}.features[{position}]", f"drift feature {feature!r} is text (BYTES); "
                              f"{check.metric} compares numbers", "watch a numeric feature")
    groups: set[tuple[str, str, str]] = set()
    for index, fairness in enumerate(monitoring.fairness):
        where = f"monitoring.fairness[{index}]"
        key = (fairness.metric, fairness.protected, fairness.outcome)
        if key in groups:
            yield Problem(where, f"{fairness.metric} of {fairness.outcome} by {fairness.protected} is declared twice",
                          "declare each metric once per protected column and outcome")
        groups.add(key)
        protected = by_name.get(fairness.protected)
        if protected is None or protected.side != "inputs":
            yield Problem(f"{where}.protected", f"protected {fairness.protected!r} is not an input column of "
                          f"{model.name} (inputs: {', '.join(inputs)})", "name an input column")
        else:
            for field in ("privileged", "unprivileged"):
                value = getattr(fairness, field)
                if not _fits(value, protected.tensor):
                    yield Problem(f"{where}.{field}", f"{field} {value!r} is not a {protected.tensor.datatype} value "
                                  f"of {fairness.protected}", f"write a value {fairness.protected} can take")
            if fairness.privileged == fairness.unprivileged:
                yield Problem(f"{where}.unprivileged", "privileged and unprivileged are the same group",
                              "name two different values of the protected column")
        outcome = by_name.get(fairness.outcome)
        if outcome is None or outcome.side != "outputs":
            yield Problem(f"{where}.outcome", f"outcome {fairness.outcome!r} is not an output column of "
                          f"{model.name} (outputs: {', '.join(outputs)})", "name an output column")
        elif outcome.tensor.datatype in _FLOAT_TYPES:
            yield Problem(f"{where}.outcome", f"outcome {fairness.outcome!r} is {outcome.tensor.datatype}: TrustyAI "
                          "counts the rows whose outcome equals favourable, and a score is practically never equal "
                          "to one value", "declare fairness on a label output (BOOL, an integer or BYTES)")
        elif not _fits(fairness.favourable, outcome.tensor):
            yield Problem(f"{where}.favourable", f"favourable {fairness.favourable!r} is not a "
                          f"{outcome.tensor.datatype} value of {fairness.outcome}", "write a value the outcome takes")


# --- what each environment receives ------------------------------------------------------------


def declaration(model: Model) -> dict[str, Any]:
    """The JSON the hook reads: the name mapping and TrustyAI request bodies (without modelId, tag)."""
    monitoring = model.monitoring
    assert monitoring is not None
    found, _ = columns(model.signature, monitoring)
    requests: list[dict[str, Any]] = []
    for check in monitoring.drift:
        requests.append({"metric": check.metric.upper(), "requestName": f"{model.name}-{check.metric}",
                         "thresholdDelta": check.threshold})
    for fairness in monitoring.fairness:
        requests.append({
            "metric": fairness.metric.upper(),
            "requestName": f"{model.name}-{fairness.metric}-{fairness.protected}-{fairness.outcome}",
            "protectedAttribute": fairness.protected, "privilegedAttribute": fairness.privileged,
            "unprivilegedAttribute": fairness.unprivileged, "outcomeName": fairness.outcome,
            "favorableOutcome": fairness.favourable, "thresholdDelta": fairness.threshold,
        })
    return {
        "model": model.name,
        "declaredIn": model.file,
        "batchSize": monitoring.batch_size,
        "referenceTagPrefix": REFERENCE_TAG_PREFIX,
        "referenceData": REFERENCE_FILE,
        "nameMapping": {
            "inputMapping": {c.trustyai: c.name for c in found if c.side == "inputs" and c.trustyai != c.name},
            "outputMapping": {c.trustyai: c.name for c in found if c.side == "outputs" and c.trustyai != c.name},
        },
        "requests": requests,
    }


def rule_spec(model: Model) -> dict[str, Any]:
    """spec of the PrometheusRule recording every declared threshold (user-workload monitoring adds namespace)."""
    monitoring = model.monitoring
    assert monitoring is not None
    rules: list[dict[str, Any]] = []
    for check in monitoring.drift:
        for feature in check.features:
            rules.append({"record": DRIFT_THRESHOLD_SERIES, "expr": f"vector({check.threshold:g})",
                          "labels": {"model": model.name, "metricName": check.metric.upper(),
                                     "subcategory": feature}})
    for fairness in monitoring.fairness:
        rules.append({"record": FAIRNESS_THRESHOLD_SERIES, "expr": f"vector({fairness.threshold:g})",
                      "labels": {"model": model.name, "metricName": fairness.metric.upper(),
                                 "protected": fairness.protected, "outcome": fairness.outcome}})
    return {"groups": [{"name": f"{model.name}.monitoring", "rules": rules}]}


def object_name(model: str) -> str:
    return f"{model}-monitoring"


def path(model: str) -> str:
    """Repository-relative path of the generated file."""
    return f"models/{model}/{FILE}"


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as literal blocks, indented lists, keys in the order given."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def declaration_json(model: Model) -> str:
    return json.dumps(declaration(model), indent=2) + "\n"


def file_text(model: Model) -> str:
    """The exact content of `models/<model>/monitoring.yaml`."""
    name = object_name(model.name)
    config_map = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {DECLARATION_LABEL: "true", "app.kubernetes.io/part-of": model.name,
                                              "app.kubernetes.io/component": "model-monitoring"}},
        "data": {DECLARATION_KEY: declaration_json(model)},
    }
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": model.name,
                                                  "app.kubernetes.io/component": "model-monitoring"}},
            "spec": rule_spec(model)}
    header = (f"# Generated by `mlops model monitoring {model.name}` from monitoring: in {model.file};\n"
              "# do not edit. The ConfigMap holds the TrustyAI requests that the PostSync hook of\n"
              "# base/model-monitoring keeps in place; the PrometheusRule records every declared threshold\n"
              "# for the drift and fairness alerts of base/monitoring. `mlops validate` fails when it is stale.\n")
    body = "---\n".join(yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120) for doc in (config_map, rule))
    return header + body


# --- writing the generated files ---------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """What `mlops model monitoring` did, or would do, for one model."""

    model: str
    path: str
    state: str  # written, current, stale (with --check), orphan (a file without a declaration), refused
    detail: str = ""


def generate(root: Path, models: dict[str, Model], names: list[str], write: bool) -> list[Generated]:
    """Bring `models/<m>/monitoring.yaml` in line with each model's declaration (or only report, without write).

    A declaration with problems is refused rather than written: TrustyAI would refuse it too.
    A generated file without a declaration is reported, never deleted: the model's kustomization
    lists it, and removing both is one reviewed change.
    """
    results: list[Generated] = []
    for name in names:
        model = models[name]
        target = root / path(name)
        if model.monitoring is None:
            if target.is_file():
                results.append(Generated(name, path(name), "orphan", f"{model.file} declares no monitoring"))
            continue
        found = list(problems(model))
        if found:
            results.append(Generated(name, path(name), "refused", "; ".join(p.message for p in found)))
            continue
        text = file_text(model)
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            results.append(Generated(name, path(name), "current"))
        elif write:
            temporary = target.with_name(f".{FILE}.tmp")
            temporary.write_text(text, encoding="utf-8")
            temporary.replace(target)
            results.append(Generated(name, path(name), "written"))
        else:
            results.append(Generated(name, path(name), "stale"))
    return results
