"""Shared fixtures: the repository root and the API descriptions the tests check against.

Everything a test needs ships in the clone: the schemas in the package's built-in catalog, the
contracts of outside APIs in `tests/contracts/` (regenerated from the upstream files by
`scripts/regenerate-test-contracts.py`). No test reads anything beside the clone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

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
