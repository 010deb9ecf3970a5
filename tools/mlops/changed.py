"""`mlops validate --changed [REF]`: validate only the targets a change can affect.

REF defaults to the merge base of HEAD with the default branch (origin's HEAD, else `main`,
else `master`; every target when there is none, as in a repository without a commit). The
change is every path that differs between REF and the working tree (committed, staged or not)
and every untracked file git does not ignore.

A target is chosen when a file its kustomization walk reads (or names, if it is missing) was
modified. Rules compare targets, so the choice grows:

- an environment chooses the environments after it (`catalog-order` checks an environment
  against the ones before it);
- a target that is not an environment (the platform, Argo CD) chooses every target:
  environments use what it renders (hardware profiles, runtimes), and it deploys them;
- `mlops.yaml`, an added or deleted path (Argo CD's path and generator rules look at the
  repository's folders), or a YAML or JSON file that no kustomization reads (a catalog entry:
  rules read it for every environment) chooses every target.

Every target is still rendered, from the render cache when its inputs are unchanged, because
cross-target rules need all of them; and the findings of rules about the repository as a whole
(`Scope.REPOSITORY`) are reported whichever target they are about.
"""

from __future__ import annotations

from pathlib import Path

from .config import CONFIG_FILE, Config, Target
from .errors import UsageError
from .git import Git
from .kustomization import KUSTOMIZATION_NAMES, WalkCache, walk
from .policies.base import Scope

_READ_BY_RULES = (".yaml", ".yml", ".json")


def cross_target_rules() -> frozenset[str]:
    """Rules about the repository as a whole: their findings count for every target."""
    from .policies import all_rules  # loads every rule module; only --changed needs it here

    return frozenset(rule.id for rule in all_rules() if rule.scope is Scope.REPOSITORY)


def default_base(git: Git) -> str | None:
    """The merge base of HEAD with the default branch; None when there is none to tell.

    A new repository (no commit yet), a folder outside git or one with neither origin/HEAD nor
    main nor master has no base: every target is validated then, which is never wrong.
    """
    if not git.ok("rev-parse", "--is-inside-work-tree") or not git.ok("rev-parse", "--verify", "--quiet", "HEAD"):
        return None
    branch = git.run("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False).strip()
    if not branch:
        branch = next((name for name in ("main", "master")
                       if git.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{name}")), "")
    if not branch:
        return None
    base = git.run("merge-base", "HEAD", branch, check=False).strip()
    return base or None


def changed_paths(git: Git, ref: str) -> tuple[set[Path], set[Path]]:
    """(modified files, added or deleted paths) between `ref` and the working tree, untracked files included."""
    top = git.toplevel().resolve()
    if not git.ok("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"):
        raise UsageError(f"--changed {ref}: no such revision in this repository")
    modified: set[Path] = set()
    structural: set[Path] = set()
    fields = git.run("diff", "--name-status", "--no-renames", "-z", ref, "--").split("\0")
    for status, name in zip(fields[0::2], fields[1::2], strict=False):
        (structural if status.startswith(("A", "D")) else modified).add(top / name)
    untracked = git.run("ls-files", "--others", "--exclude-standard", "-z", cwd=top).split("\0")
    structural |= {top / name for name in untracked if name}
    return modified, structural


def _inputs(config: Config, target: Target, cache: WalkCache) -> set[Path]:
    tree = walk(config.root / target.path, config.root, cache)
    inputs = set(tree.files)
    inputs |= {reference.resolved for reference in tree.references if reference.resolved is not None}
    inputs |= {folder / name for folder in tree.probes for name in KUSTOMIZATION_NAMES}
    return inputs


def changed_targets(config: Config, ref: str | None) -> list[Target]:
    """The targets to validate for a change against `ref` (None: the merge base with the default branch)."""
    git = Git(config.root)
    base = ref or default_base(git)
    if base is None:
        return list(config.all_targets)
    modified, structural = changed_paths(git, base)
    root = config.root.resolve()  # nothing outside the repository's folder is read
    modified = {path for path in modified if path.is_relative_to(root)}
    structural = {path for path in structural if path.is_relative_to(root)}
    everything = list(config.all_targets)
    if structural or config.root / CONFIG_FILE in modified:
        return everything
    cache = WalkCache()
    inputs = {target.name: _inputs(config, target, cache) for target in everything}
    read = set().union(*inputs.values()) if inputs else set()
    if any(path.suffix in _READ_BY_RULES and path not in read for path in modified):
        return everything
    chosen = {name for name, paths in inputs.items() if paths & modified}
    if any(not target.is_environment for target in everything if target.name in chosen):
        return everything
    environments = list(config.environments)
    first = min((index for index, env in enumerate(environments) if env.name in chosen), default=len(environments))
    chosen |= {env.name for env in environments[first:]}
    return [target for target in everything if target.name in chosen]
