"""The cycle collector's policy during a validation: set by the outermost use, kept until it ends."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

import pytest

from mlops.check import SchemaOptions, ValidateRequest, validate_repository
from mlops.collector import RUN_THRESHOLDS, fewer_collections, keep_until_exit
from mlops.report import render as render_report
from repo_builder import DEPLOYMENT, write


def test_the_policy_holds_inside_and_the_defaults_come_back() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with fewer_collections():
        assert gc.get_threshold() == RUN_THRESHOLDS
        assert gc.get_freeze_count() > frozen_before
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_an_inner_use_leaves_the_outer_policy_in_force() -> None:
    with fewer_collections():
        frozen = gc.get_freeze_count()
        with fewer_collections():
            pass
        assert gc.get_threshold() == RUN_THRESHOLDS
        assert gc.get_freeze_count() == frozen  # not thawed by the inner exit


def test_a_failure_inside_restores_the_defaults() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
    with fewer_collections():  # and the next use applies it again
        assert gc.get_threshold() == RUN_THRESHOLDS


def test_the_report_of_a_validation_is_built_under_the_policy(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The caches and the report come after the run: they hold every object of it too."""
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))
    repo = write(tmp_path / "repo", {
        "mlops.yaml": 'kubernetesVersion: "1.33"\nenvironments:\n  - name: dev\n    path: app\n',
        "app/kustomization.yaml": "resources:\n  - deploy.yaml\n",
        "app/deploy.yaml": DEPLOYMENT,
    })
    seen: list[tuple[int, int, int]] = []
    def watching(*args: Any, **kwargs: Any) -> str:
        seen.append(gc.get_threshold())
        return render_report(*args, **kwargs)

    monkeypatch.setattr("mlops.check.render_report", watching)
    report = validate_repository(ValidateRequest((), repo, SchemaOptions(offline=True)))
    assert "container-resources" in report.text  # the run did check the Deployment
    assert seen == [RUN_THRESHOLDS]
    assert gc.get_threshold() != RUN_THRESHOLDS


def test_a_program_keeps_the_policy_to_its_end() -> None:
    """`console` sets it once: no command's exit brings the defaults (and a full collection) back."""
    program = (
        "import gc\n"
        "from mlops.collector import RUN_THRESHOLDS, fewer_collections, for_the_process\n"
        "for_the_process()\n"
        "frozen = gc.get_freeze_count()\n"
        "with fewer_collections():\n"
        "    pass\n"
        "assert gc.get_threshold() == RUN_THRESHOLDS, gc.get_threshold()\n"
        "assert gc.get_freeze_count() == frozen > 0\n"
        "print('kept')\n"
    )
    assert _output_of(program) == "kept"


def test_only_the_program_leaves_objects_to_the_operating_system() -> None:
    """A test or library caller frees what it drops; the program keeps it referenced until `os._exit`."""
    class Run:
        pass

    dropped = Run()
    watched = weakref.ref(dropped)
    keep_until_exit(dropped)
    del dropped
    assert watched() is None  # no `for_the_process` here: nothing was kept
    program = (
        "import weakref\n"
        "from mlops.collector import for_the_process, keep_until_exit\n"
        "class Run: pass\n"
        "for_the_process()\n"
        "run = Run()\n"
        "watched = weakref.ref(run)\n"
        "keep_until_exit(run)\n"
        "del run\n"
        "print('kept' if watched() is not None else 'freed')\n"
    )
    assert _output_of(program) == "kept"


def _output_of(program: str) -> str:
    """What a new Python process running `program` prints: the policy is for the whole process."""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
