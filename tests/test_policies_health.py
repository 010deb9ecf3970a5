"""health family: the repository's own Argo CD health checks, run on the states it deploys, let every wave complete."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mlops.findings import Severity
from mlops.policies import health
from mlops.policies.health import RULES
from policy_helpers import check, make_context
from template_defects import errors, line_of, names, only_error, reintroduce, template, validate

STOPPED, GENERATION, APPROVAL, UNCHECKED = RULES
CHECKS = "bootstrap/argocd-health-checks.yaml"


def check_line(repo: Path, kind: str) -> int:
    """Line of the `check:` key of a kind's entry in the template's health checks."""
    return line_of(repo, CHECKS, f"      kind: {kind}\n      check: |") + 1


# --- the template, with each defect put back ------------------------------------------------------


def test_the_template_passes_every_rule(tmp_path: Path) -> None:
    code, findings = validate(template(tmp_path))
    assert errors(findings) == [] and code == 0


def test_stopped_model_reported_suspended_stalls_dev(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, CHECKS, 'hs.status = "Healthy"\n          hs.message = "Stopped on purpose',
                'hs.status = "Suspended"\n          hs.message = "Stopped on purpose')
    code, findings = validate(repo, "dev")
    assert code == 1
    found = {names(f): f for f in errors(findings)}
    assert set(found) == {"InferenceService/mlops-dev/granite-3-3-2b-instruct",
                          "InferenceService/mlops-dev/fraud-detection"}
    deployed = found["InferenceService/mlops-dev/granite-3-3-2b-instruct"]
    assert deployed["rule"] == "argocd-health-stopped"
    assert (deployed["file"], deployed["line"]) == (CHECKS, check_line(repo, "InferenceService"))
    assert "deployed stopped" in deployed["message"] and "Suspended" in deployed["message"]
    assert "the PostSync hook Job retrain-fraud-detection-schedule" in deployed["message"]
    assert deployed["message"].endswith("never runs")


def test_stopped_workbench_reported_suspended_holds_back_the_models(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, CHECKS, 'hs.status = "Healthy"\n          hs.message = "Stopped since "',
                'hs.status = "Suspended"\n          hs.message = "Stopped since "')
    code, findings = validate(repo, "dev", "test", "prod")
    assert code == 1
    found = errors(findings)
    assert {(f["environment"], names(f)) for f in found} == {
        ("dev", "Notebook/mlops-dev/mlops-workbench"), ("test", "Notebook/mlops-test/mlops-workbench")}
    assert {(f["rule"], f["file"], f["line"]) for f in found} == {
        ("argocd-health-stopped", CHECKS, check_line(repo, "Notebook"))}
    assert re.search(r"wave 0 of dev never completes, waves? 1(, 2)? never starts?", found[0]["message"])


def test_datasciencecluster_check_that_ignores_the_generation(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, CHECKS, "        if generation ~= nil and observed ~= nil and observed < generation then\n",
                "        if false then\n")
    code, findings = validate(repo, "platform")
    finding = only_error(findings, "argocd-health-generation")
    assert code == 1 and names(finding) == "DataScienceCluster/default-dsc"
    assert (finding["file"], finding["line"]) == (CHECKS, check_line(repo, "DataScienceCluster"))
    assert "generation 4 while the spec is at generation 5" in finding["message"]


def test_manual_approval_without_a_health_override(tmp_path: Path) -> None:
    repo = template(tmp_path)
    line = reintroduce(repo, "platform/subscription-patch.yaml", "  installPlanApproval: Automatic\n",
                       "  installPlanApproval: Manual\n")
    code, findings = validate(repo, "platform")
    finding = only_error(findings, "subscription-approval")
    assert code == 1 and names(finding) == "Subscription/redhat-ods-operator/rhods-operator"
    assert (finding["file"], finding["line"]) == ("platform/subscription-patch.yaml", line)
    assert "before v3.5.0" in finding["message"] and "waves -1, 0, 1 never start" in finding["message"]


def test_automatic_approval_on_a_channel_that_spans_minors(tmp_path: Path) -> None:
    """Automatic approval is safe on a minor-pinned channel only; a floating one is rhoai-channel-floating's."""
    repo = template(tmp_path)
    reintroduce(repo, "platform/subscription-patch.yaml", "  channel: stable-3.5\n", "  channel: stable-3.x\n")
    code, findings = validate(repo, "platform", strict=True)
    assert errors(findings) == [] and code == 1  # a warning, which --strict (as in CI) fails
    (finding,) = [f for f in findings if f["severity"] == "warning"]
    assert finding["rule"] == "rhoai-channel-floating" and names(finding).endswith("/rhods-operator")


APPROVAL_AWARE = """\
    - group: operators.coreos.com
      kind: Subscription
      check: |
        local pending = false
        for _, c in ipairs((obj.status or {}).conditions or {}) do
          if c.type == "InstallPlanPending" and c.status == "True" then pending = c.reason end
        end
        if pending == "RequiresApproval" and obj.status.installedCSV ~= nil then
          return { status = "Healthy", message = "Upgrade awaits approval" }
        end
        if pending then return { status = "Progressing", message = "Installing" } end
        return { status = "Healthy", message = "Installed" }
"""


def test_manual_approval_with_an_override_that_behaves_like_argo_cd_3_5(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, "platform/subscription-patch.yaml", "  installPlanApproval: Automatic\n",
                "  installPlanApproval: Manual\n")
    reintroduce(repo, CHECKS, "    # Application: report", APPROVAL_AWARE + "    # Application: report")
    code, findings = validate(repo, "platform")
    assert errors(findings) == [] and code == 0


def test_manual_approval_with_an_override_that_waits(tmp_path: Path) -> None:
    repo = template(tmp_path)
    reintroduce(repo, "platform/subscription-patch.yaml", "  installPlanApproval: Automatic\n",
                "  installPlanApproval: Manual\n")
    blind = APPROVAL_AWARE.replace('pending == "RequiresApproval" and', "false and")
    reintroduce(repo, CHECKS, "    # Application: report", blind + "    # Application: report")
    code, findings = validate(repo, "platform")
    finding = only_error(findings, "subscription-approval")
    assert code == 1 and (finding["file"], finding["line"]) == (CHECKS, check_line(repo, "Subscription"))
    assert "reports Progressing (Installing)" in finding["message"]


# --- the rules on small repositories: when a stopped object does not stall anything -----------------


def _write_checks(root: Path, isvc_stopped_status: str) -> None:
    (root / "bootstrap").mkdir(parents=True, exist_ok=True)
    (root / "bootstrap" / "health.yaml").write_text(textwrap.dedent(f"""\
        spec:
          resourceHealthChecks:
            - group: serving.kserve.io
              kind: InferenceService
              check: |
                for _, c in ipairs((obj.status or {{}}).conditions or {{}}) do
                  if c.type == "Stopped" and c.status == "True" then
                    return {{ status = "{isvc_stopped_status}", message = "Stopped" }}
                  end
                end
                return {{ status = "Progressing", message = "Waiting" }}
        """), encoding="utf-8")


def isvc(name: str, stopped: bool, wave: str | None = None) -> dict[str, Any]:
    annotations = {"serving.kserve.io/stop": "true"} if stopped else {}
    if wave is not None:
        annotations["argocd.argoproj.io/sync-wave"] = wave
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "__file__": "models/m.yaml",
            "metadata": {"name": name, "namespace": "ml-dev", "annotations": annotations},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "onnx"}}}}}


def secret(wave: str) -> dict[str, Any]:
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "s3", "namespace": "ml-dev", "annotations": {"argocd.argoproj.io/sync-wave": wave}}}


def test_a_single_wave_sync_waits_for_nothing(tmp_path: Path) -> None:
    _write_checks(tmp_path, "Suspended")
    context = make_context(tmp_path, {"dev": [isvc("llm", stopped=True)]}, environments=("dev",))
    assert check(STOPPED, context) == []


def test_a_healthy_stopped_state_completes_the_wave(tmp_path: Path) -> None:
    _write_checks(tmp_path, "Healthy")
    context = make_context(tmp_path, {"dev": [secret("-1"), isvc("llm", True, "1"), isvc("fraud", False, "1")]},
                           environments=("dev",))
    assert check(STOPPED, context) == []


def test_degraded_completes_nothing_either(tmp_path: Path) -> None:
    _write_checks(tmp_path, "Degraded")
    context = make_context(tmp_path, {"dev": [secret("-1"), isvc("llm", True, "1")]}, environments=("dev",))
    (finding,) = check(STOPPED, context)
    assert finding.file == "bootstrap/health.yaml" and finding.line == 5
    assert "reports it Degraded (Stopped)" in finding.message


def test_argo_cd_builtin_check_stalls_a_stopped_model(tmp_path: Path) -> None:
    context = make_context(tmp_path, {"dev": [secret("-1"), isvc("llm", True, "1"), isvc("fraud", False, "1")]},
                           environments=("dev",))
    findings = check(STOPPED, context)
    assert [f.object.name for f in findings if f.object] == ["llm", "fraud"]
    assert all("Argo CD's built-in check" in f.message and "Suspended" in f.message for f in findings)
    assert findings[0].file == "models/m.yaml" and findings[0].path == "metadata.annotations.serving.kserve.io/stop"


def test_a_check_that_fails_to_run(tmp_path: Path) -> None:
    (tmp_path / "health.yaml").write_text(
        "spec:\n  resourceHealthChecks:\n    - group: serving.kserve.io\n      kind: InferenceService\n"
        "      check: |\n        return string.format('%s', 'Healthy')\n", encoding="utf-8")
    context = make_context(tmp_path, {"dev": [secret("-1"), isvc("llm", True, "1")]}, environments=("dev",))
    (finding,) = check(STOPPED, context)
    assert "fails (" in finding.message and "string" in finding.message


def test_generation_rule_needs_a_datasciencecluster_check(tmp_path: Path) -> None:
    dsc = {"apiVersion": "datasciencecluster.opendatahub.io/v2", "kind": "DataScienceCluster",
           "metadata": {"name": "default-dsc"}, "spec": {"components": {}}}
    assert check(GENERATION, make_context(tmp_path, {"dev": [dsc]}, environments=("dev",))) == []


def test_without_a_lua_interpreter_the_checks_are_reported_unchecked(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _write_checks(tmp_path, "Suspended")
    context = make_context(tmp_path, {"dev": [secret("-1"), isvc("llm", True, "1")]}, environments=("dev",))
    assert check(UNCHECKED, context) == []
    monkeypatch.setattr(health, "lua_available", lambda: False)
    (finding,) = check(UNCHECKED, context)
    assert finding.severity is Severity.WARNING and "lupa" in finding.message
    assert "InferenceService (bootstrap/health.yaml:5)" in finding.message
    assert check(STOPPED, context) == []  # not run, and not passed either: the warning says so
    empty = make_context(tmp_path / "none", {"dev": []}, environments=("dev",))
    assert check(UNCHECKED, empty) == []  # no checks, nothing to run
