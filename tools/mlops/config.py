"""Load and check `mlops.yaml`, the project settings every command starts from.

It names the environments in promotion order (each a Kustomize overlay with its namespace and
Argo CD destination), the other Kustomize roots Argo CD syncs (`targets`), the Kubernetes version
to validate against, schema locations, and per-rule policy settings. A mistake here is bad input
(exit 2) reported with the file and line, because nothing else can run without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .findings import Finding, Severity
from .schemas.builtin import builtin_catalog
from .yamlsource import SourceDocument, load_file

CONFIG_FILE = "mlops.yaml"
DEFAULT_KUBERNETES_VERSION = "1.33"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(\.\d+)?$")
_KNOWN_KEYS = {
    "kubernetesVersion", "openshiftVersion", "rhoaiVersion", "environments", "targets", "schemaLocations",
    "rules", "forge",
}
_TARGET_KEYS = {"name", "path", "namespace", "destination", "rhoaiVersion"}


@dataclass(frozen=True)
class Target:
    """A Kustomize root that `mlops validate` renders: an environment or another Argo CD source."""

    name: str
    path: str
    namespace: str | None = None
    destination: dict[str, str] = field(default_factory=dict)
    is_environment: bool = False
    #: the OpenShift AI minor this root is written for, when it differs from the repository's
    rhoai_version: str | None = None
    #: False for a root no Argo CD Application syncs (found by discovery): checked for syntax and
    #: schemas as a base, never by the rules about what Argo CD applies
    synced: bool = True
    #: kustomize build options of the Argo CD that renders it (found by discovery)
    build_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSettings:
    """What `mlops.yaml` says of one policy rule: off, or a severity per environment."""

    enabled: bool = True
    severity: Severity | None = None
    severity_by_environment: dict[str, Severity] = field(default_factory=dict)

    def severity_for(self, environment: str | None, default: Severity) -> Severity:
        if environment is not None and environment in self.severity_by_environment:
            return self.severity_by_environment[environment]
        return self.severity or default


@dataclass(frozen=True)
class Config:
    """The parsed `mlops.yaml` of one repository."""

    root: Path
    kubernetes_version: str
    environments: tuple[Target, ...]
    targets: tuple[Target, ...]
    schema_locations: tuple[str, ...]
    rules: dict[str, RuleSettings]
    openshift_version: str | None = None
    #: the OpenShift AI minor (e.g. "3.5") whose platform schemas apply; the newest built-in one when unset
    rhoai_version: str = field(default_factory=lambda: builtin_catalog().newest_release)
    #: the line of each rule id under `rules:`, to report an unknown id where it was written
    rule_lines: dict[str, int] = field(default_factory=dict)
    #: True when mlops.yaml names rhoaiVersion; otherwise each target's release may be inferred
    #: from the rhods-operator Subscription it renders (`releases.infer_releases`)
    rhoai_version_explicit: bool = False

    def check_rule_ids(self, known: frozenset[str]) -> None:
        """Refuse a rule id the registry does not have: a typo would silently configure nothing."""
        for rule_id, line in self.rule_lines.items():
            if rule_id not in known:
                close = sorted(k for k in known if k.split("-")[0] == rule_id.split("-")[0])[:3]
                hint = f"; did you mean {', '.join(close)}?" if close else "; `mlops rules` lists them"
                raise UsageError(f"rules: unknown rule id {rule_id!r}{hint}", file=CONFIG_FILE, line=line)

    def apply_rule_settings(self, finding: Finding) -> Finding | None:
        """The finding with the severity mlops.yaml sets for its rule, or None when the rule is off."""
        settings = self.rules.get(finding.rule)
        if settings is None:
            return finding
        if not settings.enabled:
            return None
        return finding.with_severity(settings.severity_for(finding.environment, finding.severity))

    @property
    def all_targets(self) -> tuple[Target, ...]:
        return self.environments + self.targets

    def release_of(self, target_name: str | None) -> str:
        """The OpenShift AI release a target is written for: its own `rhoaiVersion`, else the repository's."""
        for target in self.all_targets:
            if target.name == target_name and target.rhoai_version:
                return target.rhoai_version
        return self.rhoai_version

    @property
    def environment_names(self) -> tuple[str, ...]:
        return tuple(env.name for env in self.environments)

    def select(self, names: tuple[str, ...] | list[str]) -> list[Target]:
        """The targets named on the command line (all of them when none is named)."""
        if not names:
            return list(self.all_targets)
        by_name = {target.name: target for target in self.all_targets}
        unknown = [name for name in names if name not in by_name]
        if unknown:
            known = ", ".join(by_name)
            raise UsageError(
                f"unknown environment {unknown[0]!r}; {CONFIG_FILE} defines: {known}", file=CONFIG_FILE
            )
        return [by_name[name] for name in dict.fromkeys(names)]

    def previous_environment(self, name: str) -> Target | None:
        names = self.environment_names
        index = names.index(name)
        return self.environments[index - 1] if index > 0 else None


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` that holds `mlops.yaml`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise UsageError(f"no {CONFIG_FILE} here or in any parent folder of {start.name or start}; "
                     "run inside the repository or pass --repo")


def load(root: Path, *, require_environments: bool = True) -> Config:
    """Parse and check `mlops.yaml` in `root`.

    `require_environments=False` accepts a file without environments and targets (its other
    settings apply to the targets `targets.discover` finds).
    """
    documents = load_file(root / CONFIG_FILE, CONFIG_FILE)
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise UsageError("must hold exactly one YAML mapping", file=CONFIG_FILE, line=1)
    return _parse(root, documents[0], require_environments)


def _fail(document: SourceDocument, path: str, message: str) -> UsageError:
    return UsageError(message, file=CONFIG_FILE, line=document.line_of(path))


def _parse(root: Path, document: SourceDocument, require_environments: bool = True) -> Config:
    data: dict[str, Any] = document.data
    for key in data:
        if key not in _KNOWN_KEYS:
            raise _fail(document, str(key), f"unknown key {key!r}; known keys: {', '.join(sorted(_KNOWN_KEYS))}")
    version = str(data.get("kubernetesVersion", DEFAULT_KUBERNETES_VERSION))
    match = _VERSION.match(version)
    if not match:
        raise _fail(document, "kubernetesVersion", f"kubernetesVersion {version!r} is not like \"1.33\"")
    environments = _targets(root, document, "environments", is_environment=True)
    targets = _targets(root, document, "targets", is_environment=False)
    if not environments and not targets and require_environments:
        raise _fail(document, "environments", "define at least one environment under 'environments' (without "
                    "environments and targets, `mlops validate` finds what the repository's Argo CD syncs)")
    names = [t.name for t in environments + targets]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise _fail(document, "environments", f"name {sorted(duplicates)[0]!r} is used twice")
    locations = data.get("schemaLocations") or []
    if not isinstance(locations, list) or not all(isinstance(x, str) for x in locations):
        raise _fail(document, "schemaLocations", "schemaLocations must be a list of folders or URL templates")
    openshift = data.get("openshiftVersion")
    rhoai = _rhoai_version(document, "rhoaiVersion", data["rhoaiVersion"]) if "rhoaiVersion" in data else None
    return Config(
        root=root,
        kubernetes_version=f"{match.group(1)}.{match.group(2)}",
        environments=tuple(environments),
        targets=tuple(targets),
        schema_locations=tuple(locations),
        rules=_rules(document),
        rule_lines={str(rule_id): document.line_of(f"rules.{rule_id}") for rule_id in (data.get("rules") or {})},
        openshift_version=str(openshift) if openshift is not None else None,
        rhoai_version=rhoai or builtin_catalog().newest_release,
        rhoai_version_explicit=rhoai is not None,
    )


def _rhoai_version(document: SourceDocument, path: str, value: Any) -> str:
    """A quoted OpenShift AI minor that the built-in catalog has platform schemas for."""
    known = builtin_catalog().releases
    if not isinstance(value, str):
        raise _fail(document, path, f"rhoaiVersion must be a quoted string such as \"{known[-1]}\" "
                    "(unquoted, 3.10 would read as the number 3.1)")
    if value not in known:
        raise _fail(document, path, f"rhoaiVersion {value!r} is not an OpenShift AI release with built-in "
                    f"schemas; known: {', '.join(known)}")
    return value


def _targets(root: Path, document: SourceDocument, key: str, *, is_environment: bool) -> list[Target]:
    entries = document.data.get(key) or []
    if not isinstance(entries, list):
        raise _fail(document, key, f"'{key}' must be a list of {{name, path}} entries")
    result = []
    for index, entry in enumerate(entries):
        where = f"{key}[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise _fail(document, where, f"{where} needs a 'name'")
        name = entry["name"]
        if not _NAME.match(name):
            raise _fail(document, f"{where}.name", f"name {name!r} must be lower-case letters, digits and '-'")
        path = entry.get("path", f"overlays/{name}" if is_environment else None)
        if not isinstance(path, str):
            raise _fail(document, where, f"{where} needs a 'path' to a Kustomize folder")
        folder = (root / path).resolve()
        if not folder.is_relative_to(root.resolve()):
            raise _fail(document, f"{where}.path", f"path {path!r} is outside the repository")
        if not folder.is_dir():
            raise _fail(document, f"{where}.path", f"path {path!r} is not a folder")
        destination = entry.get("destination") or {}
        if not isinstance(destination, dict):
            raise _fail(document, f"{where}.destination", "destination must be a mapping (server or name)")
        unknown = sorted(str(key) for key in entry if key not in _TARGET_KEYS)
        if unknown:
            raise _fail(document, f"{where}.{unknown[0]}",
                        f"unknown key {unknown[0]!r} in {where}; known keys: {', '.join(sorted(_TARGET_KEYS))}")
        namespace = entry.get("namespace")
        release = entry.get("rhoaiVersion")
        if release is not None:
            release = _rhoai_version(document, f"{where}.rhoaiVersion", release)
        result.append(Target(
            name=name,
            path=Path(path).as_posix().rstrip("/"),
            namespace=str(namespace) if namespace is not None else None,
            destination={str(k): str(v) for k, v in destination.items()},
            is_environment=is_environment,
            rhoai_version=release,
        ))
    return result


def _severity(document: SourceDocument, path: str, value: Any) -> Severity:
    try:
        return Severity(str(value))
    except ValueError:
        raise _fail(document, path, f"severity {value!r} must be one of error, warning, info") from None


def _rules(document: SourceDocument) -> dict[str, RuleSettings]:
    rules = document.data.get("rules") or {}
    if not isinstance(rules, dict):
        raise _fail(document, "rules", "'rules' must map rule ids to settings")
    result = {}
    for rule_id, settings in rules.items():
        where = f"rules.{rule_id}"
        if settings is False or settings == "off":
            result[str(rule_id)] = RuleSettings(enabled=False)
            continue
        if not isinstance(settings, dict):
            raise _fail(document, where, f"{where} must be a mapping with 'enabled' and/or 'severity'")
        severity = settings.get("severity")
        by_env: dict[str, Severity] = {}
        single = None
        if isinstance(severity, dict):
            by_env = {str(env): _severity(document, f"{where}.severity.{env}", value)
                      for env, value in severity.items()}
        elif severity is not None:
            single = _severity(document, f"{where}.severity", severity)
        result[str(rule_id)] = RuleSettings(
            enabled=bool(settings.get("enabled", True)), severity=single, severity_by_environment=by_env
        )
    return result
