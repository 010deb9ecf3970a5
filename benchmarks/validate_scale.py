"""How much does `mlops validate` add to rendering, at scale? A benchmark, not a test.

Builds, in a temporary folder, a copy of the template with N models (copies of
`models/fraud-detection`) served in every environment, then measures in one run:

  (a) `kubectl kustomize` of every root `mlops validate` renders, one after another (the floor:
      nothing can validate what it has not rendered);
  (b) `mlops validate` of everything, as a user runs it (a new process, policies included);
  (c) `kubernetes-validate` (the PyPI validator) over the same rendered built-in objects, in process.

It prints objects, seconds, the ratios b/a and c/b, and the in-process schema validation rate
(objects per second, all objects, schemas already compiled).

    python benchmarks/validate_scale.py [--models 100] [--schemas ../shared/schemas]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_ITEMS = ("apps", "base", "components", "models", "overlays", "platform", "bootstrap", "mlops.yaml")
EXAMPLE = "fraud-detection"


def build_copy(destination: Path, models: int) -> None:
    """The template plus `models` renamed copies of the example model in every environment."""
    for item in TEMPLATE_ITEMS:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, destination / item)
        elif source.is_file():
            shutil.copy2(source, destination / item)
    example = destination / "models" / EXAMPLE
    overlays = sorted(p for p in (destination / "overlays").iterdir() if p.is_dir())
    for index in range(models):
        name = f"{EXAMPLE}-{index:03d}"
        target = destination / "models" / name
        shutil.copytree(example, target)
        for model_file in target.rglob("*.yaml"):
            model_file.write_text(model_file.read_text().replace(EXAMPLE, name))
        for overlay in overlays:
            kustomization_path = overlay / "kustomization.yaml"
            kustomization = yaml.safe_load(kustomization_path.read_text())
            kustomization["resources"].append(f"../../models/{name}")
            for entry in list(kustomization.get("patches", [])):
                patch = Path(entry.get("path", "") if isinstance(entry, dict) else "")
                if patch.stem == EXAMPLE:
                    copy = patch.with_name(f"{name}.yaml")
                    (overlay / copy).write_text((overlay / patch).read_text().replace(EXAMPLE, name))
                    kustomization["patches"].append({"path": str(copy)})
            kustomization_path.write_text(yaml.safe_dump(kustomization, sort_keys=False))


T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=100, help="copies of the example model (default 100)")
    default_schemas = os.environ.get("MLOPS_SCHEMA_LOCATION", str(ROOT.parent / "shared" / "schemas"))
    parser.add_argument("--schemas", default=default_schemas,
                        help="schema location for custom resources (default: MLOPS_SCHEMA_LOCATION, ../shared/schemas)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "tools"))
    import kubernetes_validate

    from mlops import config as config_module
    from mlops.kustomize import find_engine, render
    from mlops.manifests import Manifest
    from mlops.schemas.core import CoreSchemas, is_core_group
    from mlops.schemas.locations import Lookup, build_locations
    from mlops.schemas.store import SchemaStore
    from mlops.yamlsource import FastLoader

    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as scratch:
        repo = Path(scratch) / "repo"
        repo.mkdir()
        build_copy(repo, args.models)
        cfg = config_module.load(repo)
        engine = find_engine()
        folders = [repo / target.path for target in cfg.all_targets]

        # (a) kustomize alone, one root after another
        seconds_a, results = timed(lambda: [render(engine, folder) for folder in folders])
        outputs = [r.output for r in results]
        objects = [o for text in outputs for o in yaml.load_all(text, Loader=FastLoader) if isinstance(o, dict)]

        # (b) mlops validate, as a user runs it
        mlops = Path(sys.executable).parent / "mlops"
        environment = {**os.environ, "MLOPS_SCHEMA_LOCATION": args.schemas, "MLOPS_OFFLINE": "1"}
        seconds_b, completed = timed(lambda: subprocess.run(
            [str(mlops), "validate", "--repo", str(repo), "--output", "json"],
            capture_output=True, text=True, env=environment, check=False))
        status = completed.returncode
        if status != 0:
            print(completed.stdout[-2000:], completed.stderr[-2000:])
            print(f"mlops validate exited {status}: the copy of the template is not valid", file=sys.stderr)
            return 1

        # (c) kubernetes-validate over the same built-in objects
        core = [o for o in objects if is_core_group(str(o.get("apiVersion", "")).rpartition("/")[0])]
        version = cfg.kubernetes_version

        def with_kubernetes_validate() -> int:
            checked = 0
            for document in core:
                try:
                    kubernetes_validate.validate(document, version, strict=True)
                    checked += 1
                except kubernetes_validate.SchemaNotFoundError:
                    pass
            return checked

        seconds_c, core_checked = timed(with_kubernetes_validate)

        # in-process schema validation rate, schemas compiled
        store = SchemaStore(CoreSchemas(version),
                            Lookup(build_locations([args.schemas], None, [], repo, Path.cwd(), include_default=False),
                                   offline=True))
        manifests = [Manifest(o, "bench") for o in objects]

        def validate_all() -> int:
            errors = 0
            for manifest in manifests:
                compiled = store.get(manifest.api_version, manifest.kind)
                if compiled is not None:
                    errors += len(store.errors(compiled, manifest.data))
            return errors

        validate_all()  # compile every schema once
        rounds = 5
        seconds_rate, _ = timed(lambda: [validate_all() for _ in range(rounds)])
        rate = rounds * len(manifests) / seconds_rate

        # the same built-in objects, per object: mlops's compiled schemas against kubernetes-validate
        core_manifests = [Manifest(o, "bench") for o in core]
        core_rounds = 200

        def validate_core() -> int:
            for _ in range(core_rounds):
                for manifest in core_manifests:
                    compiled = store.get(manifest.api_version, manifest.kind)
                    if compiled is not None:
                        store.errors(compiled, manifest.data)
            return core_rounds * len(core_manifests)

        seconds_core, _ = timed(validate_core)
        core_rate = core_rounds * len(core_manifests) / seconds_core if core_manifests else 0.0
        kv_rate = core_checked / seconds_c if seconds_c else 0.0

    print(f"models: {args.models}, roots rendered: {len(folders)}, objects: {len(objects)} "
          f"({len(core)} built-in, {core_checked} checked by kubernetes-validate)")
    print(f"(a) kustomize, one root after another: {seconds_a:8.2f} s")
    print(f"(b) mlops validate (all roots):        {seconds_b:8.2f} s")
    print(f"(c) kubernetes-validate, built-ins:    {seconds_c:8.2f} s")
    print(f"b/a = {seconds_b / seconds_a:.2f}   (target <= 1.3)")
    print(f"c/b = {seconds_c / seconds_b:.2f}   (how many times slower kubernetes-validate is on a subset)")
    print(f"schema validation in process: {rate:,.0f} objects/s   (target >= 20,000)")
    if kv_rate:
        print(f"built-in objects per second: mlops {core_rate:,.0f}, kubernetes-validate {kv_rate:,.0f} "
              f"({core_rate / kv_rate:,.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
