"""Committed symlinks, judged the way Argo CD judges them.

Argo CD's repo-server refuses to generate manifests for *any* Application of a repository that
holds one symlink that is absolute or climbs out of the repository, whether or not a
kustomization reads it: "repository contains out-of-bounds symlinks. file: ..." (argoproj/argo-cd,
`util/app/path/path.go` `CheckOutOfBoundsSymlinks`, called on the checkout's root in
`reposerver/repository/repository.go` unless `ARGOCD_REPO_SERVER_ALLOW_OUT_OF_BOUNDS_SYMLINKS`
is set). Its test walks the link's target one part at a time from the link's folder and fails as
soon as a step leaves the root; links inside the repository, dangling or not, are fine. This
module applies the same test to what would be committed, for `mlops validate`, and to the tree
a promotion starts from.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import OutsideError
from .findings import Finding, Severity
from .git import Git

RULE = "symlink-out-of-bounds"


@dataclass(frozen=True)
class Link:
    """A symlink of the repository: its path (relative to the root), its target, and Argo CD's verdict."""

    path: str
    target: str
    out_of_bounds: bool

    @property
    def problem(self) -> str:
        where = "an absolute path" if os.path.isabs(self.target) else "outside the repository"
        return (f"symlink {self.path} points to {self.target!r}, {where}: Argo CD's repo-server refuses to render "
                "every Application of this repository (\"repository contains out-of-bounds symlinks\")")

    @property
    def fix(self) -> str:
        return ("replace the link with the file it points to, or with a relative link to a file inside the "
                "repository")


def out_of_bounds(link: str, target: str) -> bool:
    """Argo CD's test: is `target` absolute, or does walking it part by part from the folder of `link`
    (a path relative to the repository root) ever leave the root?"""
    if os.path.isabs(target):
        return True
    current = PurePosixPath(link).parent
    depth = len([part for part in current.parts if part not in ("", ".")])
    for part in target.split("/"):
        if part == "..":
            depth -= 1
        elif part not in ("", "."):
            depth += 1
        if depth < 0:
            return True
    return False


def _link(root: Path, path: Path) -> Link:
    relative = path.relative_to(root).as_posix()
    target = os.readlink(path)
    return Link(relative, target, out_of_bounds(relative, target))


def links_in_tree(root: Path) -> Iterator[Link]:
    """Every symlink under `root` (a folder holding exactly the repository's files, such as an export)."""
    for folder, folders, files in os.walk(root):
        for name in [*folders, *files]:
            path = Path(folder) / name
            if path.is_symlink():
                yield _link(root, path)


def links_to_commit(root: Path, repository_root: Path, listed: list[str] | None) -> Iterator[Link]:
    """The symlinks git would commit under `root` (`listed`: `git ls-files` output, relative to `root`).

    Without git (`listed` None), every file under `root` counts except `.git` and virtual
    environments, which are never committed. The verdict is taken against `repository_root`,
    the root Argo CD checks out.
    """
    prefix = root.resolve().relative_to(repository_root.resolve()).as_posix()
    prefix = "" if prefix == "." else f"{prefix}/"
    # Plain strings and lstat: thousands of files, and pathlib's parsing would cost more than the check.
    base = str(root)
    candidates: list[str] = []
    if listed is not None:
        candidates = [os.path.join(base, name) for name in listed]
    else:
        for folder, folders, files in os.walk(base):
            folders[:] = [name for name in folders if name != ".git"
                          and not os.path.exists(os.path.join(folder, name, "pyvenv.cfg"))]
            candidates += [os.path.join(folder, name) for name in [*folders, *files]]
    for candidate in candidates:
        if os.path.islink(candidate):
            relative = os.path.relpath(candidate, base).replace(os.sep, "/")
            target = os.readlink(candidate)
            yield Link(relative, target, out_of_bounds(prefix + relative, target))


#: `git ls-files` with these arguments, run in a folder, lists what `git add -A` would commit under it.
COMMITTED_FILES_ARGS = ("ls-files", "-z", "--cached", "--others", "--exclude-standard")


def findings(root: Path, listed_output: str | None = None) -> list[Finding]:
    """One error per symlink under `root` that would stop Argo CD from rendering the repository.

    In a git checkout, what counts is what `git add -A` would commit (tracked files and
    untracked ones that are not ignored, so a local `.venv` never does), judged against the
    repository's top level; elsewhere, every file under `root`. `listed_output` is the output of
    `git COMMITTED_FILES_ARGS` in `root` when the caller has run it already (the run cache does).
    """
    git = Git(root)
    listed: list[str] | None = None
    repository_root = git.work_tree_top()
    if repository_root is None:
        repository_root = root
    else:
        output = git.run(*COMMITTED_FILES_ARGS) if listed_output is None else listed_output
        listed = sorted({name for name in output.split("\0") if name})
    return [Finding(RULE, Severity.ERROR, link.problem, file=link.path, fix=link.fix)
            for link in links_to_commit(root, repository_root, listed) if link.out_of_bounds]


def extract(archive: tarfile.TarFile, into: Path) -> None:
    """Extract `git archive` output with its symlinks exactly as committed, whatever they point to.

    tarfile's `data` filter refuses absolute links and links out of the folder (which is right
    for a tar from anywhere), but a promotion must see the tree as Argo CD would, to refuse it
    with the finding above rather than crash. Links are made after every file is written, so no
    file is ever written through one.
    """
    links: list[tarfile.TarInfo] = []

    def files_now_links_later(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
        if member.issym():
            links.append(member)
            return None
        return tarfile.data_filter(member, destination)

    archive.extractall(into, filter=files_now_links_later)
    real_root = into.resolve()
    for member in links:
        name = PurePosixPath(member.name)
        where = into / name
        if name.is_absolute() or ".." in name.parts or not where.parent.resolve().is_relative_to(real_root):
            raise OutsideError(f"git archive holds a link named {member.name!r} outside the tree; "
                               "run `git fsck` on this repository")
        where.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(member.linkname, where)
