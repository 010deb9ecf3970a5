"""Checks that need no render wait for a free core only when the renders are predicted to leave one."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mlops import children, render_schedule
from mlops import config as config_module
from mlops import validate as validate_module
from mlops.check import schema_store
from mlops.kustomize import engine as engine_module
from mlops.kustomize import find_engine
from mlops.render_schedule import IDLE_SHARE_TO_WAIT, Launches, idle_share, should_wait
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


def test_a_wait_for_launches_ends_when_they_have_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_schedule, "LAUNCH_WAIT_SECONDS", 60.0)
    launches = Launches()
    workers = [threading.Thread(target=launches.started) for _ in range(2)]
    for worker in workers:
        worker.start()
    assert launches.wait_for(2)
    for worker in workers:
        worker.join()


def test_a_launch_that_never_comes_does_not_hold_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_schedule, "LAUNCH_WAIT_SECONDS", 0.01)
    launches = Launches()
    launches.started()
    assert launches.wait_for(1)
    assert not launches.wait_for(2)  # a render of an ended batch never starts


def test_a_child_reports_its_start_once_and_a_stopped_one_never() -> None:
    starts: list[int] = []
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        assert children.run([sys.executable, "-c", "pass"], out, err, 60, started=lambda: starts.append(1)) == 0
        batch = children.Batch()
        batch.ended = True
        with pytest.raises(children.Stopped):
            children.run([sys.executable, "-c", "pass"], out, err, 60, batch, started=lambda: starts.append(2))
    assert starts == [1]


def test_a_finished_render_is_loaded_after_the_freed_worker_started_the_next(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The main thread lets the worker start kustomize before loading: the interpreter is not shared then.

    The third start is reported late on purpose: a main thread that did not wait for it would load
    the first finished render before it.
    """
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(render_schedule, "LAUNCH_WAIT_SECONDS", 60.0)
    repo = simple_repo(tmp_path / "repo", {"deployment.yaml": DEPLOYMENT}, ("dev", "test", "prod"))
    events: list[tuple[str, object]] = []
    lock = threading.Lock()

    class LateThirdStart(Launches):
        def started(self) -> None:
            with lock:
                number = sum(1 for event in events if event[0] == "started") + 1
            if number == 3:
                time.sleep(0.3)
            with lock:
                events.append(("started", number))
            super().started()

    load = validate_module._load

    def recorded_load(target: Any, output: str, findings: list[Any]) -> list[Any]:
        with lock:
            events.append(("loaded", target.name))
        return load(target, output, findings)

    monkeypatch.setattr(validate_module, "Launches", LateThirdStart)
    monkeypatch.setattr(validate_module, "_load", recorded_load)
    cfg = config_module.load(repo)
    run = run_validation(cfg, list(cfg.all_targets), find_engine(), schema_store(cfg, (), None, offline=True))
    assert len(run.rendered) == 3
    first_load = next(index for index, event in enumerate(events) if event[0] == "loaded")
    assert events.index(("started", 3)) < first_load, events


@pytest.mark.parametrize(("limit", "seen"), [(1 << 20, "400"), (0, "unset")])
def test_validate_renders_small_roots_at_a_slower_collector_pace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int, seen: str) -> None:
    """`run_validation` tells each render what its root reads; a root over the limit keeps Go's pace."""
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    monkeypatch.setattr(engine_module, "PACED_INPUT_BYTES", limit)
    log = tmp_path / "gogc.log"
    engine = tmp_path / "logging-kustomize"
    kubectl = Path(sys.executable).parent / "kubectl"
    engine.write_text(f'#!/bin/sh\necho "${{GOGC-unset}}" >> "{log}"\nexec "{kubectl}" kustomize "$2"\n')
    engine.chmod(0o755)
    monkeypatch.setenv("KUSTOMIZE", str(engine))
    repo = simple_repo(tmp_path / "repo", {"deployment.yaml": DEPLOYMENT}, ("dev", "test"))
    cfg = config_module.load(repo)
    run = run_validation(cfg, list(cfg.all_targets), find_engine(), schema_store(cfg, (), None, offline=True))
    assert sorted(run.rendered) == ["dev", "test"]
    assert log.read_text().split() == [seen, seen]
