"""The run cache: a whole `mlops validate`, given again while nothing it reads has changed.

When nothing changed, even cached renders leave the policies, the schema checks and the reading
of every file to do again, so the findings of a whole run are stored too. Their key is a hash of
everything the run reads or depends on:

- the repository: every path and the content hash of every file (`RepoFiles.digest`), except
  inside the folders no check reads (`repofiles.PRUNED`), which are listed but not entered;
  a run that reads there (a kustomization naming a file in `.venv`), or follows a remote base,
  a Helm chart or a plugin, or a link out of the repository, is not stored;
- the tool: the content of every file of the `mlops` package (code, built-in schemas), the
  Python version and the installed distributions beside its libraries;
- the engine: its command, executable (real path and file status) and reported version;
- the options: targets, rules reported for every target, policies on or off, Kubernetes
  version, OpenShift AI release, offline, and each schema location with the content of its
  folder (a URL location makes a run uncacheable: what a server answers is no file);
- the repository's absolute path (kustomize's messages name it), and what git lists: the files
  it tracks or would track and the symlinks among them (rules judge what git lists, and git's
  index is inside `.git`, which the content hashes leave out).

File hashes come from a memo of file status (see `repofiles`): an unchanged file is not read.
A run is stored only if a second snapshot after it shows that nothing changed while it ran.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cachestore import EntryStore, cache_root, digest, prune
from .config import Config, Target
from .findings import Finding, ObjectRef, SchemaCoverage, Severity
from .kustomize import Engine
from .kustomize.cache import RenderCache
from .manifests import Manifest
from .repofiles import Memo, RepoFiles
from .schemas.store import SchemaStore
from .symlinks import COMMITTED_FILES_ARGS
from .symlinks import findings as symlink_findings
from .validate import PolicyHook, ValidationRun, run_validation
from .yamlsource import SourceDocument

FORMAT = 1
PACKAGE = Path(__file__).resolve().parent
_LIBRARIES = ("yaml", "jsonschema_rs", "kubernetes_validate", "promql_parser", "ruamel.yaml", "click")


class Caches:
    """The cache folder: renders, runs and file memos (`--no-cache` uses none of it)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_root()
        self.runs = EntryStore(self.root, "runs")
        self._memos = EntryStore(self.root, "memo")

    def load_memo(self, folder: Path) -> Memo | None:
        payload = self._memos.read(digest("memo", FORMAT, str(folder)))
        return None if payload is None else Memo.decode(payload)

    def save_memo(self, folder: Path, memo: Memo) -> None:
        self._memos.write(digest("memo", FORMAT, str(folder)), memo.encode())


def _folder_digest(caches: Caches, folder: Path, tool: str = "") -> str | None:
    """Content hash of a folder, reading only files its memo cannot vouch for."""
    if not folder.is_dir():
        return "missing"
    files = RepoFiles(folder, caches.load_memo(folder), tool)
    result = files.digest()
    if files.reads:
        caches.save_memo(folder, files.memo())
    return result


def _installed() -> list[str]:
    """The Python version and every distribution installed beside the tool's libraries."""
    folders: set[str] = set()
    for name in _LIBRARIES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            folders.add(os.path.dirname(os.path.dirname(spec.origin)))
        elif spec is not None and spec.submodule_search_locations:
            folders.add(os.path.dirname(next(iter(spec.submodule_search_locations))))
    found = [sys.version]
    for folder in sorted(folders):
        try:
            found += sorted(name for name in os.listdir(folder) if name.endswith((".dist-info", ".egg-info")))
        except OSError:
            found.append(f"unreadable {folder}")
    return found


def _git_files(root: Path) -> tuple[str, str | None]:
    """A hash of the files git tracks or would track here, and git's list of them (None without one).

    Rules read that list (Argo CD's file generators), and it depends on git's index (a file
    tracked although ignored), which the file digest, leaving `.git` out, does not see. The list
    itself is what the symlink check asks git for (`symlinks.COMMITTED_FILES_ARGS`), so a lookup
    hands it over instead of starting git again.
    """
    try:
        listed = subprocess.run(["git", *COMMITTED_FILES_ARGS], cwd=root, capture_output=True, check=False,
                                timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "no git", None
    if listed.returncode != 0:
        return "not a git checkout", None
    return hashlib.sha256(listed.stdout).hexdigest(), listed.stdout.decode("utf-8", "surrogateescape")


def _options(config: Config, targets: list[Target], store: SchemaStore, policies: bool,
             also_report: frozenset[str], caches: Caches, tool: str) -> dict[str, Any] | None:
    """Everything but files that a run's findings depend on; None when the run cannot be cached."""
    locations = []
    for location in store.lookup.locations:
        if location.is_url:
            return None
        prefix = location.spec.split("{", 1)[0]
        folder = Path(prefix) if os.path.isabs(prefix) else location.base / prefix
        if "{" in location.spec and not folder.is_dir():
            folder = folder.parent
        contents = _folder_digest(caches, folder.resolve())
        if contents is None:
            return None
        locations.append([location.spec, str(location.base), location.fallback, contents])
    return {"tool": tool, "installed": _installed(), "root": str(config.root),
            "targets": [target.name for target in targets], "also_report": sorted(also_report),
            "policies": policies, "kubernetes": store.core.version, "offline": store.lookup.offline,
            "release": store.lookup.default_release, "builtin": store.lookup.builtin is not None,
            "locations": locations}


def _finding_record(finding: Finding) -> dict[str, Any]:
    ref = finding.object
    return {"rule": finding.rule, "severity": finding.severity.value, "message": finding.message,
            "file": finding.file, "line": finding.line,
            "object": None if ref is None else [ref.kind, ref.name, ref.namespace, ref.api_version],
            "environment": finding.environment, "path": finding.path, "fix": finding.fix, "waived": finding.waived,
            "also_in": list(finding.also_in)}


def _finding(record: dict[str, Any]) -> Finding:
    return Finding(rule=str(record["rule"]), severity=Severity(record["severity"]), message=str(record["message"]),
                   file=record["file"], line=record["line"],
                   object=None if record["object"] is None else ObjectRef(*record["object"]),
                   environment=record["environment"], path=record["path"], fix=record["fix"],
                   waived=record["waived"], also_in=tuple(str(name) for name in record["also_in"]))


def _encode(run: ValidationRun) -> bytes:
    coverage = {"by_environment": [[name, checked, total]
                                   for name, (checked, total) in run.coverage.by_environment.items()],
                "unchecked_kinds": list(run.coverage.unchecked_kinds)}
    return json.dumps({"findings": [_finding_record(f) for f in run.findings], "coverage": coverage,
                       "objects_checked": run.objects_checked, "warnings": run.warnings},
                      ensure_ascii=True).encode("ascii")


def _decode(payload: bytes, config: Config, targets: list[Target]) -> ValidationRun | None:
    try:
        data = json.loads(payload)
        coverage = SchemaCoverage({str(name): (int(checked), int(total))
                                   for name, checked, total in data["coverage"]["by_environment"]},
                                  tuple(str(kind) for kind in data["coverage"]["unchecked_kinds"]))
        return ValidationRun(config=config, targets=targets, findings=[_finding(f) for f in data["findings"]],
                             coverage=coverage, objects_checked=int(data["objects_checked"]),
                             warnings=[str(warning) for warning in data["warnings"]], from_cache=True)
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def validate_cached(config: Config, targets: list[Target], engine: Engine, store: SchemaStore,
                    policies: PolicyHook | None, caches: Caches, discovered_argo: list[Manifest] | None = None,
                    writers: dict[int, list[tuple[str, SourceDocument]]] | None = None,
                    homes: dict[str, set[str]] | None = None, also_report: frozenset[str] = frozenset(),
                    runner: Callable[..., ValidationRun] = run_validation) -> ValidationRun:
    """`run_validation` (or `runner`) through the render and run caches (`--no-cache` calls it directly).

    Discovered targets (no mlops.yaml targets) use the render cache only: discovery reads what
    git tracks and renders Argo CD's own roots, inputs the run cache's key does not cover.
    """
    tool = _folder_digest(caches, PACKAGE) or "unknown"
    memo = caches.load_memo(config.root)
    files = RepoFiles(config.root, memo, tool)
    with RenderCache(caches.root, engine) as renders:
        options = None
        listed = None
        inside = caches.root.resolve().is_relative_to(config.root.resolve())  # then every run changes the repository
        if discovered_argo is None and not inside:
            options = _options(config, targets, store, policies is not None, also_report, caches, tool)
            if options is not None:
                options["git_files"], listed = _git_files(config.root)
        # From git's view of the repository, which the file digest does not see. Only a lookup needs
        # them before the renders; without a memo there is none (every file would be read first),
        # and the run finds them itself once a core is free.
        links = None
        if options is not None and memo is not None:
            links = symlink_findings(config.root, listed)
            options["symlinks"] = [_finding_record(finding) for finding in links]
            repository = files.digest()
            if repository is not None:
                payload = caches.runs.read(digest("run", FORMAT, options, renders.identity(), repository))
                cached = None if payload is None else _decode(payload, config, targets)
                if cached is not None:
                    if files.reads:
                        caches.save_memo(config.root, files.memo())
                    return cached
        run = runner(config, targets, engine, store, policies, discovered_argo, writers, homes, files=files,
                     renders=renders, also_report=also_report, read_everything=options is not None, symlinks=links)
        if files.unchanged():
            for key, payload in run.fresh_renders:
                renders.put(key, payload)
            keep = options is not None and run.inputs_known and not run.timed_out
            repository = files.digest() if keep else None
            if repository is not None and options is not None and options["git_files"] == _git_files(config.root)[0]:
                options["symlinks"] = [_finding_record(finding) for finding in run.symlinks]
                caches.runs.write(digest("run", FORMAT, options, renders.identity(), repository), _encode(run))
            caches.save_memo(config.root, files.memo())
    prune(caches.root)
    return run
