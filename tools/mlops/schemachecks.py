"""Schema checks of one target's rendered objects, and the run's coverage and missing kinds.

A target is checked as soon as it is rendered (`validate`), while the others still render; the
coverage and the one warning per kind without a schema are put together at the end, in target
order, so that they never depend on which render finished first.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config
from .findings import Finding, SchemaCoverage, Severity
from .manifests import Manifest, SourceIndex
from .schemas.releases import explain_unknown_field
from .schemas.store import CompiledSchema, SchemaError, SchemaStore

#: Objects an operator creates and the repository only patches: the live object has what the
#: schema requires (odh-dashboard creates `odh-dashboard-config`, which GitOps repositories co-own;
#: rhoai-facts.md, OdhDashboardConfig).
CO_OWNED = frozenset({("OdhDashboardConfig", "opendatahub.io")})


@dataclass
class Checked:
    """Schema results of one target: objects checked, violations, objects whose kind has no schema."""

    checked: int
    findings: list[Finding]
    missing: list[Manifest]


def check_target(config: Config, name: str, manifests: list[Manifest], store: SchemaStore, sources: SourceIndex,
                 compiled: dict[tuple[str, str, str], CompiledSchema | None]) -> Checked:
    """Check one target's objects; `compiled` keeps each kind's compiled schema for the run."""
    release = config.release_of(name)
    unknown_release = _release_unknown(config, name)
    result = Checked(0, [], [])
    for manifest in manifests:
        if unknown_release and _is_platform_kind(store, manifest):
            result.missing.append(manifest)
            continue
        key = (manifest.api_version, manifest.kind, release)
        if key not in compiled:  # the store's own lookup first asks the catalog whether the kind is per release
            compiled[key] = store.get(*key)
        schema = compiled[key]
        if schema is None:
            result.missing.append(manifest)
            continue
        result.checked += 1
        partial = _server_side_applied(manifest)
        for error in store.errors(schema, manifest.data):
            if partial and error.message.startswith("missing required field"):
                continue  # a server-side apply patch: the live object has the field
            result.findings.append(_schema_error(manifest, error, schema.source, release, store, sources))
    return result


def summary(config: Config, results: dict[str, Checked], store: SchemaStore,
            sources: SourceIndex) -> tuple[list[Finding], SchemaCoverage]:
    """Every target's violations, one finding per kind without a schema, and the coverage, in target order."""
    findings: list[Finding] = []
    missing: dict[tuple[str, str], list[Manifest]] = {}
    coverage: dict[str, tuple[int, int]] = {}
    for name, result in results.items():
        findings += result.findings
        for manifest in result.missing:
            missing.setdefault((manifest.api_version, manifest.kind), []).append(manifest)
        coverage[name] = (result.checked, result.checked + len(result.missing))
    builtin = store.lookup.builtin
    for (api_version, kind), manifests in sorted(missing.items()):
        first = manifests[0]
        release = config.release_of(first.environment)
        known = builtin is not None and builtin.is_release_specific(api_version.rpartition("/")[0], kind)
        severity = Severity.WARNING
        if known and _release_unknown(config, first.environment):
            severity = Severity.INFO  # a base nobody syncs: nothing reaches a cluster unchecked
            why = "; nothing syncs this base and no rhoaiVersion or Subscription says which OpenShift AI release " \
                  "it is for (set rhoaiVersion in mlops.yaml)"
        elif known and builtin is not None and release not in builtin.releases:
            why = f"; the built-in catalog has {kind} for OpenShift AI {', '.join(builtin.releases)}, not {release}"
        else:
            why = ""
        findings.append(Finding(
            "schema-missing", severity,
            f"no schema for {kind} {api_version} ({len(manifests)} object(s)){why}; it was not checked",
            file=first.file, line=sources.line(first), object=first.ref, environment=first.environment,
            fix="import the CRD with `mlops schemas import crd.yaml --out schemas` and list the folder under "
                "schemaLocations in mlops.yaml (`mlops schemas list` shows the built-in kinds)",
        ))
    return findings, SchemaCoverage(coverage, tuple(f"{kind} {api_version}" for api_version, kind in sorted(missing)))


def _release_unknown(config: Config, target_name: str | None) -> bool:
    """A base nothing syncs, with no rhoaiVersion and no Subscription: which release it is for is a guess."""
    target = next((t for t in config.all_targets if t.name == target_name), None)
    return target is not None and not target.synced and not config.rhoai_version_explicit \
        and target.rhoai_version is None


def _is_platform_kind(store: SchemaStore, manifest: Manifest) -> bool:
    builtin = store.lookup.builtin
    return builtin is not None and builtin.is_release_specific(manifest.api_version.rpartition("/")[0], manifest.kind)


def _server_side_applied(manifest: Manifest) -> bool:
    """Argo CD sends this object as a server-side apply patch: it may set only some fields of a live object.

    The API server validates the merge of the patch with the live object, so a field the schema
    requires may come from the object the operator created (OdhDashboardConfig, say).
    """
    if (manifest.kind, manifest.api_version.rpartition("/")[0]) in CO_OWNED:
        return True
    options = manifest.annotations.get("argocd.argoproj.io/sync-options")
    return isinstance(options, str) and "ServerSideApply=true" in options.replace(" ", "")


def _schema_error(manifest: Manifest, error: SchemaError, source: str, release: str, store: SchemaStore,
                  sources: SourceIndex) -> Finding:
    """One schema violation; a field of another OpenShift AI release says which release has it."""
    message, fix = error.message, f"compare with the {manifest.kind} schema ({source})"
    builtin = store.lookup.builtin
    if builtin is not None and error.message.startswith("unknown field"):
        mismatch = explain_unknown_field(builtin, manifest.api_version, manifest.kind, error.path, release)
        if mismatch is not None:
            message, fix = mismatch.message, mismatch.fix
    return Finding("schema", Severity.ERROR, message, file=manifest.file, line=sources.line(manifest, error.path),
                   object=manifest.ref, environment=manifest.environment, path=error.path, fix=fix)
