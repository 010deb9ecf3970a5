#!/usr/bin/env python3
"""Rebuild the built-in schema catalog (`tools/mlops/schemas/catalog/`) from the raw upstream files.

This script, and only this script, reads the shared upstream material beside the clone
(`../shared`, or `--shared DIR`): the CustomResourceDefinitions in `crds/` (one folder per
OpenShift AI minor in `crds/rhoai-releases/3.N/`) and, for kinds whose projects publish no CRD
file there, the JSON schemas in `schemas/` (datree CRDs catalog copies). Nothing else in the
repository reads it, at run time or at test time: the tool and its tests use what this script
wrote.

What it does:
1. every CRD is converted by the project's own `mlops schemas import --strip-descriptions`:
   the platform kinds (those under `crds/rhoai-releases/`) into `rhoai-3.N/`, one folder per
   release, every other kind into `common/`;
2. kinds that `crds/` lacks are taken from `schemas/GROUP/KIND_VERSION.json` with their
   descriptions stripped the same way;
3. subschemas that repeat (a pod spec per component) are written once under `$defs` and
   referenced (`mlops.schemas.shared_defs`: the same validation, compiled ten times faster);
4. each schema is written as compact JSON, gzip'd with a fixed timestamp (same input, same bytes);
5. `provenance.json` records, per file, the upstream repository, commit, path and license (from
   the provenance tables of the shared READMEs) and the sha256 of the upstream file it came from.

`--check` rebuilds into a temporary folder and exits 1 when the committed catalog differs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import shared_args

REPO = shared_args.REPO
CATALOG = REPO / "tools" / "mlops" / "schemas" / "catalog"
RELEASES = "rhoai-releases"
# The CRD of the last DSPA release that served v1alpha1 also carries an older v1: import it first,
# so that the current CRD's v1 wins (the shared crds/README.md says so).
IMPORT_FIRST = ("datasciencepipelinesapplication-v2.15.1.yaml",)
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")


def provenance_table(readme: Path, *, source_column: int, license_column: int) -> dict[str, tuple[str, str]]:
    """`file -> (owner/repo@commit:path, license)` from a shared README's Markdown table rows."""
    table: dict[str, tuple[str, str]] = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if not match:
            continue
        cells = [cell.strip() for cell in match.group(2).split("|")]
        if len(cells) <= max(source_column, license_column) or "@" not in cells[source_column]:
            continue
        table.setdefault(match.group(1), (cells[source_column], cells[license_column]))
    return table


def split_source(source: str) -> dict[str, str]:
    repository, _, rest = source.partition("@")
    commit, _, path = rest.partition(":")
    return {"repository": repository, "commit": commit, "path": path}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_import(files: list[Path], out: Path) -> None:
    """`mlops schemas import --strip-descriptions` of this interpreter's installation."""
    command = [sys.executable, "-m", "mlops", "schemas", "import", "--strip-descriptions", "--out", str(out),
               *map(str, files)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def imported_from(files: list[Path], out: Path) -> dict[str, Path]:
    """Import each file on its own, so every written schema is traced to its CRD (later files win)."""
    origins: dict[str, Path] = {}
    for crd in files:
        staging = out.parent / f".staging-{crd.stem}"
        run_import([crd], staging)
        for written in sorted(staging.rglob("*.json")):
            relative = written.relative_to(staging).as_posix()
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(written), target)
            origins[relative] = crd
        shutil.rmtree(staging)
    return origins


def ordered_crds(folder: Path) -> list[Path]:
    files = sorted(folder.rglob("*.yaml"))
    return sorted(files, key=lambda path: (path.name not in IMPORT_FIRST, path.as_posix()))


def write_gzip(schema: dict[str, object], target: Path) -> None:
    """Compact JSON with repeated subschemas shared under `$defs` (ten times faster to compile), gzip'd."""
    from mlops.schemas.shared_defs import share_repeated

    target.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(share_repeated(schema), separators=(",", ":")) + "\n").encode("ascii")
    target.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


def build(shared: Path, out: Path) -> None:
    sys.path.insert(0, str(REPO / "tools"))
    from mlops.schemas.crd_import import strip_descriptions

    crd_sources = provenance_table(shared / "crds" / "README.md", source_column=4, license_column=5)
    json_sources = provenance_table(shared / "schemas" / "README.md", source_column=1, license_column=2)
    records: dict[str, dict[str, str]] = {}

    def record(name: str, upstream: Path, source: tuple[str, str], how: str) -> None:
        entry = {**split_source(source[0]), "license": source[1], "how": how, "upstream_sha256": sha256(upstream)}
        if source[1].startswith("none stated"):
            entry["license"] = "none stated (the repository has no LICENSE file)"
            entry["license_note"] = ("controller-gen output of the API types of red-hat-data-services/rhods-operator "
                                     "(Apache-2.0), the operator that bundle ships")
        records[name] = entry

    with tempfile.TemporaryDirectory() as work:
        staging = Path(work)
        platform_kinds: set[tuple[str, str]] = set()
        for release_dir in sorted((shared / "crds" / RELEASES).iterdir()):
            if not release_dir.is_dir():
                continue
            folder = f"rhoai-{release_dir.name}"
            origins = imported_from(ordered_crds(release_dir), staging / folder)
            for relative, crd in origins.items():
                group, _, name = relative.partition("/")
                platform_kinds.add((group, name.rpartition("_")[0]))
                source = crd_sources[crd.relative_to(shared / "crds").as_posix()]
                converted = staging / folder / relative
                write_gzip(json.loads(converted.read_text()), out / folder / (relative + ".gz"))
                record(f"{folder}/{relative}.gz", crd, source, "mlops schemas import --strip-descriptions")

        common_crds = [path for path in ordered_crds(shared / "crds") if RELEASES not in path.parts]
        origins = imported_from(common_crds, staging / "common")
        for relative, crd in origins.items():
            group, _, name = relative.partition("/")
            if (group, name.rpartition("_")[0]) in platform_kinds:
                continue  # one copy per release instead
            source = crd_sources[crd.relative_to(shared / "crds").as_posix()]
            write_gzip(json.loads((staging / "common" / relative).read_text()), out / "common" / (relative + ".gz"))
            record(f"common/{relative}.gz", crd, source, "mlops schemas import --strip-descriptions")

        for path in sorted((shared / "schemas").rglob("*.json")):
            relative = path.relative_to(shared / "schemas").as_posix()
            group, _, name = relative.partition("/")
            if relative in origins or (group, name.rpartition("_")[0]) in platform_kinds:
                continue
            write_gzip(strip_descriptions(json.loads(path.read_text(encoding="utf-8"))),
                       out / "common" / (relative + ".gz"))
            record(f"common/{relative}.gz", path, json_sources[relative], "JSON schema, descriptions stripped")

    provenance = {
        "generated_by": "scripts/regenerate-builtin-schemas.py",
        "note": "Structure only: every description text is stripped, and a subschema that repeats is written "
                "once under $defs and referenced. Sources as recorded in the "
                "provenance tables of the upstream collection (crds/README.md, schemas/README.md).",
        "files": dict(sorted(records.items())),
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=1) + "\n", encoding="utf-8")


def differences(left: Path, right: Path) -> list[str]:
    names = {p.relative_to(left).as_posix() for p in left.rglob("*") if p.is_file()}
    names |= {p.relative_to(right).as_posix() for p in right.rglob("*") if p.is_file()}
    return sorted(name for name in names
                  if not (left / name).is_file() or not (right / name).is_file()
                  or (left / name).read_bytes() != (right / name).read_bytes())


def main() -> int:
    args = shared_args.parse(__doc__.split("\n\n")[0], "the catalog")
    if not (args.shared / "crds").is_dir():
        print(f"{args.shared}: no crds/ folder; pass --shared", file=sys.stderr)
        return 2
    if args.check:
        with tempfile.TemporaryDirectory() as fresh:
            build(args.shared, Path(fresh))
            stale = differences(Path(fresh), CATALOG)
        if stale:
            print(f"built-in catalog is stale in {len(stale)} file(s), e.g. {stale[0]}; "
                  "run scripts/regenerate-builtin-schemas.py", file=sys.stderr)
            return 1
        print("built-in catalog matches its sources")
        return 0
    if CATALOG.exists():
        shutil.rmtree(CATALOG)
    build(args.shared, CATALOG)
    count = sum(1 for _ in CATALOG.rglob("*.json.gz"))
    size = sum(p.stat().st_size for p in CATALOG.rglob("*") if p.is_file())
    print(f"wrote {count} schemas, {size / 1e6:.2f} MB, into {CATALOG.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
