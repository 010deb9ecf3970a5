"""The monitoring declaration of every catalog entry makes sense, and reaches every environment.

`monitoring:` in `models/<model>/model.yaml` names columns, drift features, protected attributes
and outcomes. TrustyAI refuses a request that names a column the model does not have, but only at
sync time, in the log of a hook Job nobody reads; and a threshold the alerts never see makes them
alert at the wrong value. So the declaration is checked against the model's signature here, and
each environment that deploys the model must render the generated `models/<model>/monitoring.yaml`
exactly as the declaration gives it, plus the hook that hands it to TrustyAI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from .. import model_monitoring
from ..catalog import Model
from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .catalog_rules import catalog
from .objects import by_kind, dig

#: The PostSync hook of base/model-monitoring that makes TrustyAI's requests match the declarations.
HOOK_JOB = "trustyai-metrics"
_GENERATE = "run `mlops model monitoring {model}` and commit {path}"


def _declaring(context: PolicyContext) -> dict[str, Model]:
    """Catalog models with a monitoring declaration."""
    models, _ = catalog(context)
    return {name: model for name, model in models.items() if model.monitoring is not None}


def _sound(model: Model) -> bool:
    return not any(model_monitoring.problems(model))


def _check_declaration(context: PolicyContext) -> Iterator[Violation]:
    for model in _declaring(context).values():
        for problem in model_monitoring.problems(model):
            yield Violation(f"{model.file}: {problem.message}", path=problem.path, fix=problem.fix, file=model.file,
                            line=model.line(problem.path))


def _first_by_kind_and_name(objects: list[Manifest], *kinds: str) -> dict[tuple[str, str], Manifest]:
    """The first rendered object of each (kind, name): one pass per target, not one per model."""
    found: dict[tuple[str, str], Manifest] = {}
    for manifest in by_kind(objects, *kinds):
        found.setdefault((manifest.kind, manifest.name), manifest)
    return found


def _delivery_problem(model: Model, config_map: Manifest | None, rule: Manifest | None) -> str | None:
    """Why the rendered objects of one model differ from what its declaration gives, or None."""
    if config_map is None or rule is None:
        missing = " and ".join(f"{kind} {model_monitoring.object_name(model.name)}" for kind, found in
                               (("ConfigMap", config_map), ("PrometheusRule", rule)) if found is None)
        return f"renders no {missing}"
    if config_map.labels.get(model_monitoring.DECLARATION_LABEL) != "true":
        return (f"renders ConfigMap {config_map.name} without the label {model_monitoring.DECLARATION_LABEL}: "
                "true, so the hook does not find it")
    text = dig(config_map.data, "data", model_monitoring.DECLARATION_KEY)
    try:
        rendered = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        rendered = None
    if rendered != model_monitoring.declaration(model):
        return f"renders ConfigMap {config_map.name} with a declaration that differs from {model.file}"
    if rule.data.get("spec") != model_monitoring.rule_spec(model):
        return f"renders PrometheusRule {rule.name} with thresholds that differ from {model.file}"
    return None


def _check_delivered(context: PolicyContext) -> Iterator[Violation]:
    declaring = _declaring(context)
    sound = {name: model for name, model in declaring.items() if _sound(model)}
    models, _ = catalog(context)
    for target in context.targets(Scope.ENVIRONMENTS):
        objects = context.manifests.get(target.name, [])
        named = _first_by_kind_and_name(objects, "ConfigMap", "PrometheusRule")
        monitored: list[Manifest] = []
        for isvc in by_kind(objects, "InferenceService"):
            model = sound.get(isvc.name)
            if model is None:
                continue  # a wrong declaration is reported once, by monitoring-declaration
            monitored.append(isvc)
            name = model_monitoring.object_name(model.name)
            problem = _delivery_problem(model, named.get(("ConfigMap", name)), named.get(("PrometheusRule", name)))
            if problem is not None:
                fix = _GENERATE.format(model=model.name, path=model_monitoring.path(model.name))
                if problem.startswith("renders no "):
                    fix += (f", and list {model_monitoring.FILE} under resources of "
                            f"models/{model.name}/kustomization.yaml")
                yield Violation(
                    f"{target.name} deploys {model.name}, which declares monitoring in {model.file}, but {problem}",
                    isvc, "metadata.name", environment=target.name, fix=fix)
        for config_map in by_kind(objects, "ConfigMap"):
            owner = config_map.labels.get("app.kubernetes.io/part-of", "")
            if (config_map.labels.get(model_monitoring.DECLARATION_LABEL) == "true"
                    and owner in models and owner not in declaring):
                yield Violation(f"{target.name} renders the monitoring declaration {config_map.name}, but "
                                f"{models[owner].file} declares no monitoring any more", config_map,
                                environment=target.name,
                                fix=f"delete {model_monitoring.path(owner)} and its entry in "
                                    f"models/{owner}/kustomization.yaml, or declare monitoring again")
        hooks = [job for job in by_kind(objects, "Job") if job.name == HOOK_JOB]
        if monitored and not hooks:
            shown = ", ".join(isvc.name for isvc in monitored)
            yield Violation(f"{target.name} deploys {shown} with a monitoring declaration, but no Job {HOOK_JOB} "
                            "hands it to TrustyAI", monitored[0], "metadata.name", environment=target.name,
                            fix=f"add ../../base/model-monitoring to the resources of {target.path}")


RULES: list[Rule] = [
    Rule(
        id="monitoring-declaration",
        summary="A model's monitoring declaration names its own columns, with values they can take",
        explanation=(
            "`monitoring:` in `models/<model>/model.yaml` is handed to TrustyAI as scheduled metric requests. "
            "TrustyAI names the columns of the model's tensors itself (one column per 1-D tensor, "
            "`<tensor>-0` … for a `[-1, k]` matrix); `columns:` renames them. Every drift feature and "
            "protected attribute must be an input column, every outcome an output column, and the privileged, "
            "unprivileged and favourable values must fit the column's datatype. A fairness outcome must be a "
            "label: TrustyAI counts rows whose outcome equals the favourable value, which a probability "
            "practically never does. Otherwise TrustyAI refuses the request at sync time, or computes a metric "
            "that means nothing."
        ),
        fix="name columns of signature (or of monitoring.columns), as the message says",
        check=_check_declaration,
        scope=Scope.REPOSITORY,
    ),
    Rule(
        id="monitoring-delivered",
        summary="Every environment that deploys a monitored model renders its generated declaration and the hook",
        explanation=(
            "Nothing on the cluster reads `model.yaml`. `mlops model monitoring <model>` writes "
            "`models/<model>/monitoring.yaml`: a ConfigMap with the TrustyAI requests, read by the PostSync hook "
            f"Job `{HOOK_JOB}` of `base/model-monitoring`, and a PrometheusRule recording each threshold for the "
            "drift and fairness alerts. An environment that deploys the model must render both exactly as the "
            "declaration gives them (a stale file means TrustyAI and the alerts use old thresholds), and the "
            "hook itself."
        ),
        fix="run `mlops model monitoring <model>`, list monitoring.yaml in the model's kustomization, and include "
            "base/model-monitoring in the overlay",
        check=_check_delivered,
        scope=Scope.ENVIRONMENTS,
    ),
]
