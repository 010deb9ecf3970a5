"""`mlops model monitoring` as one call: which models' monitoring.yaml to write (or check), and whether it failed.

A model named on the command line must have a catalog entry, and a valid one: its first problem
is the error, with file and line, rather than a silent skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import model_monitoring
from ..check import load_config
from ..errors import UsageError
from .load import catalog_path, known_model_names, load_catalog


@dataclass(frozen=True)
class MonitoringRun:
    """One line per file (`state path: detail`, on stderr when it needs attention) and whether the run failed."""

    lines: list[tuple[str, bool]]
    failed: bool


def write_monitoring(repo: Path | None, models: tuple[str, ...], check: bool) -> MonitoringRun:
    """Write (or with `check`, compare) models/MODEL/monitoring.yaml for the named models, or every model."""
    cfg = load_config(repo)
    found, findings = load_catalog(cfg.root, cfg)
    known = known_model_names(cfg.root)
    for name in models:
        if name not in known:
            raise UsageError(f"no catalog entry models/{name}/model.yaml")
        if name not in found:
            bad = next((f for f in findings if f.file == catalog_path(name)), None)
            raise UsageError(bad.message if bad else "invalid catalog entry", file=catalog_path(name),
                             line=bad.line if bad else None)
    results = model_monitoring.generate(cfg.root, found, list(models) or sorted(found), write=not check)
    lines, failed = [], False
    for result in results:
        detail = f": {result.detail}" if result.detail else ""
        lines.append((f"{result.state:8} {result.path}{detail}", result.state in ("stale", "orphan", "refused")))
        failed = failed or result.state in ("stale", "refused") or (check and result.state == "orphan")
    return MonitoringRun(lines, failed)
