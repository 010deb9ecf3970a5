"""Shared fixtures: where the read-only material beside the repository lives.

`../shared` (schemas, CRDs, the GitHub OpenAPI description, the SARIF schema) sits beside the
clone in CI and on developer machines; `MLOPS_SHARED_DIR` points elsewhere when it does not.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path:
    configured = os.environ.get("MLOPS_SHARED_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = _shared_dir()
    if not (path / "schemas").is_dir():
        pytest.fail(f"{path} has no schemas/: set MLOPS_SHARED_DIR to the shared folder")
    return path


@pytest.fixture(scope="session")
def shared_schemas(shared_dir: Path) -> Path:
    return shared_dir / "schemas"
