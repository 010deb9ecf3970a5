"""Plan and carry out a promotion (or a rollback) as a pull request, atomically.

Everything happens against the base branch as the remote has it, in a temporary git worktree on
a temporary local branch: the pin file of the target environment is written there, the
environment is rendered before and after and validated, the commit is pushed to
`mlops/promote/<model>-<env>-<version>` and the pull request is opened or updated. Whatever
fails, the user's working tree, index and branches are untouched, the temporary branch and
worktree are removed, and a branch pushed in this run is deleted (or reset) on the remote again.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import yaml

from . import catalog as catalog_module
from . import config as config_module
from . import gates, interrupt, soak, symlinks
from .config import Config, Target
from .diff import ObjectChange, diff_objects, parse_objects
from .errors import GateFailed, UsageError
from .findings import Finding, Severity
from .git import Git
from .kustomization import find_kustomization, relative, walk
from .kustomize import Engine, render_many
from .pr_body import pull_request_body, requested_by
from .publish import Forge, fetch_base, publish
from .yamlsource import FastLoader

VERSION_LABEL = "app.kubernetes.io/version"
BRANCH_PREFIX = "mlops/promote/"


class PromotionForge(Forge, soak.MergedPulls, Protocol):
    """A forge that opens pull requests and says when earlier ones were merged (the soak gate)."""


#: Validates one environment of a checked-out tree; returns its findings.
Validator = Callable[[Config, Target], list[Finding]]


@dataclass
class Plan:
    """What a promotion will do, and whether its gates allow it."""

    kind: str  # "promote" | "rollback"
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
        verb = "Roll back" if self.kind == "rollback" else "Promote"
        return f"{verb} {self.model} to {self.version} in {self.target.name}"

    @property
    def labels(self) -> list[str]:
        labels = ["rollback" if self.kind == "rollback" else "promotion", f"env/{self.target.name}"]
        return [*labels, "breaking"] if self.breaking else labels

    def commit_message(self) -> str:
        subject = (f"roll back {self.model} to {self.version} in {self.target.name}" if self.kind == "rollback"
                   else f"promote {self.model} {self.version} to {self.target.name}")
        source = self.previous.name if self.previous and self.kind == "promote" else "catalog"
        return (f"{subject}\n\n"
                f"Model: {self.model}\nVersion: {self.version}\n"
                f"From: {source if self.kind == 'promote' else self.current_version or 'none'}\n"
                f"To: {self.target.name}\n")


def pin_path(target: Target, model: str) -> str:
    return f"{target.path}/models/{model}.yaml"


def pin_version(text: str | None) -> str | None:
    """The version a pin file sets (its `app.kubernetes.io/version` label), or None."""
    if not text:
        return None
    try:
        document = yaml.load(text, Loader=FastLoader)
    except yaml.YAMLError:
        return None
    labels = ((document or {}).get("metadata") or {}).get("labels") or {} if isinstance(document, dict) else {}
    value = labels.get(VERSION_LABEL) if isinstance(labels, dict) else None
    return str(value) if value is not None else None


def previous_pinned_version(git: Git, ref: str, path: str) -> str | None:
    """The version the pin named before its current one, from its git history."""
    current = None
    for commit in git.history(ref, path):
        version = pin_version(git.show(commit.sha, path))
        if current is None:
            current = version
        elif version is not None and version != current:
            return version
    return None


@contextmanager
def extracted_tree(git: Git, sha: str) -> Iterator[Path]:
    """The files of a commit in a temporary folder: no git state, no branch, nothing to clean in the repo.

    Its symlinks are as committed; one that Argo CD would refuse stops the promotion here, with
    the same words as `mlops validate`.
    """
    archive = git.run_bytes("archive", "--format=tar", sha)
    with tempfile.TemporaryDirectory(prefix="mlops-plan-") as scratch:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            symlinks.extract(tar, Path(scratch))
        refused = next((link for link in symlinks.links_in_tree(Path(scratch)) if link.out_of_bounds), None)
        if refused is not None:
            raise GateFailed(f"{refused.problem}; {refused.fix}; nothing was changed")
        yield Path(scratch)


def _check_pin_is_a_file(tree_root: Path, path: str) -> None:
    """Refuse a pin reached through a symlink: writing it would rewrite the file the link points to."""
    through = [tree_root / Path(*Path(path).parts[:depth]) for depth in range(1, len(Path(path).parts) + 1)]
    link = next((candidate for candidate in through if candidate.is_symlink()), None)
    if link is not None:
        name = link.relative_to(tree_root).as_posix()
        raise UsageError(f"{name} is a symlink (to {os.readlink(link)!r}): the pin {path} must be a file of its own, "
                         "or promoting one environment would rewrite another's; replace the link with a copy",
                         file=path)


def make_plan(tree_root: Path, prefix: str, git: Git, base_sha: str, base: str, model_name: str, to_env: str,
              version: str | None, allow_breaking: bool, kind: str = "promote",
              now: datetime | None = None, pulls: soak.MergedPulls | None = None) -> Plan:
    """Check every gate against the base branch's catalog and pins (in `tree_root`).

    `prefix` is where the mlops root sits in the git repository ("" or "sub/folder/"), so that
    pin files can be looked up in git history. `pulls` answers when the pin of the previous
    environment was merged (None in a dry run, which asks GitHub nothing).
    """
    now = now or datetime.now(UTC)
    cfg = config_module.load(tree_root)
    (target,) = cfg.select([to_env])
    if not target.is_environment:
        raise UsageError(f"{to_env!r} is a target, not an environment: only environments are promoted")
    models, findings = catalog_module.load_catalog(tree_root, cfg)
    model = models.get(model_name)
    if model is None:
        problems = [f for f in findings if f.file and f"/{model_name}/" in f"/{f.file}"]
        if problems:
            first = problems[0]
            raise UsageError(f"{first.message}; fix the catalog first", file=first.file, line=first.line)
        raise UsageError(f"no model {model_name!r} in the catalog (models/{model_name}/model.yaml); "
                         f"known: {', '.join(sorted(models)) or 'none'}")
    previous = cfg.previous_environment(target.name)
    path = pin_path(target, model_name)
    _check_pin_is_a_file(tree_root, path)
    current_version = _pinned(tree_root, target, model_name)
    previous_version = _pinned(tree_root, previous, model_name) if previous else None

    if kind == "rollback":
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
    if kind == "rollback":
        results.append(gates.skipped("order", "skipped for a rollback"))
    else:
        results.append(gates.order_gate(chosen, previous.name if previous else None, previous_version))
    results.append(gates.metrics_gate(dict(entry.metrics), gate.metrics if gate else (), target.name))
    signature_result = gates.signature_gate(entry.signature_key(model), current_entry.signature_key(model)
                                            if current_entry else None, current_version, allow_breaking)
    results.append(signature_result)
    if kind == "rollback":
        results.append(gates.skipped("soak", "skipped for a rollback"))
    else:
        pinned = None
        if previous is not None and gate is not None and gate.soak:
            start = soak.pin_commit(git, base_sha, f"{prefix}{pin_path(previous, model_name)}", chosen, pin_version)
            branches = [f"{BRANCH_PREFIX}{model_name}-{previous.name}-{chosen}"]
            pinned = soak.since(start, base, branches, pulls) if start is not None else None
        results.append(gates.soak_gate(chosen, previous.name if previous else None, pinned,
                                       gate.soak if gate else None, now,
                                       source=gate.soak_source if gate else soak.ANY, asked_github=pulls is not None))
    breaking = current_entry is not None and entry.signature_key(model) != current_entry.signature_key(model)
    return Plan(
        kind=kind, model=model_name, version=chosen, target=target, previous=previous,
        current_version=current_version,
        branch=f"{BRANCH_PREFIX}{model_name}-{target.name}-{chosen}",
        pin_path=path, pin_text=catalog_module.write_pin_text(model, entry, target.name),
        gate_results=results, breaking=breaking, lineage=dict(entry.lineage),
        reviewers=list(gate.reviewers) if gate else [], base=base, base_sha=base_sha,
    )


def _pinned(tree_root: Path, target: Target, model: str) -> str | None:
    """The version pinned in an environment; a broken pin is named as broken, not as missing."""
    try:
        pin = catalog_module.read_pin(tree_root, target, model)
    except catalog_module.PinError as error:
        raise UsageError(f"the pin of {model} in {target.name} cannot be read: {error}; fix it first "
                         f"(`mlops validate {target.name}` reports it too)", file=error.file, line=error.line) from None
    return pin.version if pin is not None else None


def why_unchanged(tree_root: Path, plan: Plan) -> str:
    """Why writing the pin changed nothing the environment renders: not wired in, or already pinned."""
    target, model = plan.target, plan.model
    kustomization = find_kustomization(tree_root / target.path)
    read = walk(tree_root / target.path, tree_root).files
    if (tree_root / plan.pin_path).resolve() not in read:
        where = relative(kustomization, tree_root) if kustomization else f"{target.path}/kustomization.yaml"
        return (f"{plan.pin_path} is not read by {target.path}, so pinning {model} there changes nothing Argo CD "
                f"applies: add ../../models/{model} to the resources of {where} and `- path: models/{model}.yaml` "
                "to its patches")
    if plan.current_version == plan.version:
        return f"{model} {plan.version} is already what {target.name} runs; nothing to promote"
    return (f"pinning {model} {plan.version} in {plan.pin_path} changes nothing {target.path} renders: check that "
            f"the pin patches InferenceService {model} (`mlops validate {target.name}`)")


def render_changes(engine: Engine, before_root: Path, after_root: Path, target: Target) -> list[ObjectChange]:
    before, after = render_many(engine, [before_root / target.path, after_root / target.path])
    interrupt.check()  # kustomize may have failed because the signal reached it too
    for result in (before, after):
        if result.error is not None:
            raise GateFailed(f"kustomize failed for {target.path}: {result.error}")
    return diff_objects(parse_objects(before.output), parse_objects(after.output), ("current", "promoted"))


def check_validation(validator: Validator, tree_root: Path, target: Target) -> None:
    findings = validator(config_module.load(tree_root), target)
    errors = [f for f in findings if f.severity is Severity.ERROR and not f.is_waived]
    if errors:
        first = errors[0]
        where = f"{first.file}:{first.line or '-'}: " if first.file else ""
        raise GateFailed(f"mlops validate {target.name} fails after the change ({len(errors)} error(s)); "
                         f"first: {where}[{first.rule}] {first.message}")


@dataclass
class Outcome:
    """What a promotion did: its plan, and the pull request when one was opened or updated."""

    plan: Plan
    pull_request: Any = None
    created: bool = False
    warnings: list[str] = field(default_factory=list)


def local_base(git: Git, remote: str, base: str) -> str:
    """The base commit without touching the network: the remote-tracking branch, else the local one."""
    for ref in (f"refs/remotes/{remote}/{base}", base):
        sha = git.rev_parse(ref)
        if sha is not None:
            return sha
    raise UsageError(f"no branch {base!r} (nor {remote}/{base}) in this repository; pass --base")


def plan_only(root: Path, model: str, to_env: str, version: str | None, *, remote: str, base: str,
              allow_breaking: bool, kind: str, engine: Engine, validator: Validator,
              now: datetime | None = None) -> Plan:
    """A dry run: gates and the rendered diff, from local refs only; no file, branch, push or network."""
    git = Git(root)
    prefix = git.prefix_of(root)
    sha = local_base(git, remote, base)
    with extracted_tree(git, sha) as before, extracted_tree(git, sha) as after:
        plan = make_plan(before / prefix, prefix, git, sha, base, model, to_env, version, allow_breaking, kind, now)
        if plan.passed:
            (after / prefix / plan.pin_path).write_text(plan.pin_text, encoding="utf-8")
            plan.changes = render_changes(engine, before / prefix, after / prefix, plan.target)
            if not plan.changes:
                raise GateFailed(why_unchanged(after / prefix, plan), plan=plan)
    return plan


def promote(root: Path, model: str, to_env: str, version: str | None, *, remote: str, base: str,
            allow_breaking: bool, kind: str, engine: Engine, validator: Validator,
            forge: Callable[[], PromotionForge], now: datetime | None = None) -> Outcome:
    """Carry out a promotion or rollback; on any failure nothing the user owns has changed."""
    git = Git(root)
    prefix = git.prefix_of(root)
    client = forge()  # token and repository problems surface before anything is changed
    sha = fetch_base(git, remote, base)
    with extracted_tree(git, sha) as before:
        plan = make_plan(before / prefix, prefix, git, sha, base, model, to_env, version, allow_breaking, kind, now,
                         pulls=client)
        if not plan.passed:
            failed = ", ".join(r.name for r in plan.gate_results if not r.passed)
            raise GateFailed(f"gate(s) failed: {failed}; nothing was changed", plan=plan)
        scratch_branch = f"mlops-tmp/{uuid.uuid4().hex[:12]}"
        try:
            with git.worktree(sha, scratch_branch) as tree:
                (tree / prefix / plan.pin_path).write_text(plan.pin_text, encoding="utf-8")
                plan.changes = render_changes(engine, before / prefix, tree / prefix, plan.target)
                if not plan.changes:
                    raise GateFailed(why_unchanged(tree / prefix, plan), plan=plan)
                interrupt.check()
                check_validation(validator, tree / prefix, plan.target)
                git.run("add", "--", f"{prefix}{plan.pin_path}", cwd=tree)
                git.run("commit", "--quiet", "-m", plan.commit_message(), cwd=tree)
                return _publish(git, remote, plan, scratch_branch, client)
        finally:
            git.cleanup("branch", "-D", scratch_branch)


def _publish(git: Git, remote: str, plan: Plan, local_branch: str, client: Forge) -> Outcome:
    """Push the promotion branch and open its pull request (see `publish`)."""
    pull_request, created = publish(git, remote, local_branch, client, branch=plan.branch, base=plan.base,
                                    title=plan.title, body=pull_request_body(plan, getattr(client, "web_url", None),
                                                                             requested_by(os.environ)),
                                    labels=plan.labels, reviewers=plan.reviewers)
    return Outcome(plan, pull_request, created, list(getattr(client, "warnings", [])))
