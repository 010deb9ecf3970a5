"""Register a new model version by pull request: what the training pipeline does after a run.

A pipeline run on the cluster has no checkout to edit and must not push to main: it proposes the
version instead. The catalog entry is written with `catalog_edit.add_version` in a temporary git
worktree made from the base branch as the remote has it, committed, pushed to
`mlops/register/<model>-<version>` and offered as a pull request that shows the version's metrics
against the gate of every environment. Merging it lands the version in the catalog; the
new-version workflow then opens its promotion to the first environment. As with a promotion,
whatever fails, the user's checkout and the remote are left as they were.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import catalog as catalog_module
from .. import config as config_module
from ..catalog import Version
from ..catalog import edit as catalog_edit
from ..errors import UsageError
from ..git import Git
from . import gates
from .pr_body import registration_body
from .publish import Forge, fetch_base, publish

BRANCH_PREFIX = "mlops/register/"
LABEL = "model-version"


@dataclass
class Registration:
    """The proposed catalog entry and how it fares against each environment's gate."""

    model: str
    version: str
    branch: str
    base: str
    entry: Version
    gate_results: dict[str, gates.GateResult]
    first_environment: str
    pull_request: Any = None
    created: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Register {self.model} {self.version}"


def register(root: Path, model_name: str, *, version: str, remote: str, base: str,
             forge: Callable[[], Forge], edit: dict[str, Any]) -> Registration:
    """Propose `version` of `model_name` by pull request; `edit` are `catalog_edit.add_version`'s arguments."""
    git = Git(root)
    prefix = git.prefix_of(root)
    client = forge()  # token and repository problems surface before anything is changed
    sha = fetch_base(git, remote, base)
    scratch_branch = f"mlops-tmp/{uuid.uuid4().hex[:12]}"
    try:
        with git.worktree(sha, scratch_branch) as tree:
            tree_root = tree / prefix
            cfg = config_module.load(tree_root)
            path = catalog_edit.add_version(tree_root, cfg, model_name, version=version, **edit)
            model, findings = catalog_module.load_model_file(tree_root, path, cfg)
            if model is None or findings:
                problem = findings[0].message if findings else "it did not load"
                raise UsageError(f"the catalog on {base} would be invalid: {problem}",
                                 file=catalog_module.catalog_path(model_name))
            entry = model.version(version)
            assert entry is not None  # add_version just wrote it
            results = {
                target.name: gates.metrics_gate(dict(entry.metrics), gate.metrics if gate else (), target.name)
                for target in cfg.environments
                for gate in [model.gates.get(target.name)]
            }
            registration = Registration(model_name, version, f"{BRANCH_PREFIX}{model_name}-{version}", base, entry,
                                        results, cfg.environments[0].name)
            git.run("add", "--", f"{prefix}{catalog_module.catalog_path(model_name)}", cwd=tree)
            message = (f"register {model_name} {version}\n\nModel: {model_name}\nVersion: {version}\n"
                       + "".join(f"{key}: {value}\n" for key, value in entry.lineage.items()))
            git.run("commit", "--quiet", "-m", message, cwd=tree)
            registration.pull_request, registration.created = publish(
                git, remote, scratch_branch, client, branch=registration.branch, base=base,
                title=registration.title, body=registration_body(registration, model), labels=[LABEL], reviewers=[])
            registration.warnings = list(getattr(client, "warnings", []))
            return registration
    finally:
        git.cleanup("branch", "-D", scratch_branch)
