"""Shared fixtures: the repository root and the API descriptions the tests check against.

Everything a test needs ships in the clone: the schemas in the package's built-in catalog, the
contracts of outside APIs in `tests/contracts/` (regenerated from the upstream files by
`scripts/regenerate-test-contracts.py`). No test reads anything beside the clone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = Path(__file__).resolve().parent / "contracts"


@pytest.fixture(autouse=True)
def _own_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test gets an empty cache folder of its own (renders, runs): never the user's ~/.cache."""
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path_factory.mktemp("mlops-cache")))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def contracts_dir() -> Path:
    return CONTRACTS


@pytest.fixture(scope="session")
def rendered_environments() -> dict[str, list[dict[str, Any]]]:
    """The objects kustomize renders for every environment of the template, once per worker.

    Several modules read them (the monitoring hook, the retraining schedule, the scoring service);
    rendering is the cost, so it is paid once. Tests get a deep copy (`rendered` in each module).
    """
    from mlops import config as config_module
    from mlops.kustomize import find_engine, render

    engine = find_engine()
    objects = {}
    for target in config_module.load(REPO_ROOT).environments:
        result = render(engine, REPO_ROOT / target.path)
        assert result.error is None, f"{target.path}: {result.error}"
        objects[target.name] = [doc for doc in yaml.safe_load_all(result.output) if doc]
    return objects


def _wholly_slow(path: Path) -> bool:
    """A test module whose every test is `slow` says so in one line of its own (`pytestmark = pytest.mark.slow`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    return any(line.startswith("pytestmark = pytest.mark.slow") for line in text.splitlines())


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The fast loop (`-m "not slow"`) does not even import the end-to-end modules.

    Importing them is what costs: the Kubeflow pipeline is built at import, MLflow and kfp load
    hundreds of modules, in every xdist worker; their tests would all be deselected anyway. The
    whole suite (no `-m`) collects and runs them as before.
    """
    if config.getoption("markexpr", "").strip() != "not slow" or collection_path.suffix != ".py":
        return None
    return True if collection_path.name.startswith("test_") and _wholly_slow(collection_path) else None


#: Fixtures that make a test end to end: a git remote with a clone of the template and the GitHub
#: stand-in (`workspace`, test_promote.py), what every promotion, rollback and registration test
#: runs against. A test that asks for one is `slow`, like the modules marked so as a whole.
END_TO_END_FIXTURES = frozenset({"workspace"})


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use an end-to-end fixture `slow` before `-m` selects (hence tryfirst)."""
    for item in items:
        if END_TO_END_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
