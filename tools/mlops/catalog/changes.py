"""Which model versions a change added to the catalog: what the new-version workflow promotes.

When a pull request that adds a version (by hand, by `mlops model add-version` or by the
training pipeline) is merged, the version should start its way to production at once, through
the same gated pull requests as any other. This module compares the catalog of the working tree
with the catalog at an earlier commit and names, per model, the newest version that commit did
not have. Older versions added in the same change are left out: the newest would supersede them
in the first environment anyway. A version added below the model's newest (a patch of an older
line, say 1.2.1 after 1.3.0) is left out too: promoting it to the first environment would
replace a newer version there; promote it by hand where it belongs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..config import Config
from ..errors import UsageError
from ..git import Git
from ..yamlsource import FastLoader
from .load import catalog_path, load_catalog


@dataclass(frozen=True)
class AddedVersion:
    """The newest version of `model` that `since` did not have, and where it goes first."""

    model: str
    version: str
    environment: str


def _versions_at(git: Git, ref: str, path: str) -> set[str]:
    """Version strings of a catalog file at a commit (empty when the file did not exist or did not parse)."""
    text = git.show(ref, path)
    if text is None:
        return set()
    try:
        data = yaml.load(text, Loader=FastLoader)
    except yaml.YAMLError:
        return set()
    versions = data.get("versions") if isinstance(data, dict) else None
    return {str(entry.get("version")) for entry in versions or [] if isinstance(entry, dict)}


def added_versions(root: Path, cfg: Config, since: str) -> list[AddedVersion]:
    """The newest added version of every model whose catalog gained versions after `since`."""
    git = Git(root)
    if git.rev_parse(since) is None:
        raise UsageError(f"unknown git revision {since!r}; pass a commit the repository has (e.g. the push's before)")
    if not cfg.environments:
        raise UsageError("mlops.yaml lists no environments", file="mlops.yaml")
    first = cfg.environments[0].name
    prefix = git.prefix_of(root)
    models, findings = load_catalog(root, cfg)
    if findings:
        problem = findings[0]
        raise UsageError(f"{problem.message}; fix the catalog first", file=problem.file, line=problem.line)
    added = []
    for name, model in sorted(models.items()):
        before = _versions_at(git, since, prefix + catalog_path(name))
        new = [entry for entry in model.versions if entry.version not in before]
        if new:
            newest = max(new, key=lambda entry: entry.precedence)
            if newest == model.newest_version():
                added.append(AddedVersion(name, newest.version, first))
    return added


def new_versions_report(repo: Path | None, since: str, output_format: str) -> str:
    """`mlops model new-versions`: the added versions as JSON for the workflow, or a line each."""
    from ..check import load_config

    cfg = load_config(repo)
    added = added_versions(cfg.root, cfg, since)
    if output_format == "json":
        return json.dumps([{"model": a.model, "version": a.version, "environment": a.environment}
                           for a in added], indent=2) + "\n"
    if not added:
        return f"no model gained a version since {since}\n"
    return "".join(f"{entry.model} {entry.version} -> {entry.environment}\n" for entry in added)
