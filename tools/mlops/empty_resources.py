"""Resource files that hold no object: kustomize accepts them, adds nothing, and says nothing."""

from __future__ import annotations

from pathlib import Path

import yaml

from .config import Target
from .findings import Finding, Severity
from .kustomization import KustomizeTree, relative
from .yamlsource import FastLoader


def empty_resources(target: Target, tree: KustomizeTree, repo_root: Path,
                     empty: dict[Path, bool]) -> list[Finding]:
    """Resource files that hold no object: kustomize accepts them and adds nothing, without a word.

    An empty file in `resources` is a file whose content was lost (a truncated save, a bad
    merge) or one never written: either way the objects a reviewer expects are not applied.
    `empty` keeps each file's verdict for the run.
    """
    findings = []
    for reference in tree.references:
        path = reference.resolved
        if reference.field != "resources" or path is None or not path.is_file():
            continue
        if path not in empty:
            try:
                nodes = yaml.compose_all(path.read_text(encoding="utf-8"), Loader=FastLoader)
                empty[path] = all(node is None or node.tag == "tag:yaml.org,2002:null" for node in nodes)
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                empty[path] = False  # unreadable or malformed: the source checks say so
        if empty[path]:
            findings.append(Finding(
                "empty-resource", Severity.ERROR,
                f"{relative(path, repo_root)} holds no object, so {reference.kustomization}:{reference.line} adds "
                "nothing to the render (kustomize says nothing about it)",
                file=relative(path, repo_root), line=1, environment=target.name,
                fix=f"write the object(s) it should hold, or remove {reference.value} from the resources of "
                    f"{reference.kustomization}"))
    return findings
