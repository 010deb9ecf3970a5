"""The model catalog agrees with what the overlays deploy.

`mlops promote` trusts three things to line up: the catalog entry `models/<model>/model.yaml`
(versions, artifact URIs, runtime), the pin `overlays/<env>/models/<model>.yaml` it rewrites, and
the InferenceService that kustomize renders from both. When they drift apart (a pin edited by
hand to a URI no catalog version has, a patch that overrides the pinned `storageUri`, a model
pinned in prod but never in test), the catalog's gates and lineage describe something other
than what serves traffic. These rules compare the three on every `mlops validate`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import cast

from ..catalog import (
    VERSION_LABEL,
    Model,
    Pin,
    PinError,
    catalog_path,
    known_model_names,
    load_catalog,
    pin_file,
    pinned_models,
    read_pin,
)
from ..config import Target
from ..findings import Finding
from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .objects import by_kind, dig

_CATALOG_KEY = "catalog"
_PINS_KEY = "catalog.pins"
URI_PATH = "spec.predictor.model.storageUri"
RUNTIME_PATH = "spec.predictor.model.runtime"
FORMAT_PATH = "spec.predictor.model.modelFormat.name"
LABEL_PATH = f"metadata.labels.{VERSION_LABEL}"
MODEL_TYPE_ANNOTATION = "opendatahub.io/model-type"


def catalog(context: PolicyContext) -> tuple[dict[str, Model], list[Finding]]:
    """The catalog, loaded once per run and shared by every rule (and other families)."""
    if _CATALOG_KEY not in context.cache:
        context.cache[_CATALOG_KEY] = load_catalog(context.root, context.config)
    return cast(tuple[dict[str, Model], list[Finding]], context.cache[_CATALOG_KEY])


def pins(context: PolicyContext, target: Target) -> dict[str, Pin | PinError]:
    """Every pin file of an environment by model name, read once per run."""
    cached = cast(dict[str, dict[str, Pin | PinError]], context.cache.setdefault(_PINS_KEY, {}))
    if target.name not in cached:
        found: dict[str, Pin | PinError] = {}
        for model in pinned_models(context.root, target):
            try:
                pin = read_pin(context.root, target, model)
            except PinError as error:
                found[model] = error
                continue
            if pin is not None:
                found[model] = pin
        cached[target.name] = found
    return cached[target.name]


def _isvcs(context: PolicyContext, target: Target) -> dict[str, Manifest]:
    return {m.name: m for m in by_kind(context.manifests.get(target.name, []), "InferenceService")}


# ---------------------------------------------------------------------------------------------


def _check_schema(context: PolicyContext) -> Iterator[Violation]:
    _, findings = catalog(context)
    for finding in findings:
        yield Violation(finding.message, path=finding.path, fix=finding.fix, file=finding.file, line=finding.line)


def _check_pins(context: PolicyContext) -> Iterator[Violation]:
    models, _ = catalog(context)
    with_entry = set(known_model_names(context.root))  # including entries catalog-schema rejects
    for target in context.targets(Scope.ENVIRONMENTS):
        env = target.name
        env_pins = pins(context, target)  # files only: read before waiting for the render
        isvcs = _isvcs(context, target)
        for name, pin in env_pins.items():
            isvc = isvcs.get(name)
            if isinstance(pin, PinError):
                yield Violation(f"pin {pin.file} is malformed: {pin}", isvc, file=pin.file, line=pin.line,
                                environment=env, fix="rewrite it with `mlops promote`, or fix it by hand: it sets "
                                f"only apiVersion, kind, metadata.name, the label {VERSION_LABEL} and storageUri")
                continue
            if name not in models:
                if name not in with_entry:
                    yield Violation(
                        f"pin {pin.file} names model {name!r}, which has no catalog entry {catalog_path(name)}",
                        isvc, file=pin.file, line=pin.line, environment=env,
                        fix=f"add {catalog_path(name)} (with this version), or delete the pin and its patch entry")
                continue  # an entry that exists but is invalid is reported by catalog-schema
            model = models[name]
            entry = model.version(pin.version)
            if entry is None:
                known = ", ".join(v.version for v in model.versions)
                yield Violation(
                    f"pin {pin.file} pins {name} {pin.version}, which {model.file} does not list (versions: {known})",
                    isvc, file=pin.file, line=pin.version_line, environment=env,
                    fix=f"pin a catalog version with `mlops promote {name} --to {env}`, or add {pin.version} "
                        f"with `mlops model add-version {name}`")
                continue
            if isvc is None:
                yield Violation(
                    f"pin {pin.file} pins {name} {pin.version}, but {env} renders no InferenceService {name}",
                    file=pin.file, line=pin.line, environment=env,
                    fix=f"add ../../models/{name} to the resources of {target.path} and list the pin under its "
                        "patches, or delete the pin")
                continue
            rendered_uri = dig(isvc.data, "spec", "predictor", "model", "storageUri")
            if pin.storage_uri != entry.uri:
                yield Violation(
                    f"pin {pin.file} sets storageUri {pin.storage_uri}, but the uri of {name} {pin.version} in "
                    f"{model.file} is {entry.uri}",
                    isvc, URI_PATH, file=pin.file, line=pin.uri_line,
                    fix=f"write storageUri: {entry.uri} in {pin.file} (or rerun `mlops promote`)")
            elif rendered_uri != entry.uri:
                yield Violation(
                    f"InferenceService {name} in {env} renders storageUri {rendered_uri}, not the pinned "
                    f"{entry.uri} ({name} {pin.version}, {pin.file}): another patch or base overrides it",
                    isvc, URI_PATH,
                    fix=f"remove storageUri from every patch of {name} but {pin.file}")
            label = isvc.labels.get(VERSION_LABEL)
            if label is None or str(label) != pin.version:
                yield Violation(
                    f"InferenceService {name} in {env} renders label {VERSION_LABEL}={label}, not the pinned "
                    f"{pin.version} ({pin.file}): dashboards and alerts would show the wrong version",
                    isvc, LABEL_PATH,
                    fix=f"set the label only in {pin.file}; remove it from other patches and `labels:` of "
                        f"{target.path}")
        for name, isvc in isvcs.items():
            if name in models and name not in env_pins:
                path = pin_file(target, name)
                yield Violation(
                    f"InferenceService {name} is deployed in {env} without a pin ({path} does not exist), so "
                    "no catalog version says what it serves",
                    isvc, URI_PATH,
                    fix=f"create {path} with `mlops promote {name} --to {env}` and list it under the patches "
                        f"of {target.path}")


def _check_order(context: PolicyContext) -> Iterator[Violation]:
    environments = list(context.config.environments)
    for target in context.targets(Scope.ENVIRONMENTS):
        earlier = environments[:environments.index(target)]
        if not earlier:
            continue
        isvcs = _isvcs(context, target)
        for name, pin in pins(context, target).items():
            missing = [env.name for env in earlier if name not in pins(context, env)]  # pins: every pin file
            if not missing:
                continue
            file = pin_file(target, name)
            before = ", ".join(env.name for env in earlier)
            yield Violation(
                f"{name} is pinned in {target.name} ({file}) but not in {', '.join(missing)}; every model must run "
                f"in the environments before {target.name} ({before}) first",
                isvcs.get(name), file=file, line=pin.line if isinstance(pin, Pin) else None,
                environment=target.name,
                fix=f"promote {name} through {missing[0]} first (`mlops promote {name} --to {missing[0]}`), "
                    f"or remove it from {target.name}")


def _check_gate_metrics(context: PolicyContext) -> Iterator[Violation]:
    models, _ = catalog(context)
    for model in models.values():
        recorded = sorted({name for entry in model.versions for name in entry.metrics})
        for environment, gate in model.gates.items():
            for threshold in gate.metrics:
                if threshold.metric in recorded:
                    continue
                close = difflib.get_close_matches(threshold.metric, recorded, n=1)
                fix = (f"did you mean {close[0]!r}? Correct the name in gates.{environment}.metrics" if close else
                       f"record {threshold.metric} for the versions (`mlops model add-version --metric "
                       f"{threshold.metric}=VALUE`), or remove the threshold")
                yield Violation(
                    f"the {environment} gate of {model.name} checks metric {threshold.metric!r}, which no version in "
                    f"{model.file} records (recorded: {', '.join(recorded) or 'none'}): no version can enter "
                    f"{environment}", file=model.file, line=model.line(f"gates.{environment}.metrics"), fix=fix)


def _check_runtime(context: PolicyContext) -> Iterator[Violation]:
    models, _ = catalog(context)
    for target in context.targets(Scope.ENVIRONMENTS):
        for name, isvc in _isvcs(context, target).items():
            model = models.get(name)
            if model is None:
                continue
            runtime = dig(isvc.data, "spec", "predictor", "model", "runtime")
            if runtime != model.runtime:
                yield Violation(
                    f"InferenceService {name} in {target.name} uses runtime {runtime!r}, but {model.file} says "
                    f"runtime {model.runtime!r}",
                    isvc, RUNTIME_PATH,
                    fix=f"set spec.predictor.model.runtime: {model.runtime}, or correct runtime in {model.file}")
            model_format = dig(isvc.data, "spec", "predictor", "model", "modelFormat", "name")
            if model_format != model.format:
                yield Violation(
                    f"InferenceService {name} in {target.name} has modelFormat {model_format!r}, but {model.file} "
                    f"says format {model.format!r} (KServe matches format names exactly)",
                    isvc, FORMAT_PATH,
                    fix=f"set spec.predictor.model.modelFormat.name: {model.format}, or correct format in "
                        f"{model.file}")
            model_type = isvc.annotations.get(MODEL_TYPE_ANNOTATION)
            if model_type is not None and model_type != model.type:
                yield Violation(
                    f"InferenceService {name} in {target.name} is annotated {MODEL_TYPE_ANNOTATION}: {model_type}, "
                    f"but {model.file} says type {model.type}",
                    isvc, f"metadata.annotations.{MODEL_TYPE_ANNOTATION}",
                    fix=f"annotate {MODEL_TYPE_ANNOTATION}: {model.type}, or correct type in {model.file}")


RULES: list[Rule] = [
    Rule(
        id="catalog-schema",
        summary="Every models/*/model.yaml is a valid catalog entry",
        explanation=(
            "The catalog entry is not a Kubernetes object, so neither kustomize nor the cluster ever checks "
            "it, yet `mlops promote` takes every gate, artifact URI and reviewer from it. A typo there "
            "(`auc: {min: 0.95}` instead of `auc: \">= 0.95\"`, an `oci://` image without a digest, a gate "
            "for an environment that does not exist) silently weakens a gate or ships the wrong bytes. Each "
            "entry is checked against the catalog's JSON schema and for what the schema cannot say: the name "
            "matches the folder, versions are unique semantic versions usable as a label, gate environments "
            "exist in `mlops.yaml`."
        ),
        fix="correct the key at the reported line of model.yaml (the message says what is expected)",
        check=_check_schema,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="catalog-pin",
        summary="Every pin names a catalog version, and the rendered InferenceService serves exactly it",
        explanation=(
            "`overlays/<env>/models/<model>.yaml` is the one place that says which version an environment "
            "runs: its label `app.kubernetes.io/version` and `storageUri` must be a version of the catalog "
            "and that version's `uri`, and nothing else in the overlay may override them. Otherwise the "
            "model server loads an artifact whose metrics nobody gated, while dashboards, alerts and "
            "`mlops status` report the version the catalog vouches for. A catalog model deployed without a "
            "pin has no version at all."
        ),
        fix="let `mlops promote` write the pin; set storageUri and the version label nowhere else",
        check=_check_pins,
        scope=Scope.ENVIRONMENTS,
    ),
    Rule(
        id="catalog-order",
        summary="A model runs in every environment before the ones it is pinned in",
        explanation=(
            "Promotion goes through the environments in the order of `mlops.yaml`: a version reaches prod "
            "only after it ran in test, where its soak time is measured. A model pinned in a later "
            "environment but not in an earlier one skipped that environment: it was never exercised "
            "there, and the next `mlops promote` to the later environment has nothing to promote from."
        ),
        fix="promote the model into the earlier environment first, or remove it from the later one",
        check=_check_order,
        scope=Scope.ENVIRONMENTS,
    ),
    Rule(
        id="catalog-gate-metric",
        summary="Every metric a gate checks is recorded by at least one version of the model",
        explanation=(
            "A gate threshold on a metric that no version records can never hold: `mlops promote` fails the "
            "metrics gate of every version, and the reason shows only when someone tries to promote. It is "
            "nearly always a misspelt metric (`aucc`) or a new metric the training pipeline does not log yet. "
            "The gate's line in `model.yaml` is reported, with the closest recorded name."
        ),
        fix="correct the metric's name in the gate, or record the metric for the versions",
        check=_check_gate_metrics,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="catalog-runtime",
        summary="The InferenceService uses the runtime, model format and model type of its catalog entry",
        explanation=(
            "The catalog's `runtime` and `format` are what the version's artifact was built and evaluated "
            "for. KServe picks the ServingRuntime from `spec.predictor.model.runtime` and matches "
            "`modelFormat.name` exactly against the runtime's supported formats; a mismatch serves the "
            "model with a server it was never tested on, or the InferenceService never becomes ready. "
            "The dashboard's `opendatahub.io/model-type` annotation, when set, must agree with `type`."
        ),
        fix="make spec.predictor.model.runtime and modelFormat.name equal to runtime and format in model.yaml",
        check=_check_runtime,
        scope=Scope.ENVIRONMENTS,
    ),
]
