"""The template itself: every environment and target renders and passes every schema and rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlops import config as config_module
from mlops.cli import main
from template_defects import shared_cache

ROOT = Path(__file__).resolve().parent.parent
TARGETS = [target.name for target in config_module.load(ROOT).all_targets]


@pytest.fixture(autouse=True)
def _schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)  # the built-in catalog answers
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(shared_cache()))  # copies of the template render the same


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_is_valid_and_fully_schema_checked(target: str) -> None:
    result = CliRunner().invoke(main, ["validate", target, "--repo", str(ROOT), "--strict", "--output", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["objects_checked"] > 0
    problems = [f for f in report["findings"] if f["severity"] in ("error", "warning") and not f["waived"]]
    assert problems == []
    # Every kind the template renders has a built-in schema: no location is configured here.
    assert not [f for f in report["findings"] if f["rule"] == "schema-missing"]
    coverage = report["summary"]["schema_coverage"]
    assert coverage["unchecked_kinds"] == [] and coverage["checked"] == coverage["total"] > 0


def test_environments_are_dev_test_prod_in_order() -> None:
    cfg = config_module.load(ROOT)
    assert cfg.environment_names == ("dev", "test", "prod")
    assert [t.path for t in cfg.environments] == ["overlays/dev", "overlays/test", "overlays/prod"]
