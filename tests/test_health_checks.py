"""The Argo CD health checks of bootstrap/ run in a real Lua interpreter, on status as the controllers write it.

Each fixture file in tests/fixtures/health/ holds one kind in the states its check must tell apart
(ready, progressing, failed, stopped, stale generation, pending approval), with the status shape
its controller writes (sources at the top of each file) and the health Argo CD must report. The
sandbox is Argo CD's: Lua 5.1, `obj`, no string library (see mlops.policies.health_lua).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops.policies.health_lua import (
    HEALTH_STATUSES,
    HealthCheck,
    HealthCheckError,
    HealthResult,
    repository_health_checks,
    run_health_check,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "health"
CHECKED_KINDS = {
    "datasciencecluster": ("datasciencecluster.opendatahub.io", "DataScienceCluster"),
    "inferenceservice": ("serving.kserve.io", "InferenceService"),
    "notebook": ("kubeflow.org", "Notebook"),
    "application": ("argoproj.io", "Application"),
}
#: The states each kind's fixtures must cover (the acceptance of issue 17).
REQUIRED_STATES = {
    "datasciencecluster": {"ready", "progressing", "failed", "stale-generation"},
    "inferenceservice": {"ready", "progressing", "failed", "stopped"},
    "notebook": {"ready", "progressing", "failed", "stopped"},
    "application": {"ready", "progressing", "failed"},
    "subscription": {"ready", "progressing", "failed", "pending-approval"},
}


def fixtures(name: str) -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def template_checks() -> dict[tuple[str, str], HealthCheck]:
    return repository_health_checks(ROOT)


CASES = [(name, state) for name in CHECKED_KINDS for state in fixtures(name)]


@pytest.mark.parametrize(("name", "state"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_template_check_reports_what_the_status_means(name: str, state: str) -> None:
    case = fixtures(name)[state]
    check = template_checks()[CHECKED_KINDS[name]]
    result = check.evaluate(case["object"])
    assert result.status == case["expect"], f"{check.where}: {result}"
    assert result.message, "Argo CD shows the message next to the status; say why"


@pytest.mark.parametrize("name", sorted(REQUIRED_STATES))
def test_fixtures_cover_every_state(name: str) -> None:
    cases = fixtures(name)
    assert REQUIRED_STATES[name] <= set(cases)
    assert all(case["expect"] in HEALTH_STATUSES for case in cases.values())


def test_template_ships_a_check_for_each_kind_and_none_for_subscriptions() -> None:
    checks = template_checks()
    assert set(checks) == set(CHECKED_KINDS.values())
    assert all(check.file == "bootstrap/argocd-health-checks.yaml" for check in checks.values())
    # Automatic approval on a minor-pinned channel: Argo CD's own Subscription check is right on every 3.x.
    assert ("operators.coreos.com", "Subscription") not in checks


def test_stopped_objects_let_a_wave_complete() -> None:
    """The reason for the stopped states: gitops-engine moves on only from Healthy or Degraded."""
    checks = template_checks()
    for name in ("inferenceservice", "notebook"):
        result = checks[CHECKED_KINDS[name]].evaluate(fixtures(name)["stopped"]["object"])
        assert result.completes_wave and result.status == "Healthy", result


# --- a Subscription check, as a fork might write one -----------------------------------------------

#: Treats every pending InstallPlan as progress (the built-in behaviour before Argo CD v3.5.0).
WAITS_FOR_APPROVAL = """
local hs = { status = "Healthy", message = "installed" }
if obj.status == nil then return { status = "Progressing", message = "no status" } end
for _, c in ipairs(obj.status.conditions or {}) do
  if (c.type == "InstallPlanFailed" or c.type == "ResolutionFailed") and c.status == "True" then
    return { status = "Degraded", message = c.type }
  end
  if c.type == "InstallPlanPending" and c.status == "True" then
    hs = { status = "Progressing", message = "an InstallPlan is pending" }
  end
end
if obj.status.state == "UpgradeFailed" then return { status = "Degraded", message = "upgrade failed" } end
return hs
"""
#: Lets an installed operator whose upgrade awaits a manual approval be Healthy (as Argo CD v3.5.0 does).
APPROVAL_AWARE = """
if obj.status == nil then return { status = "Progressing", message = "no status" } end
local manual = obj.spec ~= nil and obj.spec.installPlanApproval == "Manual"
local pending = nil
for _, c in ipairs(obj.status.conditions or {}) do
  if (c.type == "InstallPlanFailed" or c.type == "ResolutionFailed") and c.status == "True" then
    return { status = "Degraded", message = c.type }
  end
  if c.type == "InstallPlanPending" and c.status == "True" then pending = c end
end
if obj.status.state == "UpgradeFailed" then return { status = "Degraded", message = "upgrade failed" } end
if pending ~= nil then
  if manual and pending.reason == "RequiresApproval" and obj.status.installedCSV ~= nil then
    return { status = "Healthy", message = obj.status.installedCSV .. " runs; an upgrade awaits approval" }
  end
  return { status = "Progressing", message = "an InstallPlan is pending" }
end
return { status = "Healthy", message = "at the latest version of its channel" }
"""


@pytest.mark.parametrize("state", sorted(fixtures("subscription")))
def test_an_approval_aware_subscription_check(state: str) -> None:
    case = fixtures("subscription")[state]
    assert run_health_check(APPROVAL_AWARE, case["object"]).status == case["expect"]


def test_an_approval_blind_subscription_check_waits_for_the_approval() -> None:
    pending = fixtures("subscription")["pending-approval"]["object"]
    assert run_health_check(WAITS_FOR_APPROVAL, pending) == HealthResult("Progressing", "an InstallPlan is pending")


# --- the sandbox is Argo CD's -------------------------------------------------------------------


def test_string_library_and_methods_are_absent() -> None:
    for script in ('return {status = string.upper("healthy")}', 'return {status = ("Healthy"):lower()}'):
        with pytest.raises(HealthCheckError):
            run_health_check(script, {})


def test_safe_os_and_require_os() -> None:
    script = 'local os = require("os"); return {status = "Healthy", message = tostring(os.time() > 0)}'
    assert run_health_check(script, {}) == HealthResult("Healthy", "true")
    with pytest.raises(HealthCheckError, match="not found"):
        run_health_check('return require("io")', {})


def test_object_conversion_like_decode_value() -> None:
    script = ('return {status = "Healthy", message = obj.metadata.name .. " " .. #obj.spec.items .. " " '
              '.. tostring(obj.spec.missing == nil) .. " " .. tostring(obj.spec.flag)}')
    obj = {"metadata": {"name": "x"}, "spec": {"items": [1, 2, 3], "missing": None, "flag": True}}
    assert run_health_check(script, obj) == HealthResult("Healthy", "x 3 true true")


def test_results_argo_cd_does_not_accept() -> None:
    assert run_health_check('return {status = "Fine"}', {}).status == "Unknown"
    assert run_health_check("return nil", {}) == HealthResult("", "")
    with pytest.raises(HealthCheckError, match="not a table"):
        run_health_check("return 42", {})
    with pytest.raises(HealthCheckError):
        run_health_check("this is not lua", {})


def test_a_check_that_never_ends_is_stopped() -> None:
    with pytest.raises(HealthCheckError, match="too long"):
        run_health_check("while true do end", {})


def test_checks_are_found_in_argocd_cm_too(tmp_path: Path) -> None:
    (tmp_path / "argocd-cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\ndata:\n"
        "  resource.customizations.health.serving.kserve.io_InferenceService: |\n"
        "    return {status = \"Healthy\", message = \"ok\"}\n", encoding="utf-8")
    checks = repository_health_checks(tmp_path)
    check = checks[("serving.kserve.io", "InferenceService")]
    assert (check.file, check.line) == ("argocd-cm.yaml", 5)
    assert check.evaluate({}) == HealthResult("Healthy", "ok")
