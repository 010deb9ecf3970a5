"""PromQL that Prometheus and Grafana will refuse, and alerts nobody can route or read.

A PrometheusRule with one bad expression is accepted by the API server (the CRD only checks the
shape), then rejected by the Prometheus Operator's admission webhook at sync time or, worse,
silently dropped from the rule file while every other alert keeps working. A Grafana panel with a
bad query shows an error only to whoever opens the dashboard during an incident. Both are caught
here by parsing every expression with `promql_parser` (Prometheus' own grammar).

The helpers that parse expressions and read their label matchers live here because the
monitoring family reuses them to decide which alert "selects" which model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import promql_parser

from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .grafana import dashboard_model, datasource_type, iter_panels, prometheus_target

# --- Grafana template variables ----------------------------------------------------------------

#: `[[var]]`, `${var}`, `${var:format}`, `${var.field}` and `$var`, in that order of precedence.
_VARIABLE = re.compile(r"\[\[(\w+)(?::[^\]]*)?\]\]|\$\{(\w+)(?:[:.][^}]*)?\}|\$(\w+)")
#: What a variable becomes inside a quoted string: a plain word, valid in a value and in a regex.
STRING_PLACEHOLDER = "grafana_var"
#: Inside `[...]` (ranges, subqueries) and after `offset` a variable is a duration.
_DURATION = "5m"
#: Grafana's own numeric macros (`$__interval_ms`, `$__range_s`, ...).
_NUMERIC_MACRO = re.compile(r"^__\w+_(ms|s)$")


def substitute_variables(expr: str, bare: str = STRING_PLACEHOLDER) -> str:
    """Replace Grafana template variables by plausible PromQL so the query can be parsed.

    A variable inside quotes becomes a word, inside brackets or after `offset` a duration,
    a numeric macro a number, and anywhere else `bare` (an identifier by default; callers retry
    with a number for `topk($n, ...)`-like positions).
    """
    out: list[str] = []
    quote: str | None = None
    depth = 0  # of `[...]` outside strings
    i = 0
    while i < len(expr):
        char = expr[i]
        if quote is not None:
            if char == "\\" and i + 1 < len(expr):
                out.append(expr[i:i + 2])
                i += 2
                continue
            if char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        match = _VARIABLE.match(expr, i) if char in "$[" else None
        if match is not None:
            name = next(group for group in match.groups() if group is not None)
            if quote is not None:
                out.append(STRING_PLACEHOLDER)
            elif _NUMERIC_MACRO.match(name):
                out.append("60")
            elif depth > 0 or re.search(r"\boffset\s*$", expr[:i]):
                out.append(_DURATION)
            else:
                out.append(bare)
            i = match.end()
            continue
        if quote is None:
            if char == "[":
                depth += 1
            elif char == "]":
                depth = max(0, depth - 1)
        out.append(char)
        i += 1
    return "".join(out)


def parse(expr: str, grafana: bool = False) -> tuple[promql_parser.Expr | None, str | None]:
    """(parsed expression, None) or (None, the parser's error message).

    With `grafana`, template variables are substituted first; a variable in a position that needs
    a number (`topk($n, ...)`) is retried as one before the expression is called invalid.
    """
    candidates = [substitute_variables(expr), substitute_variables(expr, "1")] if grafana else [expr]
    first_error: str | None = None
    for text in dict.fromkeys(candidates):
        try:
            return promql_parser.parse(text), None
        except (ValueError, TypeError) as error:  # promql_parser raises ValueError for syntax errors
            first_error = first_error or str(error).strip() or "not a valid PromQL expression"
    return None, first_error


# --- label matchers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelMatcher:
    """One `label op "value"` of a selector, with Prometheus' (fully anchored) regex semantics."""

    name: str
    op: str  # "=", "!=", "=~", "!~"
    value: str

    @property
    def positive(self) -> bool:
        return self.op in ("=", "=~")

    def matches(self, value: str) -> bool:
        """Would a series whose label has `value` pass this matcher? (missing label = "")."""
        if self.op in ("=", "!="):
            hit = value == self.value
        else:
            try:
                hit = re.fullmatch(self.value, value) is not None
            except re.error:
                return self.op == "!~"
        return hit if self.positive else not hit


_OPS = (
    (promql_parser.MatchOp.Equal, "="), (promql_parser.MatchOp.NotEqual, "!="),
    (promql_parser.MatchOp.Re, "=~"), (promql_parser.MatchOp.NotRe, "!~"),
)


def _matcher(raw: promql_parser.Matcher) -> LabelMatcher:
    op = next((text for kind, text in _OPS if raw.op == kind), "=")  # MatchOp is not hashable
    return LabelMatcher(str(raw.name), op, str(raw.value))


def selectors(expr: promql_parser.Expr) -> list[list[LabelMatcher]]:
    """The label matchers of every vector selector in an expression (one list per selector).

    `a{x="1" or y="2"}` (or-matchers) gives one list per alternative.
    """
    found: list[list[LabelMatcher]] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = node.matchers
            base = [_matcher(m) for m in matchers.matchers]
            if matchers.or_matchers:
                found.extend(base + [_matcher(m) for m in group] for group in matchers.or_matchers)
            else:
                found.append(base)
        return True

    promql_parser.walk(expr, visit)
    return found


@lru_cache(maxsize=8192)
def syntax_error(expr: str, grafana: bool = False) -> str | None:
    """The parser's message for an invalid expression, None for a valid one; cached, because the
    environments render the same alerts and dashboards (prod's would otherwise be parsed again
    after its render, the last one, ends)."""
    return parse(expr, grafana=grafana)[1]


@lru_cache(maxsize=4096)
def expression_selectors(expr: str, grafana: bool = False) -> tuple[tuple[LabelMatcher, ...], ...] | None:
    """The selectors of an expression (see `selectors`), or None when it does not parse; cached,
    because every model is compared with every alert and panel query."""
    parsed, _ = parse(expr, grafana=grafana)
    return None if parsed is None else tuple(tuple(matchers) for matchers in selectors(parsed))


# --- where expressions live --------------------------------------------------------------------


@dataclass(frozen=True)
class RuleExpr:
    """One rule of a PrometheusRule: its position, the rule mapping and its expression text."""

    manifest: Manifest
    path: str  # spec.groups[0].rules[2]
    rule: dict[str, Any]
    group: str

    @property
    def expr(self) -> str:
        value = self.rule.get("expr")
        return "" if value is None else str(value)

    @property
    def alert(self) -> str | None:
        value = self.rule.get("alert")
        return str(value) if value is not None else None

    @property
    def name(self) -> str:
        return self.alert or str(self.rule.get("record", "?"))


def prometheus_rules(manifest: Manifest) -> Iterator[RuleExpr]:
    """Every rule of a PrometheusRule (`spec.groups[].rules[]`)."""
    groups = (manifest.data.get("spec") or {}).get("groups") if isinstance(manifest.data.get("spec"), dict) else None
    if not isinstance(groups, list):
        return
    for g, group in enumerate(groups):
        if not isinstance(group, dict) or not isinstance(group.get("rules"), list):
            continue
        for r, rule in enumerate(group["rules"]):
            if isinstance(rule, dict):
                yield RuleExpr(manifest, f"spec.groups[{g}].rules[{r}]", rule, str(group.get("name", g)))


@dataclass(frozen=True)
class PanelQuery:
    """One Prometheus query of a Grafana dashboard panel."""

    manifest: Manifest
    json_path: str  # panels[1].panels[0].targets[0].expr, inside spec.json
    panel_title: str
    expr: str


def dashboard_queries(manifest: Manifest) -> Iterator[PanelQuery]:
    """Every Prometheus `expr` of every panel (nested rows included) of a GrafanaDashboard."""
    model, _ = dashboard_model(manifest)
    if model is None:
        return
    for path, panel in iter_panels(model):
        targets = panel.get("targets")
        if not isinstance(targets, list):
            continue
        panel_type = datasource_type(panel.get("datasource"))
        for t, target in enumerate(targets):
            if not isinstance(target, dict) or not isinstance(target.get("expr"), str) or not target["expr"].strip():
                continue
            if not prometheus_target(target, panel_type):
                continue
            title = str(panel.get("title") or f"id {panel.get('id', '?')}")
            yield PanelQuery(manifest, f"{path}.targets[{t}].expr", title, target["expr"])


# --- rules -------------------------------------------------------------------------------------


def _check_syntax(context: PolicyContext) -> Iterator[Violation]:
    for manifest in context.objects(Scope.ALL):
        if manifest.kind == "PrometheusRule":
            for rule in prometheus_rules(manifest):
                if "expr" not in rule.rule:
                    continue
                error = syntax_error(rule.expr)
                if error is not None:
                    yield Violation(
                        f"{'alert' if rule.alert else 'recording rule'} {rule.name!r} has an invalid "
                        f"expression: {error}", manifest, f"{rule.path}.expr")
        elif manifest.kind == "GrafanaDashboard":
            for query in dashboard_queries(manifest):
                error = syntax_error(query.expr, grafana=True)
                if error is not None:
                    yield Violation(
                        f"panel {query.panel_title!r} query at {query.json_path} is invalid PromQL: {error}",
                        manifest, "spec.json")


def _check_alert_metadata(context: PolicyContext) -> Iterator[Violation]:
    for manifest in context.objects(Scope.ALL):
        if manifest.kind != "PrometheusRule":
            continue
        for rule in prometheus_rules(manifest):
            if rule.alert is None:
                continue  # recording rules carry neither
            labels = rule.rule.get("labels")
            annotations = rule.rule.get("annotations")
            severity = labels.get("severity") if isinstance(labels, dict) else None
            summary = annotations.get("summary") if isinstance(annotations, dict) else None
            if severity is None or not str(severity).strip():
                yield Violation(f"alert {rule.alert!r} has no severity label", manifest, f"{rule.path}.labels")
            if summary is None or not str(summary).strip():
                yield Violation(f"alert {rule.alert!r} has no summary annotation", manifest,
                                f"{rule.path}.annotations")


RULES: list[Rule] = [
    Rule(
        id="promql-syntax",
        summary="Every PrometheusRule expression and Grafana panel query is valid PromQL",
        explanation=(
            "A PrometheusRule is only shape-checked by the API server: a typo in one `expr` is "
            "rejected by the Prometheus Operator's admission webhook when Argo CD syncs it (the "
            "whole rule object fails), or the rule group never loads, and the alerts you rely on "
            "during an incident are simply not there. A broken Grafana panel query shows an error "
            "only to the person who opens the dashboard when it matters. Every `spec.groups[].rules[].expr` "
            "and every panel `targets[].expr` of a GrafanaDashboard (nested rows included) is parsed "
            "with Prometheus' grammar; Grafana template variables (`$model`, `${model}`, "
            "`$__rate_interval`, `[$__range]`) are replaced by plausible values first. Queries of "
            "panels whose datasource is not Prometheus (Loki, ...) are skipped."
        ),
        fix="correct the expression (try it in the OpenShift console under Observe > Metrics)",
        check=_check_syntax,
        scope=Scope.ALL,
    ),
    Rule(
        id="alert-severity-summary",
        summary="Every alerting rule has a severity label and a summary annotation",
        explanation=(
            "Alertmanager routes on `severity` (OpenShift's default routing and most receivers "
            "page on `critical` and ticket on `warning`): an alert without it goes to the default "
            "receiver or nowhere. The `summary` annotation is the one line a person on call reads "
            "in the notification and the console; without it they get only the alert name. "
            "Recording rules carry neither and are exempt."
        ),
        fix="add labels: {severity: warning|critical} and annotations: {summary: \"...\"} to the alert",
        check=_check_alert_metadata,
        scope=Scope.ALL,
    ),
]
