"""`mlops render` and `mlops diff` as one call each: what kustomize renders, and which objects differ.

`diff.py` compares two renders object by object and writes the views; this module decides what
is compared (two environments, one environment against a git revision, or every target against
one for a pull request's preview) and how a side that does not render is reported. The rendered
diffs of every target fit one GitHub comment (`COMMENT_BUDGET`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from . import diff as diff_module
from . import interrupt
from .check import Report, load_config, load_targets
from .config import Config
from .errors import MlopsError, OutsideError
from .findings import ExitCode
from .git import Git
from .kustomize import find_engine, render_many

#: Characters of rendered diffs in one pull-request comment; GitHub accepts 65,536 in all.
COMMENT_BUDGET = 60_000


@dataclass
class Rendered:
    """What `mlops render` prints (stdout), says (stderr) and exits with."""

    text: str = ""
    messages: list[str] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.OK


def render_environments(repo: Path | None, environments: tuple[str, ...], out: Path | None) -> Rendered:
    """Render each environment; with `out`, one file per environment there instead of stdout."""
    cfg, environments, _ = load_targets(repo, environments)
    targets = cfg.select(environments)
    results = render_many(find_engine(), [cfg.root / t.path for t in targets])
    failed = [f"mlops: {t.path}: kustomize failed: {r.error}" for t, r in zip(targets, results, strict=True)
              if r.error is not None]
    if failed:
        return Rendered(messages=failed, exit_code=ExitCode.FINDINGS)
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise MlopsError(f"cannot create the output folder: {error.strerror}; pass --out a folder you can write",
                             file=str(out)) from None
        wrote = []
        for target, result in zip(targets, results, strict=True):
            (out / f"{target.name}.yaml").write_text(result.output, encoding="utf-8")
            wrote.append(f"wrote {out / (target.name + '.yaml')}")
        return Rendered(messages=wrote)
    parts = []
    for target, result in zip(targets, results, strict=True):
        if len(targets) > 1:
            parts.append(f"---\n# Source: {target.name} ({target.path})\n")
        parts.append(result.output)
    return Rendered(text="".join(parts))


def _changes_json(changes: list[diff_module.ObjectChange]) -> list[dict[str, object]]:
    return [{"status": c.status, "kind": c.kind, "namespace": c.namespace or None, "name": c.name, "diff": c.diff}
            for c in changes]


def diff_environments(repo: Path | None, environments: tuple[str, ...], base: str | None,
                      output_format: str) -> Report:
    """`mlops diff`: two environments, one against `base`, or (no environment) every target against `base`."""
    cfg = load_config(repo)
    if base is not None and not environments:
        with interrupt.safe_points_of_a_command():  # the base is checked out in a temporary worktree
            return _diff_every_target(cfg, base, output_format)
    engine = find_engine()
    if base is not None:
        if len(environments) != 1:
            raise MlopsError("with --base, name one environment, or none for every environment and target")
        (target,) = cfg.select(environments)
        with interrupt.safe_points_of_a_command(), Git(cfg.root).snapshot(base) as snapshot:
            relative_root = cfg.root.relative_to(Git(cfg.root).toplevel())
            old, new = render_many(engine, [snapshot / relative_root / target.path, cfg.root / target.path])
            interrupt.check()  # a signal ends the renders: their errors are not the repository's
        labels = (base, "working tree")
        heading = f"{target.name}: {base} → working tree"
    else:
        if len(environments) != 2 or environments[0] == environments[1]:
            raise MlopsError("name two different environments (mlops diff ENV_A ENV_B) or one with --base REF")
        first, second = cfg.select(environments)
        old, new = render_many(engine, [cfg.root / first.path, cfg.root / second.path])
        labels = (first.name, second.name)
        heading = f"{first.name} → {second.name}"
    for result in (old, new):
        if result.error is not None:
            raise OutsideError(f"kustomize failed: {result.error}; run `mlops validate` to see why")
    changes = diff_module.diff_objects(diff_module.parse_objects(old.output), diff_module.parse_objects(new.output),
                                       labels)
    if output_format == "json":
        return Report(json.dumps(_changes_json(changes), indent=2) + "\n", ExitCode.OK)
    if output_format == "markdown":
        return Report(diff_module.render_markdown(changes, heading), ExitCode.OK)
    return Report(diff_module.render_text(changes, heading), ExitCode.OK)


def _diff_every_target(cfg: Config, base: str, output_format: str) -> Report:
    """`mlops diff --base REF`: every environment and target, for the pull-request comment.

    In Markdown, a side that does not render is a comment too ("render failed at SHA", exit 1),
    so that the workflow replaces the previous preview instead of leaving it standing.
    """
    try:
        results = diff_module.changes_against(cfg, find_engine(), base)
    except diff_module.RenderFailed as failure:
        if output_format != "markdown":
            raise
        return Report(diff_module.render_failed_markdown(failure, base, diff_module.revisions(cfg, base)),
                      ExitCode.FINDINGS, [f"mlops: {failure.one_line()}"])
    if output_format == "json":
        document = [{"target": r.name, "environment": r.is_environment, "changes": _changes_json(r.changes)}
                    for r in results]
        return Report(json.dumps(document, indent=2) + "\n", ExitCode.OK)
    if output_format == "markdown":
        return Report(diff_module.render_markdown_all(results, base, limit=COMMENT_BUDGET,
                                                      revisions=diff_module.revisions(cfg, base)), ExitCode.OK)
    return Report("".join(diff_module.render_text(r.changes, f"{r.name}: {base} → working tree") for r in results),
                  ExitCode.OK)
