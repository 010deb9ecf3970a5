"""Checks that need no render wait for a free core only when the renders are predicted to leave one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlops import config as config_module
from mlops.check import schema_store
from mlops.kustomize import find_engine
from mlops.render_schedule import IDLE_SHARE_TO_WAIT, idle_share, should_wait
from mlops.validate import ValidationRun, run_validation
from repo_builder import DEPLOYMENT, simple_repo, slow_kustomize

TEMPLATE = [1.0, 1.0, 1.0, 0.15, 0.05]  # dev, test, prod, platform, argocd (bytes they read, scaled)


@pytest.mark.parametrize(("durations", "workers", "share"), [
    (TEMPLATE, 2, 0.4),  # the third environment renders alone while the small roots are done
    (TEMPLATE, 4, 0.8),  # platform and argocd done early: one core idle for most of the run
    ([1.0, 1.0], 2, 0.0),  # two equal roots finish together
    ([1.0] * 10, 2, 0.0),
    ([1.0, 1.0, 1.0], 2, 0.5),
    ([1.0], 2, 1.0),  # the second worker never renders
    ([], 2, 0.0),
    ([0.0, 0.0], 2, 0.0),
])
def test_idle_share_of_a_pool_that_takes_renders_in_order(durations: list[float], workers: int, share: float) -> None:
    assert idle_share(durations, workers) == pytest.approx(share)


@pytest.mark.parametrize(("durations", "workers", "waits"), [
    (TEMPLATE, 2, True),
    ([1.0, 1.0], 2, False),
    ([1.0] * 10, 2, False),
    ([1.0], 2, False),  # a worker is idle from the start: nothing to wait for
    ([1.0, 0.5], 2, True),
    ([1.0, 0.9], 2, False),
])
def test_should_wait(durations: list[float], workers: int, waits: bool) -> None:
    assert should_wait(durations, workers) is waits
    assert IDLE_SHARE_TO_WAIT == 0.3


@pytest.mark.parametrize(("environments", "waits"), [(("dev", "test", "prod"), True), (("dev", "test"), False)])
def test_the_policies_start_when_a_worker_has_no_render_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environments: tuple[str, ...], waits: bool) -> None:
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setenv("KUSTOMIZE", str(slow_kustomize(tmp_path, 0.3)))
    repo = simple_repo(tmp_path / "repo", {"deployment.yaml": DEPLOYMENT}, environments)
    settings = repo / "mlops.yaml"  # the release known up front: the rules run during the renders
    settings.write_text('rhoaiVersion: "3.5"\n' + settings.read_text(), encoding="utf-8")
    cfg = config_module.load(repo)
    rendered_at_start: list[int] = []

    def hook(run: ValidationRun) -> list[object]:
        rendered_at_start.append(len(run.rendered))
        return []

    run = run_validation(cfg, list(cfg.all_targets), find_engine(), schema_store(cfg, (), None, offline=True),
                         hook)  # type: ignore[arg-type]
    assert len(run.rendered) == len(environments)
    # three equal roots on two workers: the third renders alone, and the rules wait until it does
    # (the first worker to finish takes the third root, the second finds nothing left: two have
    # finished); two equal roots leave no such time, so the rules start with the renders
    assert rendered_at_start == ([2] if waits else [0])
