"""The pipeline overlaps renders, schema checks and policies; the findings must not depend on it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mlops import config as config_module
from mlops.check import run_policies as _run_policies
from mlops.check import schema_store as _schema_store
from mlops.kustomize import find_engine
from mlops.manifests import Manifest, PendingManifests
from mlops.validate import ValidationRun, run_validation
from repo_builder import copy_template


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)
    monkeypatch.setenv("MLOPS_OFFLINE", "1")


def test_policies_during_the_renders_find_what_they_find_after_them(tmp_path: Path, repo_root: Path) -> None:
    """Rules that start while targets render report exactly what they report on a finished run."""
    repo = copy_template(repo_root, tmp_path / "template")
    cfg = config_module.load(repo)

    def after_every_render(run: ValidationRun) -> list[object]:
        everything = dict(run.manifests)  # waits for every target, then runs the rules one by one
        return _run_policies(ValidationRun(config=run.config, targets=run.targets, manifests=everything,
                                           trees=run.trees, sources=run.sources, facts=run.facts))  # type: ignore[return-value]

    results = []
    for hook in (_run_policies, after_every_render):
        store = _schema_store(cfg, (), None, offline=True)
        results.append(run_validation(cfg, list(cfg.all_targets), find_engine(), store, hook))  # type: ignore[arg-type]
    streamed, sequential = results
    assert streamed.findings == sequential.findings
    assert len(streamed.findings) >= 5  # the template has infos, warnings and waived findings to compare
    assert streamed.rendered == [target.name for target in cfg.all_targets]


def test_pending_manifests_wait_for_each_target_and_keep_the_order() -> None:
    pending = PendingManifests(["dev", "test", "prod"])
    seen: list[str] = []

    def read() -> None:
        seen.extend(pending)

    reader = threading.Thread(target=read)
    reader.start()
    objects = [Manifest({"kind": "ConfigMap", "metadata": {"name": "x"}}, "prod")]
    pending.deliver("prod", objects)
    time.sleep(0.05)
    assert seen == [] and reader.is_alive()  # dev comes first and has not arrived
    pending.absent("dev")
    pending.deliver("test", [])
    reader.join(timeout=5)
    assert seen == ["test", "prod"]
    assert pending.get("nowhere") is None and "dev" not in pending
    assert pending["prod"] is objects and pending.snapshot() == {"test": [], "prod": objects}


def test_closing_ends_every_wait() -> None:
    pending = PendingManifests(["dev"])
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append("dev" in pending))
    waiter.start()
    pending.close()
    waiter.join(timeout=5)
    assert result == [False]


def test_a_job_hands_over_its_turn_while_it_waits() -> None:
    """Only one job works at a time, but one waiting for a target lets the others work."""
    pending = PendingManifests(["dev"])
    order: list[str] = []

    def waiting_job() -> None:
        with pending.exclusive():
            order.append("waiting job starts")
            assert "dev" in pending
            order.append("waiting job ends")

    first = threading.Thread(target=waiting_job)
    first.start()
    time.sleep(0.05)
    with pending.exclusive():  # would never get its turn if the waiting job kept it
        order.append("other job")
        pending.deliver("dev", [])
    first.join(timeout=5)
    assert order == ["waiting job starts", "other job", "waiting job ends"]
