"""How much does `mlops validate` add to rendering, at scale? A benchmark, not a test.

Builds, in a temporary folder, a copy of the template with N models (copies of
`models/fraud-detection`) served in every environment, then measures, several times and
interleaved so that every figure meets the same load on the machine:

  floor     `kubectl kustomize` (the engine `mlops` finds) of every root `mlops validate`
            renders, as many at once as the tool runs (one per core), from this process, in
            this process's environment: what rendering alone costs a user (measured at the
            start and at the end of each round, the mean of the two);
  paced     the same renders in the environment `mlops validate` gives kustomize (`GOGC=400`
            for a root that reads at most 2 MiB, see `mlops.kustomize.engine`), once per round:
            the tool renders small roots faster than bare kustomize, so its ratio to this floor
            is what checking adds beyond rendering (not measured when no root is paced: then
            both floors are the same);
  no-cache  `mlops validate --no-cache`, as a user runs it (a new process, policies included,
            byte-compiled beforehand as an installed package is);
  cold      `mlops validate` with an empty cache folder (renders, checks, fills the caches);
  warm      `mlops validate` again, nothing changed (its output must be byte-identical to cold's);
  one       `mlops validate` after one overlay's patch changed (that overlay alone re-renders).

It prints each as a ratio to the floor of the same round, the median over the rounds, the CPU
time of each (all its processes, kustomize included) against the floor's, which the load of a
shared machine disturbs less, and (once) the in-process schema validation rate against
`kubernetes-validate`'s.

    python benchmarks/validate_scale.py [--models 100 [1000 ...]] [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_ITEMS = ("apps", "base", "components", "models", "overlays", "platform", "bootstrap", "mlops.yaml")
EXAMPLE = "fraud-detection"
MEASURES = ("no-cache", "cold", "warm", "one")


def build_copy(destination: Path, models: int) -> None:
    """The template plus `models` renamed copies of the example model in every environment."""
    for item in TEMPLATE_ITEMS:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, destination / item)
        elif source.is_file():
            shutil.copy2(source, destination / item)
    example = destination / "models" / EXAMPLE
    originals = {path: path.read_text() for path in example.rglob("*.yaml")}
    overlays = sorted(p for p in (destination / "overlays").iterdir() if p.is_dir())
    kustomizations: dict[Path, dict[str, Any]] = {
        overlay: yaml.safe_load((overlay / "kustomization.yaml").read_text()) for overlay in overlays}
    for index in range(models):
        name = f"{EXAMPLE}-{index:03d}"
        target = destination / "models" / name
        shutil.copytree(example, target)
        for path, text in originals.items():
            (target / path.relative_to(example)).write_text(text.replace(EXAMPLE, name))
        for overlay, kustomization in kustomizations.items():
            kustomization["resources"].append(f"../../models/{name}")
            for entry in list(kustomization.get("patches", [])):
                patch = Path(entry.get("path", "") if isinstance(entry, dict) else "")
                if patch.stem == EXAMPLE:
                    copy = patch.with_name(f"{name}.yaml")
                    (overlay / copy).write_text((overlay / patch).read_text().replace(EXAMPLE, name))
                    kustomization["patches"].append({"path": str(copy)})
    for overlay, kustomization in kustomizations.items():
        (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))


#: CPU seconds (user and system) of every process each measure ran, kustomize included
CPU: dict[str, list[float]] = {}


def timed(action: Callable[[], object], label: str = "") -> float:
    """Wall-clock seconds of `action`; the CPU time of the processes it ran goes to `CPU[label]`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if label:
        CPU.setdefault(label, []).append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return seconds


def floor(command: tuple[str, ...], folders: list[Path],
          environments: list[dict[str, str] | None] | None = None) -> None:
    """Bare kustomize of every root, as many at once as `mlops validate` runs (in `environments`:
    each root's, None for this process's)."""
    def one(folder: Path, environment: dict[str, str] | None) -> None:
        with tempfile.TemporaryFile() as output:
            subprocess.run([*command, str(folder)], stdout=output, stderr=subprocess.DEVNULL, check=True,
                           env=environment)

    with ThreadPoolExecutor(max_workers=max(1, min(len(folders), os.cpu_count() or 1))) as pool:
        list(pool.map(one, folders, environments or [None] * len(folders)))


def tool_environment(scratch: Path) -> dict[str, str]:
    """`mlops` from this checkout, byte-compiled once as an installed package is (in the scratch folder)."""
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("MLOPS_SCHEMA_LOCATION", "PYTHONDONTWRITEBYTECODE")}
    # no render time limit: the floor has none, and a 1,000-model root takes minutes on a busy machine
    environment.update({"MLOPS_OFFLINE": "1", "MLOPS_RENDER_TIMEOUT": "0",
                        "PYTHONPYCACHEPREFIX": str(scratch / "bytecode"),
                        "PYTHONPATH": os.pathsep.join([str(ROOT / "tools"), environment.get("PYTHONPATH", "")])})
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tools" / "mlops")], env=environment,
                   check=True)
    return environment


ENVIRONMENT: dict[str, str] = {}


def validate(repo: Path, cache: Path, *options: str) -> subprocess.CompletedProcess[bytes]:
    environment = {**ENVIRONMENT, "MLOPS_CACHE_DIR": str(cache)}
    completed = subprocess.run([sys.executable, "-m", "mlops", "validate", "--repo", str(repo), "--output", "json",
                                *options], capture_output=True, env=environment, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"mlops validate exited {completed.returncode}: the copy of the template is not valid\n"
                         f"{completed.stderr.decode()[-2000:]}")
    return completed


def one_round(repo: Path, cache: Path, command: tuple[str, ...], folders: list[Path], patch: Path,
              label: str, paced: list[dict[str, str] | None] | None) -> dict[str, float]:
    """Seconds of each measure, one after another under (nearly) the same load.

    The floor is measured before and after the others and the mean taken: on a shared machine
    one floor alone moved by up to 40 % between rounds, and a load that changes during the round
    then decided the ratios more than the tool did.
    """
    before = timed(lambda: floor(command, folders), "floor")
    seconds = {"no-cache": timed(lambda: validate(repo, cache, "--no-cache"), "no-cache")}
    if paced is not None:
        seconds["paced"] = timed(lambda: floor(command, folders, paced), "paced")
    outputs: list[bytes] = []
    seconds["cold"] = timed(lambda: outputs.append(validate(repo, cache).stdout), "cold")
    seconds["warm"] = timed(lambda: outputs.append(validate(repo, cache).stdout), "warm")
    if outputs[0] != outputs[1]:
        raise SystemExit("the second run's output differs from the first one's")
    original = patch.read_text()
    patch.write_text(original + f"# {label}\n")
    seconds["one"] = timed(lambda: validate(repo, cache), "one")
    patch.write_text(original)
    after = timed(lambda: floor(command, folders), "floor")
    seconds.update({"floor": (before + after) / 2, "floor before": before, "floor after": after})
    return seconds


def measure(models: int, runs: int, scratch: Path) -> dict[str, list[float]]:
    sys.path.insert(0, str(ROOT / "tools"))
    from mlops import config as config_module
    from mlops.kustomization import WalkCache, walk
    from mlops.kustomize import find_engine
    from mlops.kustomize.engine import render_environment
    from mlops.render_schedule import input_bytes

    repo = scratch / f"repo-{models}"
    repo.mkdir()
    build_copy(repo, models)
    config = config_module.load(repo)
    folders = [repo / target.path for target in config.all_targets]
    engine = find_engine()
    patch = repo / "overlays" / "dev" / "patches" / f"{EXAMPLE}-000.yaml"
    walked, sizes = WalkCache(), dict[Path, int]()
    environments = [render_environment(input_bytes(walk(folder, repo, walked), sizes)) for folder in folders]
    paced = environments if any(environment is not None for environment in environments) else None
    ratios: dict[str, list[float]] = {name: [] for name in ("floor", *MEASURES, "paced")}
    for round_number in range(runs):
        cache = scratch / f"cache-{models}-{round_number}"
        seconds = one_round(repo, cache, engine.command, folders, patch, f"round {round_number}", paced)
        ratios["floor"].append(seconds["floor"])
        for name in MEASURES:
            ratios[name].append(seconds[name] / seconds["floor"])
        if "paced" in seconds:
            ratios["paced"].append(seconds["no-cache"] / seconds["paced"])
        print(f"  round {round_number + 1}: floor {seconds['floor']:.2f} s "
              f"({seconds['floor before']:.2f} and {seconds['floor after']:.2f}), "
              + ", ".join(f"{name} {seconds[name]:.2f} s" for name in ("paced", *MEASURES) if name in seconds),
              flush=True)
        shutil.rmtree(cache, ignore_errors=True)
    return ratios


def schema_rates(models: int, scratch: Path) -> None:
    """Objects per second: the tool's compiled schemas, and kubernetes-validate on the built-in kinds."""
    import kubernetes_validate

    from mlops import config as config_module
    from mlops.kustomize import find_engine, render_many
    from mlops.manifests import Manifest
    from mlops.schemas.builtin import builtin_catalog
    from mlops.schemas.core import CoreSchemas, is_core_group
    from mlops.schemas.locations import Lookup
    from mlops.schemas.store import SchemaStore
    from mlops.yamlsource import FastLoader

    repo = scratch / f"repo-{models}"
    config = config_module.load(repo)
    results = render_many(find_engine(), [repo / target.path for target in config.all_targets])
    objects = [o for r in results for o in yaml.load_all(r.output, Loader=FastLoader) if isinstance(o, dict)]
    store = SchemaStore(CoreSchemas(config.kubernetes_version),
                        Lookup([], offline=True, builtin=builtin_catalog(), default_release=config.rhoai_version))
    manifests = [Manifest(o, "bench") for o in objects]

    def validate_all(rounds: int) -> None:
        for _ in range(rounds):
            for manifest in manifests:
                compiled = store.get(manifest.api_version, manifest.kind)
                if compiled is not None:
                    store.errors(compiled, manifest.data)

    validate_all(1)  # compile every schema once
    rate = 5 * len(manifests) / timed(lambda: validate_all(5))
    core = [o for o in objects if is_core_group(str(o.get("apiVersion", "")).rpartition("/")[0])]

    def with_kubernetes_validate() -> None:
        for document in core:
            with contextlib.suppress(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(document, config.kubernetes_version, strict=True)

    kv_rate = len(core) / timed(with_kubernetes_validate) if core else 0.0
    print(f"schema validation in process: {rate:,.0f} objects/s over {len(manifests)} objects; "
          f"kubernetes-validate: {kv_rate:,.0f} objects/s over the {len(core)} built-in ones")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, nargs="+", default=[100], help="copies of the example model (100)")
    parser.add_argument("--runs", type=int, default=5, help="rounds per size; medians are printed (5)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; ratios are to the floor of the same round")
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as folder:
        scratch = Path(folder)
        ENVIRONMENT.update(tool_environment(scratch))
        for models in args.models:
            print(f"models: {models}")
            ratios = measure(models, args.runs, scratch)
            floor_cpu = statistics.median(CPU["floor"])
            print(f"  floor: median {statistics.median(ratios['floor']):.2f} s ({floor_cpu:.2f} s of CPU)")
            for name in MEASURES:
                values = ratios[name]
                target = {"no-cache": "<= 1.3", "cold": "<= 1.3", "warm": "<= 0.25"}.get(name, "")
                print(f"  {name}/floor: median {statistics.median(values):.2f} "
                      f"(min {min(values):.2f}, max {max(values):.2f}, {len(values)} rounds); "
                      f"CPU {statistics.median(CPU[name]) / floor_cpu:.2f}x the floor's"
                      + (f"   target {target}" if target else ""))
            if ratios["paced"]:
                paced = ratios["paced"]
                print(f"  no-cache/paced floor: median {statistics.median(paced):.2f} (min {min(paced):.2f}, "
                      f"max {max(paced):.2f}); the paced floor is {statistics.median(CPU['paced']) / floor_cpu:.2f}x "
                      "the floor's CPU")
            CPU.clear()
        schema_rates(args.models[0], scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
