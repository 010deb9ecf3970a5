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
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from .. import config as config_module
from .. import interrupt, symlinks
from ..config import Config, Target
from ..diff import ObjectChange, diff_objects, parse_objects
from ..errors import GateFailed, UsageError
from ..findings import Finding, Severity
from ..git import Git
from ..kustomization import find_kustomization, relative, walk
from ..kustomize import Engine, render_many
from . import soak
from .plan import BaseTree, Plan, Request, make_plan
from .pr_body import pull_request_body, requested_by
from .publish import Forge, fetch_base, publish


class PromotionForge(Forge, soak.MergedPulls, Protocol):
    """A forge that opens pull requests and says when earlier ones were merged (the soak gate)."""


#: Validates one environment of a checked-out tree; returns its findings.
Validator = Callable[[Config, Target], list[Finding]]


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


def plan_only(root: Path, request: Request, engine: Engine, now: datetime | None = None) -> Plan:
    """A dry run: gates and the rendered diff, from local refs only; no file, branch, push or network."""
    git = Git(root)
    prefix = git.prefix_of(root)
    sha = local_base(git, request.remote, request.base)
    with extracted_tree(git, sha) as before, extracted_tree(git, sha) as after:
        plan = make_plan(request, BaseTree(before / prefix, prefix, git, sha), now)
        if plan.passed:
            (after / prefix / plan.pin_path).write_text(plan.pin_text, encoding="utf-8")
            plan.changes = render_changes(engine, before / prefix, after / prefix, plan.target)
            if not plan.changes:
                raise GateFailed(why_unchanged(after / prefix, plan), plan=plan)
    return plan


def promote(root: Path, request: Request, engine: Engine, validator: Validator,
            forge: Callable[[], PromotionForge], now: datetime | None = None) -> Outcome:
    """Carry out a promotion or rollback; on any failure nothing the user owns has changed."""
    git = Git(root)
    prefix = git.prefix_of(root)
    client = forge()  # token and repository problems surface before anything is changed
    sha = fetch_base(git, request.remote, request.base)
    with extracted_tree(git, sha) as before:
        plan = make_plan(request, BaseTree(before / prefix, prefix, git, sha), now, pulls=client)
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
                return _publish(git, request.remote, plan, scratch_branch, client)
        finally:
            git.cleanup("branch", "-D", scratch_branch)


def _publish(git: Git, remote: str, plan: Plan, local_branch: str, client: Forge) -> Outcome:
    """Push the promotion branch and open its pull request (see `publish`)."""
    pull_request, created = publish(git, remote, local_branch, client, branch=plan.branch, base=plan.base,
                                    title=plan.title, body=pull_request_body(plan, getattr(client, "web_url", None),
                                                                             requested_by(os.environ)),
                                    labels=plan.labels, reviewers=plan.reviewers)
    return Outcome(plan, pull_request, created, list(getattr(client, "warnings", [])))
