"""Source checks: what must stop a render before kustomize sees the files.

kustomize expands YAML aliases without limit, names no file in some of its errors and reads
past the repository's edge; so every file a root reads is checked first (UTF-8, alias bombs,
paths), each once per run however many roots read it. A failed render is explained by
`render_failure`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .config import Target
from .errors import MlopsError
from .findings import Finding, Severity
from .kustomization import KustomizeTree, relative
from .readfile import read_bytes
from .repofiles import RepoFiles
from .yamlsource import check_text, could_be_alias_bomb, decode_utf8


def source_findings(target: Target, tree: KustomizeTree, repo_root: Path, files: RepoFiles,
                     checked: dict[Path, list[Finding]]) -> list[Finding]:
    """Problems that must stop a render before kustomize sees the files.

    `files` knows which files are clean (read once per run, or vouched for by the memo);
    `checked` keeps the findings of the others for the run: environments share most files.
    """
    findings = [
        Finding("kustomize-reference", Severity.ERROR, message, file=ref.kustomization, line=ref.line,
                environment=target.name, fix=fix)
        for ref, message, fix in tree.problems
    ]
    for path in sorted(tree.files, key=str):  # Paths compare slowly; the final sort orders the findings
        if files.is_clean(path):
            continue
        if path not in checked:
            checked[path] = _file_findings(path, repo_root)
        findings += [replace(finding, environment=target.name) for finding in checked[path]]
    return findings


def _file_findings(path: Path, repo_root: Path) -> list[Finding]:
    """UTF-8 and alias-bomb problems of one file (the caller fills in the environment)."""
    display = relative(path, repo_root)
    try:
        raw = read_bytes(path)
    except OSError as error:
        return [Finding("yaml-syntax", Severity.ERROR, f"cannot read: {error.strerror}", file=display)]
    try:
        text = decode_utf8(raw, display)
    except MlopsError as error:
        return [Finding("yaml-encoding", Severity.ERROR, str(error), file=display, line=error.line,
                        fix="save the file as UTF-8")]
    if not could_be_alias_bomb(raw):
        return []
    return [Finding(problem.rule, Severity.ERROR, problem.message, file=display, line=problem.line, fix=problem.fix)
            for problem in check_text(text) if problem.rule == "yaml-alias-bomb"]
