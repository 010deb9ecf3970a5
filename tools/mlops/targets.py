"""What to validate: the targets mlops.yaml lists, or the roots the repository's Argo CD objects sync.

A repository nobody wrote an mlops.yaml for is still a GitOps repository: its Applications and
ApplicationSets say which folders Argo CD renders. Without targets in mlops.yaml, `discover`
reads every YAML file Git tracks, expands the ApplicationSets the way the controller does
(`policies/facts/argocd.py`), and turns each synced folder of this repository into one target,
once however many Applications sync it, with the Applications (and generator elements) that
explain it. Kustomize roots that no Application syncs, and that no synced root includes, become
*bases*: rendered and checked for syntax and schemas, never for sync-level rules, because Argo CD
never applies them as they are. Sources that are not rendered here (Helm charts, other
repositories, folders that do not exist) are listed with the reason.

The kustomize build options of the Argo CD instance declared in the repository (`ArgoCD`
`spec.kustomizeBuildOptions`, or `kustomize.buildOptions` in the `argocd-cm` ConfigMap) are the
options every discovered root is rendered with, as Argo CD's repo server would.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from .config import CONFIG_FILE, Config, Target
from .config import load as load_mlops_yaml
from .errors import MlopsError, UsageError
from .findings import Finding, Severity
from .kustomization import KUSTOMIZATION_NAMES, KustomizeTree, find_kustomization, walk
from .kustomize import Engine, find_engine, render
from .manifests import Manifest, parse_rendered
from .policies.facts.argocd import App, ArgoCDFacts
from .policies.facts.argocd_params import clean_path
from .schemas.builtin import builtin_catalog
from .yamlsource import SourceDocument, load_file

ARGO_GROUP = "argoproj.io"
_NAME = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Reason:
    """Why a folder is a target: which Application syncs it, written where."""

    application: str
    file: str | None
    path: str  # JSON path inside that file's object (the source path, or the generator element)
    line: int | None = None

    def __str__(self) -> str:
        if not self.file:
            return self.application
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.application} at {where} ({self.path})"


@dataclass(frozen=True)
class Skipped:
    """A source Argo CD would sync that is not validated here, and why."""

    reason: Reason
    why: str


@dataclass
class Discovery:
    """The outcome of reading the repository's Argo CD objects."""

    targets: list[Target] = field(default_factory=list)
    #: the Argo CD objects as Argo CD sees them (rendered where a kustomize root includes them)
    argo_objects: list[Manifest] = field(default_factory=list)
    #: for each of them, the files that write it (resource, then patches): where a value is written
    writers: dict[int, list[tuple[str, SourceDocument]]] = field(default_factory=dict)
    #: target name -> the roots whose Argo CD objects sync it (one per cluster's Argo CD)
    homes: dict[str, set[str]] = field(default_factory=dict)
    reasons: dict[str, list[Reason]] = field(default_factory=dict)  # target name -> why
    skipped: list[Skipped] = field(default_factory=list)
    build_options: tuple[str, ...] = ()
    build_options_source: str | None = None


def load(root: Path, engine: Engine | None = None) -> tuple[Config, Discovery | None]:
    """mlops.yaml when it lists environments or targets; otherwise discovery (with mlops.yaml's other settings)."""
    if (root / CONFIG_FILE).is_file():
        config = load_mlops_yaml(root, require_environments=False)
        if config.all_targets:
            return config, None
    else:
        config = Config(root=root, kubernetes_version="1.33", environments=(), targets=(), schema_locations=(),
                        rules={}, rhoai_version=builtin_catalog().newest_release)
    discovery = discover(root, engine)
    if not discovery.targets:
        raise UsageError(f"nothing to validate in {root.name or root}: no {CONFIG_FILE} with environments or "
                         "targets, no Argo CD Application or ApplicationSet that syncs a folder of it, and no "
                         "kustomization.yaml; run inside a GitOps repository or pass its folder")
    return replace(config, targets=tuple(discovery.targets)), discovery


def _argo_objects(facts: ArgoCDFacts) -> Iterator[tuple[Manifest, SourceDocument]]:
    """Every object written in a YAML file Git tracks that may say what Argo CD syncs, with its document."""
    for name in facts.repo_files:
        if not name.endswith((".yaml", ".yml")):
            continue
        try:
            text = (facts.root / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if "argoproj.io" not in text and "argocd-cm" not in text:
            continue  # most files: no Argo CD object, no need to parse them with line marks
        try:
            documents = load_file(facts.root / name, name)
        except MlopsError:
            continue  # the validation of the roots reports broken files; discovery reads what it can
        for document in documents:
            if isinstance(document.data, dict) and isinstance(document.data.get("kind"), str):
                yield Manifest(document.data, "", file=name), document  # "": no root renders it (yet)


def _build_options(objects: list[Manifest]) -> tuple[tuple[str, ...], str | None]:
    for manifest in objects:
        if manifest.kind == "ArgoCD" and manifest.api_version.startswith(f"{ARGO_GROUP}/"):
            options = (manifest.data.get("spec") or {}).get("kustomizeBuildOptions")
            if isinstance(options, str) and options.strip():
                return tuple(shlex.split(options)), manifest.file
    for manifest in objects:
        if manifest.kind == "ConfigMap" and manifest.name == "argocd-cm":
            options = (manifest.data.get("data") or {}).get("kustomize.buildOptions")
            if isinstance(options, str) and options.strip():
                return tuple(shlex.split(options)), manifest.file
    return (), None


def _target_name(app: App, taken: set[str]) -> str:
    base = _NAME.sub("-", app.name.lower()).strip("-")[:50] or "app"
    name, counter = base, 2
    while name in taken:
        name, counter = f"{base}-{counter}", counter + 1
    taken.add(name)
    return name


def _kustomize_roots(root: Path, repo_files: list[str]) -> dict[Path, KustomizeTree]:
    """Every kustomization folder that is no Component, with what it reads."""
    trees: dict[Path, KustomizeTree] = {}
    cache: dict[Path, SourceDocument] = {}
    for name in repo_files:
        file = Path(name)
        if file.name in KUSTOMIZATION_NAMES and not _is_component(root / file):
            try:
                trees[(root / file.parent).resolve()] = walk(root / file.parent, root, cache)
            except MlopsError:  # reported when the root is validated
                continue
    return trees


@dataclass(frozen=True)
class Written:
    """A file's document that writes (part of) an Argo CD object: its resource, or a patch of it."""

    file: str
    document: SourceDocument


def _rendered_argo(root: Path, trees: dict[Path, KustomizeTree], raw: list[tuple[Manifest, SourceDocument]],
                   engine: Engine | None, options: tuple[str, ...]) -> list[tuple[Manifest, list[Written]]]:
    """The Argo CD objects as the kustomize roots that include them render them (patches, replacements).

    A root that includes a file with Application or ApplicationSet objects, and that no other such
    root includes, is rendered; its Argo CD objects replace the files' own. Raw objects of files no
    root includes (applied with `oc apply -f`) stay as written. Each object keeps the documents of
    that root's files that write it (the resource and its patches), to report a value where it is
    written.
    """
    argo_files = {(root / manifest.file).resolve() for manifest, _ in raw if manifest.file and _is_argo(manifest)}
    holders = {folder: tree for folder, tree in trees.items() if {f.resolve() for f in tree.files} & argo_files}
    included = {k.parent.resolve() for folder, tree in holders.items() for k in tree.kustomizations
                if k.parent.resolve() != folder}
    tops = [folder for folder in holders if folder not in included]
    plain = [(m, [Written(m.file or "", d)]) for m, d in raw]
    if not tops:
        return plain
    engine = engine or find_engine()
    covered: set[Path] = set()
    result: list[tuple[Manifest, list[Written]]] = []
    for folder, rendered in zip(tops, [render(engine, top, options) for top in tops], strict=True):
        if rendered.error is not None:
            continue  # the raw objects stay; the root's own validation reports the failure
        files = {f.resolve() for f in holders[folder].files}
        covered |= files
        home = folder.relative_to(root.resolve()).as_posix()  # the root a cluster's Argo CD is given
        writers: dict[tuple[str, str], list[Written]] = {}
        for m, d in raw:
            if _is_argo(m) and m.file and (root / m.file).resolve() in files:
                writers.setdefault((m.kind, m.name), []).append(Written(m.file, d))
        for manifest in parse_rendered(rendered, home, str(folder))[0]:
            found = writers.get((manifest.kind, manifest.name))
            if _is_argo(manifest) and found:
                result.append((Manifest(manifest.data, home, file=found[0].file), found))
    result += [(m, w) for m, w in plain if not m.file or (root / m.file).resolve() not in covered or not _is_argo(m)]
    return result


def _where_written(writers: list[Written], path: str) -> tuple[str | None, int | None]:
    """The file and line that write `path`: the last writer (patches come after the resource) that has it."""
    for written in reversed(writers):
        if _has_path(written.document.data, path):
            return written.file, written.document.line_of(path)
    first = writers[0] if writers else None
    return (first.file, first.document.line_of(path)) if first else (None, None)


def _has_path(data: object, path: str) -> bool:
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        if index:
            if not isinstance(data, list) or int(index) >= len(data):
                return False
            data = data[int(index)]
        else:
            if not isinstance(data, dict) or name not in data:
                return False
            data = data[name]
    return True


def _is_argo(manifest: Manifest) -> bool:
    return manifest.kind in ("Application", "ApplicationSet", "AppProject") and \
        manifest.api_version.startswith(f"{ARGO_GROUP}/")


def discover(root: Path, engine: Engine | None = None) -> Discovery:
    """Targets from the repository's Applications and ApplicationSets; bases from the other kustomize roots."""
    probe = ArgoCDFacts(root, [], [])
    trees = _kustomize_roots(root, probe.repo_files)
    raw = list(_argo_objects(probe))
    options = _build_options([manifest for manifest, _ in raw])
    found = _rendered_argo(root, trees, raw, engine, options[0])
    objects = [manifest for manifest, _ in found]
    writers = {id(manifest): written for manifest, written in found}
    argo = [m for m in objects if m.api_version.startswith(f"{ARGO_GROUP}/")]
    facts = ArgoCDFacts(root, [m for m in argo if m.kind == "Application"],
                        [m for m in argo if m.kind == "ApplicationSet"], [m for m in argo if m.kind == "AppProject"],
                        repo_files=probe.repo_files, per_home=True)
    discovery = Discovery(argo_objects=argo, writers={key: [(w.file, w.document) for w in value]
                                                      for key, value in writers.items()})
    discovery.build_options, discovery.build_options_source = _build_options(objects)
    by_path: dict[str, str] = {}
    taken: set[str] = set()
    for app in facts.applications:
        for at, source in app.sources():
            path = source.get("path")
            at_path = app.where(at, "path") if isinstance(path, str) else at
            file, line = _where_written(writers.get(id(app.manifest), []), at_path)
            reason = Reason(app.label, file, at_path, line)
            why = _not_rendered(root, facts, source, path)
            if why is not None:
                if Skipped(reason, why) not in discovery.skipped:  # one per cause, however many clusters
                    discovery.skipped.append(Skipped(reason, why))
                continue
            assert isinstance(path, str)
            cleaned = clean_path(path)
            if cleaned not in by_path:
                name = _target_name(app, taken)
                by_path[cleaned] = name
                # no destination: the Applications that sync it say where (maybe several clusters)
                discovery.targets.append(Target(name=name, path=cleaned or ".",
                                                namespace=app.destination.get("namespace")))
            discovery.homes.setdefault(by_path[cleaned], set()).add(app.manifest.environment)
            reasons = discovery.reasons.setdefault(by_path[cleaned], [])
            if reason not in reasons:  # the same Application in several clusters' Argo CD: one reason
                reasons.append(reason)
    discovery.targets += _bases(root, trees, [t.path for t in discovery.targets], taken, discovery)
    discovery.targets = [replace(t, build_options=discovery.build_options) for t in discovery.targets]
    # A finding about an Argo CD object belongs to the target that renders it (or to the repository).
    by_path = {t.path: t.name for t in discovery.targets}
    for manifest in argo:
        manifest.environment = by_path.get(manifest.environment, "")
    return discovery


def _not_rendered(root: Path, facts: ArgoCDFacts, source: dict[str, object], path: object) -> str | None:
    """Why a source is not validated as a kustomize root here, or None when it is."""
    if source.get("chart"):
        return f"Helm chart {source.get('chart')} from {source.get('repoURL')}: Helm sources are not rendered"
    if not isinstance(path, str) or "{{" in path:
        return "its path is not known (a template parameter no generator of the repository sets)"
    if not facts.is_own_repo(source.get("repoURL")):
        return f"it syncs another repository ({source.get('repoURL')})"
    folder = root / clean_path(path)
    if not folder.is_dir():
        return f"path {path!r} does not exist in the repository (reported by argocd-source-path)"
    if (folder / "Chart.yaml").is_file():
        return f"{path} is a Helm chart: Helm sources are not rendered"
    if find_kustomization(folder) is None:
        return f"{path} has no kustomization.yaml: plain-directory sources are not rendered"
    return None


def _bases(root: Path, trees: dict[Path, KustomizeTree], synced: list[str], taken: set[str],
           discovery: Discovery) -> list[Target]:
    """Kustomize roots nothing syncs and no other root includes: checked for syntax and schemas only."""
    included: set[Path] = set()
    synced_folders = {(root / path).resolve() for path in synced}
    for folder, tree in trees.items():
        parts = {kustomization.parent.resolve() for kustomization in tree.kustomizations}
        included |= parts if folder in synced_folders else parts - {folder}
    found: list[Target] = []
    for folder in sorted(trees):
        if folder in included:
            continue
        relative = folder.relative_to(root.resolve()).as_posix()
        base_name = _NAME.sub("-", f"base-{relative}".lower()).strip("-")[:60]
        while base_name in taken:
            base_name += "-x"
        taken.add(base_name)
        found.append(Target(name=base_name, path=relative, synced=False))
        discovery.reasons[base_name] = [Reason("no Application syncs it: checked as a base (syntax, schemas)",
                                               None, "")]
    return found


def _is_component(kustomization: Path) -> bool:
    try:
        data = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and data.get("kind") == "Component"


def find_root(start: Path) -> Path:
    """The folder with mlops.yaml at or above `start`; else the Git checkout's top; else `start`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


@dataclass(frozen=True)
class TargetsReport:
    """What `mlops targets` prints: each target with its path and why it is one."""

    source: str
    rows: list[tuple[Target, list[str]]]
    skipped: list[Skipped]
    build_options: tuple[str, ...]
    build_options_source: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "buildOptions": list(self.build_options), "buildOptionsFrom": self.build_options_source,
            "targets": [{"name": t.name, "path": t.path, "synced": t.synced, "environment": t.is_environment,
                         "namespace": t.namespace, "reasons": reasons} for t, reasons in self.rows],
            "notRendered": [{"application": s.reason.application, "file": s.reason.file, "path": s.reason.path,
                             "why": s.why} for s in self.skipped],
        }

    def as_text(self) -> str:
        lines = [f"targets from {self.source}"]
        if self.build_options:
            lines.append(f"kustomize build options: {' '.join(self.build_options)} (from {self.build_options_source})")
        width = max((len(t.name) for t, _ in self.rows), default=0)
        for target, reasons in self.rows:
            kind = "environment" if target.is_environment else ("target" if target.synced else "base")
            lines.append(f"{target.name:<{width}}  {kind:<11}  {target.path}")
            lines += [f"{'':<{width}}    {reason}" for reason in reasons]
        for skipped in self.skipped:
            lines.append(f"not rendered: {skipped.reason}: {skipped.why}")
        return "\n".join(lines) + "\n"


def describe(config: Config, discovery: Discovery | None) -> TargetsReport:
    if discovery is None:
        rows = [(t, [f"listed in {CONFIG_FILE}"]) for t in config.all_targets]
        return TargetsReport(CONFIG_FILE, rows, [], (), None)
    rows = [(t, [str(r) for r in discovery.reasons.get(t.name, [])]) for t in config.all_targets]
    return TargetsReport("the repository's Argo CD Applications and ApplicationSets (no targets in mlops.yaml)",
                         rows, discovery.skipped, discovery.build_options, discovery.build_options_source)


def not_rendered_findings(discovery: Discovery) -> list[Finding]:
    """One info finding per source Argo CD syncs that is not rendered here, so every report counts them."""
    return [Finding("not-rendered", Severity.INFO, f"{skipped.reason.application}: not rendered: {skipped.why}",
                    file=skipped.reason.file, line=skipped.reason.line, path=skipped.reason.path or None,
                    fix="validate the chart or repository where it lives")
            for skipped in discovery.skipped if "reported by argocd-source-path" not in skipped.why]
