"""The plan of a promotion or rollback: which version goes where, and what every gate says of it.

A plan is computed from the base branch's catalog and pins alone (a tree extracted from the base
commit), so the dry run and the real promotion judge the same thing; it is plain data that the
command prints as text or JSON and the pull-request body renders.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .. import config as config_module
from ..catalog import (
    PinError,
    load_catalog,
    pin_file,
    pin_version,
    previous_pinned_version,
    read_pin,
    write_pin_text,
)
from ..config import Target
from ..diff import ObjectChange
from ..errors import UsageError
from ..git import Git
from . import gates, soak

BRANCH_PREFIX = "mlops/promote/"


class PlanKind(enum.StrEnum):
    """Promote moves a version forward through the environments; rollback pins an earlier one again."""

    PROMOTE = "promote"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class Request:
    """What the user asked for: `mlops promote MODEL --to ENV [--version V]` or `mlops rollback ...`."""

    kind: PlanKind
    model: str
    environment: str
    version: str | None
    remote: str = "origin"
    base: str = "main"
    allow_breaking: bool = False


@dataclass(frozen=True)
class BaseTree:
    """The base branch's files in a folder (`root`, the mlops root inside it) and where they came from."""

    root: Path
    prefix: str  # where the mlops root sits in the git repository: "" or "sub/folder/"
    git: Git
    sha: str


@dataclass
class Plan:
    """What a promotion will do, and whether its gates allow it."""

    kind: PlanKind
    model: str
    version: str
    target: Target
    previous: Target | None
    current_version: str | None
    branch: str
    pin_path: str
    pin_text: str
    gate_results: list[gates.GateResult]
    breaking: bool
    lineage: dict[str, str]
    reviewers: list[str]
    base: str
    base_sha: str = ""
    changes: list[ObjectChange] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.gate_results)

    @property
    def title(self) -> str:
        verb = "Roll back" if self.kind == PlanKind.ROLLBACK else "Promote"
        return f"{verb} {self.model} to {self.version} in {self.target.name}"

    @property
    def labels(self) -> list[str]:
        labels = ["rollback" if self.kind == PlanKind.ROLLBACK else "promotion", f"env/{self.target.name}"]
        return [*labels, "breaking"] if self.breaking else labels

    def commit_message(self) -> str:
        subject = (f"roll back {self.model} to {self.version} in {self.target.name}" if self.kind == PlanKind.ROLLBACK
                   else f"promote {self.model} {self.version} to {self.target.name}")
        source = self.previous.name if self.previous and self.kind == PlanKind.PROMOTE else "catalog"
        return (f"{subject}\n\n"
                f"Model: {self.model}\nVersion: {self.version}\n"
                f"From: {source if self.kind == PlanKind.PROMOTE else self.current_version or 'none'}\n"
                f"To: {self.target.name}\n")


def _check_pin_is_a_file(tree_root: Path, path: str) -> None:
    """Refuse a pin reached through a symlink: writing it would rewrite the file the link points to."""
    through = [tree_root / Path(*Path(path).parts[:depth]) for depth in range(1, len(Path(path).parts) + 1)]
    link = next((candidate for candidate in through if candidate.is_symlink()), None)
    if link is not None:
        name = link.relative_to(tree_root).as_posix()
        raise UsageError(f"{name} is a symlink (to {os.readlink(link)!r}): the pin {path} must be a file of its own, "
                         "or promoting one environment would rewrite another's; replace the link with a copy",
                         file=path)


def make_plan(request: Request, base_tree: BaseTree, now: datetime | None = None,
              pulls: soak.MergedPulls | None = None) -> Plan:
    """Check every gate against the base branch's catalog and pins (in `tree_root`).

    `base_tree.prefix` is where the mlops root sits in the git repository ("" or "sub/folder/"), so
    that pin files can be looked up in git history. `pulls` answers when the pin of the previous
    environment was merged (None in a dry run, which asks GitHub nothing).
    """
    now = now or datetime.now(UTC)
    tree_root, prefix, git, base_sha = base_tree.root, base_tree.prefix, base_tree.git, base_tree.sha
    model_name, to_env, version, kind, base = (request.model, request.environment, request.version, request.kind,
                                               request.base)
    cfg = config_module.load(tree_root)
    (target,) = cfg.select([to_env])
    if not target.is_environment:
        raise UsageError(f"{to_env!r} is a target, not an environment: only environments are promoted")
    models, findings = load_catalog(tree_root, cfg)
    model = models.get(model_name)
    if model is None:
        problems = [f for f in findings if f.file and f"/{model_name}/" in f"/{f.file}"]
        if problems:
            first = problems[0]
            raise UsageError(f"{first.message}; fix the catalog first", file=first.file, line=first.line)
        raise UsageError(f"no model {model_name!r} in the catalog (models/{model_name}/model.yaml); "
                         f"known: {', '.join(sorted(models)) or 'none'}")
    previous = cfg.previous_environment(target.name)
    path = pin_file(target, model_name)
    _check_pin_is_a_file(tree_root, path)
    current_version = _pinned(tree_root, target, model_name)
    previous_version = _pinned(tree_root, previous, model_name) if previous else None

    if kind == PlanKind.ROLLBACK:
        chosen = version or previous_pinned_version(git, base_sha, f"{prefix}{path}")
        if chosen is None:
            raise UsageError(f"the history of {path} on {base} has no earlier version to roll back to; "
                             "name one with --to")
    elif version is not None:
        chosen = version
    elif previous is not None:
        if previous_version is None:
            raise UsageError(f"{model_name} is not pinned in {previous.name}; promote it there first")
        chosen = previous_version
    else:
        chosen = model.newest_version().version
    entry = model.version(chosen)
    if entry is None:
        raise UsageError(f"{model_name} has no version {chosen!r} in models/{model_name}/model.yaml",
                         file=f"models/{model_name}/model.yaml")
    current_entry = model.version(current_version) if current_version else None
    gate = model.gates.get(target.name)

    results: list[gates.GateResult] = []
    if kind == PlanKind.ROLLBACK:
        results.append(gates.skipped("order", "skipped for a rollback"))
    else:
        results.append(gates.order_gate(chosen, previous.name if previous else None, previous_version))
    results.append(gates.metrics_gate(dict(entry.metrics), gate.metrics if gate else (), target.name))
    signature_result = gates.signature_gate(entry.signature_key(model), current_entry.signature_key(model)
                                            if current_entry else None, current_version, request.allow_breaking)
    results.append(signature_result)
    if kind == PlanKind.ROLLBACK:
        results.append(gates.skipped("soak", "skipped for a rollback"))
    else:
        pinned = None
        if previous is not None and gate is not None and gate.soak:
            start = soak.pin_commit(git, base_sha, f"{prefix}{pin_file(previous, model_name)}", chosen, pin_version)
            branches = [f"{BRANCH_PREFIX}{model_name}-{previous.name}-{chosen}"]
            pinned = soak.since(start, base, branches, pulls) if start is not None else None
        results.append(gates.soak_gate(chosen, previous.name if previous else None, pinned,
                                       gate.soak if gate else None, now,
                                       source=gate.soak_source if gate else soak.ANY, asked_github=pulls is not None))
    breaking = current_entry is not None and entry.signature_key(model) != current_entry.signature_key(model)
    return Plan(
        kind=PlanKind(kind), model=model_name, version=chosen, target=target, previous=previous,
        current_version=current_version,
        branch=f"{BRANCH_PREFIX}{model_name}-{target.name}-{chosen}",
        pin_path=path, pin_text=write_pin_text(model, entry, target.name),
        gate_results=results, breaking=breaking, lineage=dict(entry.lineage),
        reviewers=list(gate.reviewers) if gate else [], base=base, base_sha=base_sha,
    )


def _pinned(tree_root: Path, target: Target, model: str) -> str | None:
    """The version pinned in an environment; a broken pin is named as broken, not as missing."""
    try:
        pin = read_pin(tree_root, target, model)
    except PinError as error:
        raise UsageError(f"the pin of {model} in {target.name} cannot be read: {error}; fix it first "
                         f"(`mlops validate {target.name}` reports it too)", file=error.file, line=error.line) from None
    return pin.version if pin is not None else None


