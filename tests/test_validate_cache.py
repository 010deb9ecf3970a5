"""The render and run caches: reused only while no input changed, never trusted when damaged or foreign."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import mlops
from mlops import config as config_module
from mlops import repofiles
from mlops.cachestore import EntryStore, prune
from mlops.check import run_policies as _run_policies
from mlops.check import schema_store as _schema_store
from mlops.cli import main
from mlops.kustomization import WalkCache, walk
from mlops.kustomize import find_engine
from mlops.kustomize.cache import RenderCache
from mlops.runcache import Caches, validate_cached
from mlops.validate import ValidationRun
from repo_builder import DEPLOYMENT, slow_kustomize, write

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  level: one\n"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    # files written by a test are seconds old at most: trust file status as if they were older
    monkeypatch.setattr(repofiles, "RACY_NS", 0)


def three_environments(root: Path) -> Path:
    """dev, test and prod over one base; dev and prod also include a component, test does not."""
    environments = "".join(f"  - name: {env}\n    path: overlays/{env}\n    namespace: ml-{env}\n"
                           for env in ("dev", "test", "prod"))
    files = {
        "mlops.yaml": f'kubernetesVersion: "1.33"\nenvironments:\n{environments}',
        "base/kustomization.yaml": "resources:\n  - deploy.yaml\n",
        "base/deploy.yaml": DEPLOYMENT,
        "components/extra/kustomization.yaml": ("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                                "resources:\n  - configmap.yaml\n"),
        "components/extra/configmap.yaml": CONFIGMAP,
    }
    for env in ("dev", "test", "prod"):
        component = "components:\n  - ../../components/extra\n" if env != "test" else ""
        files[f"overlays/{env}/kustomization.yaml"] = f"namespace: ml-{env}\nresources:\n  - ../../base\n{component}"
    return write(root / "repo", files)


def validate(repo: Path, caches: Caches) -> ValidationRun:
    cfg = config_module.load(repo)
    store = _schema_store(cfg, (), None, offline=True)
    return validate_cached(cfg, list(cfg.all_targets), find_engine(), store, _run_policies, caches)


def outcome(run: ValidationRun) -> tuple[object, ...]:
    return (run.findings, run.coverage, run.objects_checked, run.warnings)


def entries(caches: Caches, kind: str) -> list[Path]:
    return sorted((caches.root / kind).rglob("*.entry"))


def test_an_unchanged_repository_is_served_whole_from_the_run_cache(tmp_path: Path) -> None:
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    first = validate(repo, caches)
    assert first.rendered == ["dev", "test", "prod"] and not first.reused and not first.from_cache
    second = validate(repo, caches)
    assert second.from_cache and second.rendered == [] and second.reused == []
    assert outcome(second) == outcome(first)


def test_the_output_of_a_cached_run_is_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = three_environments(tmp_path)
    write(repo, {"base/deploy.yaml": DEPLOYMENT.replace("replicas: 1", "replica: 1")})  # a finding to print
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))
    for output in ("text", "json", "sarif", "junit", "github", "markdown"):
        runs = [CliRunner().invoke(main, ["validate", "--repo", str(repo), "--output", output]) for _ in range(2)]
        assert runs[0].exit_code == runs[1].exit_code == 1, runs[0].output
        assert runs[0].stdout_bytes == runs[1].stdout_bytes
    assert entries(Caches(tmp_path / "cache"), "runs")


def test_a_bad_time_limit_is_refused_when_the_run_cache_would_answer(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    repo = three_environments(tmp_path)
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))
    first = CliRunner().invoke(main, ["validate", "--repo", str(repo)])
    assert first.exit_code == 1, first.output  # the fixture's findings
    assert entries(Caches(tmp_path / "cache"), "runs")  # the next run would render nothing
    monkeypatch.setenv("MLOPS_RENDER_TIMEOUT", "soon")
    refused = CliRunner().invoke(main, ["validate", "--repo", str(repo)])
    assert refused.exit_code == 2, refused.output
    assert "MLOPS_RENDER_TIMEOUT='soon'" in refused.stderr and len(refused.stderr.splitlines()) == 1


def test_changing_one_overlay_renders_only_that_overlay(tmp_path: Path) -> None:
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    validate(repo, caches)
    kustomization = repo / "overlays/test/kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "commonAnnotations: {team: ml}\n")
    run = validate(repo, caches)
    assert run.rendered == ["test"]
    assert run.reused == ["dev", "prod"]
    assert not run.from_cache


def test_a_changed_component_file_renders_every_root_that_includes_it(tmp_path: Path) -> None:
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    validate(repo, caches)
    write(repo, {"components/extra/configmap.yaml": CONFIGMAP.replace("one", "two")})
    run = validate(repo, caches)
    assert run.rendered == ["dev", "prod"] and run.reused == ["test"]
    (configmap,) = [m for m in run.manifests["prod"] if m.kind == "ConfigMap"]
    assert configmap.data["data"] == {"level": "two"}


def test_a_changed_base_file_renders_every_root(tmp_path: Path) -> None:
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    validate(repo, caches)
    write(repo, {"base/deploy.yaml": DEPLOYMENT.replace("replicas: 1", "replicas: 3")})
    run = validate(repo, caches)
    assert run.rendered == ["dev", "test", "prod"] and run.reused == []
    assert all(m.data["spec"]["replicas"] == 3 for name in ("dev", "test", "prod")
               for m in run.manifests[name] if m.kind == "Deployment")


def test_same_size_and_modification_time_is_not_enough_to_be_unchanged(tmp_path: Path) -> None:
    """Another content with the size and mtime of the old one: the change time still tells."""
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    validate(repo, caches)
    path = repo / "components/extra/configmap.yaml"
    before = path.stat()
    path.write_text(CONFIGMAP.replace("one", "six"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    run = validate(repo, caches)
    assert run.rendered == ["dev", "prod"]
    assert [m.data["data"] for m in run.manifests["dev"] if m.kind == "ConfigMap"] == [{"level": "six"}]


def test_a_file_changed_while_the_run_renders_stores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    from mlops import validate as validate_module

    real_render = validate_module.render

    def render_then_edit(engine: object, folder: Path, options: tuple[str, ...] = (), batch: object = None,
                         started: object = None, input_bytes: int | None = None) -> object:
        result = real_render(engine, folder, options, batch, started, input_bytes)  # type: ignore[arg-type]
        write(repo, {"base/deploy.yaml": DEPLOYMENT.replace("replicas: 1", "replicas: 2")})
        return result

    monkeypatch.setattr(validate_module, "render", render_then_edit)
    validate(repo, caches)
    assert entries(caches, "renders") == [] and entries(caches, "runs") == []
    monkeypatch.setattr(validate_module, "render", real_render)
    run = validate(repo, caches)
    assert run.rendered == ["dev", "test", "prod"]


def test_corrupted_entries_are_ignored(tmp_path: Path) -> None:
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    first = validate(repo, caches)
    damaged = entries(caches, "renders") + entries(caches, "runs") + entries(caches, "memo")
    assert len(damaged) >= 5
    for index, path in enumerate(damaged):
        raw = path.read_bytes()
        path.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]) if index % 2 else raw[: len(raw) // 2])
    second = validate(repo, caches)
    assert not second.from_cache and second.rendered == ["dev", "test", "prod"]
    assert outcome(second) == outcome(first)
    assert validate(repo, caches).from_cache  # the damaged entries were replaced by good ones


def test_a_foreign_entry_under_a_key_is_ignored(tmp_path: Path) -> None:
    """An intact entry of another root, copied to this root's place, is not this root's render."""
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    validate(repo, caches)
    cfg = config_module.load(repo)
    renders = RenderCache(caches.root, find_engine())
    files = repofiles.RepoFiles(repo)
    trees = {t.name: walk(repo / t.path, repo, WalkCache()) for t in cfg.all_targets}
    keys = {name: renders.key(tree, f"overlays/{name}", repo, files.sha256) for name, tree in trees.items()}
    assert all(keys.values()) and len(set(keys.values())) == 3
    store = EntryStore(caches.root, "renders")
    store.path(str(keys["dev"])).write_bytes(store.path(str(keys["test"])).read_bytes())
    assert renders.get(str(keys["dev"])) is None and renders.get(str(keys["test"])) is not None
    for path in entries(caches, "runs"):
        path.unlink()
    run = validate(repo, caches)
    assert run.rendered == ["dev"] and run.reused == ["test", "prod"]
    assert [m.kind for m in run.manifests["dev"]] == ["ConfigMap", "Deployment"]


@pytest.mark.parametrize("damage", [
    lambda raw: b"",
    lambda raw: raw.split(b"\n", 1)[1],
    lambda raw: raw.replace(b'"format": "mlops-cache/1"', b'"format": "mlops-cache/2"'),
    lambda raw: raw.replace(b'"kind": "renders"', b'"kind": "runs"'),
    lambda raw: raw + b" ",
    lambda raw: b"{not json\n" + raw.split(b"\n", 1)[1],
], ids=["empty", "no-header", "other-format", "other-kind", "longer", "bad-header"])
def test_an_entry_is_read_only_when_everything_checks_out(tmp_path: Path, damage: object) -> None:
    store = EntryStore(tmp_path, "renders")
    key = "ab" * 32
    store.write(key, b'{"output": "x"}')
    assert store.read(key) == b'{"output": "x"}'
    path = store.path(key)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    assert store.read(key) is None


@pytest.mark.slow  # the real mlops command as two subprocesses: see the marker in pyproject.toml
def test_two_runs_at_once_share_the_cache(tmp_path: Path) -> None:
    repo, cache = three_environments(tmp_path), tmp_path / "cache"
    environment = {**os.environ, "MLOPS_CACHE_DIR": str(cache), "MLOPS_OFFLINE": "1",
                   "PYTHONPATH": str(Path(mlops.__file__).resolve().parent.parent)}
    command = [sys.executable, "-m", "mlops", "validate", "--repo", str(repo), "--output", "json"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
                 for _ in range(2)]
    results = [process.communicate(timeout=300) for process in processes]
    assert processes[0].returncode == processes[1].returncode == 1, results  # prod wants resource limits
    assert results[0][0] == results[1][0]
    third = validate(repo, Caches(cache))
    assert third.from_cache
    assert json.loads(results[0][0])["summary"]["objects_checked"] == third.objects_checked == 5


def test_no_cache_reads_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = three_environments(tmp_path)
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))

    def refuse(*_: object) -> None:
        raise AssertionError("--no-cache touched the cache")

    monkeypatch.setattr(EntryStore, "read", refuse)
    monkeypatch.setattr(EntryStore, "write", refuse)
    for _ in range(2):
        result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--no-cache"])
        assert result.exit_code == 1, result.output
        assert "container-resources" in result.stdout
    assert not (tmp_path / "cache").exists()


def test_a_root_with_inputs_the_walk_does_not_follow_is_rendered_every_time(tmp_path: Path) -> None:
    repo = three_environments(tmp_path)
    write(repo, {
        "overlays/test/kustomization.yaml": "namespace: ml-test\nresources:\n  - ../../base\n"
                                            "transformers:\n  - labels.yaml\n",
        "overlays/test/labels.yaml": ("apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: labels\n"
                                      "labels:\n  team: ml\nfieldSpecs:\n  - path: metadata/labels\n"
                                      "    create: true\n"),
    })
    caches = Caches(tmp_path / "cache")
    validate(repo, caches)
    run = validate(repo, caches)
    assert run.rendered == ["test"] and run.reused == ["dev", "prod"] and not run.from_cache
    assert not entries(caches, "runs")
    assert all(m.labels == {"team": "ml"} for m in run.manifests["test"])


def test_a_root_reading_a_pruned_folder_is_rendered_every_time(tmp_path: Path) -> None:
    """The snapshot does not enter `.venv`: a file kustomize reads there has no hash to vouch for it."""
    repo = three_environments(tmp_path)
    write(repo, {".venv/extra/kustomization.yaml": "resources:\n  - configmap.yaml\n",
                 ".venv/extra/configmap.yaml": CONFIGMAP,
                 "overlays/test/kustomization.yaml": "namespace: ml-test\nresources:\n  - ../../base\n"
                                                     "  - ../../.venv/extra\n"})
    caches = Caches(tmp_path / "cache")
    validate(repo, caches)
    write(repo, {".venv/extra/configmap.yaml": CONFIGMAP.replace("one", "two")})
    run = validate(repo, caches)
    assert run.rendered == ["test"] and not run.from_cache
    assert [m.data["data"] for m in run.manifests["test"] if m.kind == "ConfigMap"] == [{"level": "two"}]


def test_remote_bases_helm_charts_plugins_and_unknown_fields_have_no_render_key(tmp_path: Path) -> None:
    with RenderCache(tmp_path / "cache", find_engine()) as renders:  # its version thread ends with the test
        for extra in ("resources:\n  - https://github.com/example/repo//deploy?ref=v1.0.0\n",
                      "helmCharts:\n  - name: chart\n    repo: https://charts.example.com\n",
                      "generators:\n  - generator.yaml\n",
                      "validators:\n  - validator.yaml\n",
                      "someNewField: {path: file.yaml}\n"):
            repo = write(tmp_path / f"repo-{abs(hash(extra))}", {
                "kustomization.yaml": extra, "generator.yaml": "x: 1\n", "validator.yaml": "x: 1\n"})
            tree = walk(repo, repo)
            assert not tree.vouched, extra
            assert renders.key(tree, ".", repo, repofiles.RepoFiles(repo).sha256) is None, extra


def test_the_cache_folder_stays_bounded(tmp_path: Path) -> None:
    store = EntryStore(tmp_path, "renders")
    keys = [f"{index:02d}" * 32 for index in range(10)]
    for age, key in enumerate(keys):
        store.write(key, b"x" * 1000)
        os.utime(store.path(key), (1_000_000 + age, 1_000_000 + age))
    freed = prune(tmp_path, limit=5000)
    assert freed > 0
    left = [key for key in keys if store.path(key).exists()]
    assert left == keys[-len(left):], "the least recently used entries go first"
    assert sum(store.path(key).stat().st_size for key in left) <= 5000 * 0.8


def test_a_hit_keeps_an_entry_from_being_pruned(tmp_path: Path) -> None:
    store = EntryStore(tmp_path, "renders")
    old, new = "aa" * 32, "bb" * 32
    for key, when in ((old, 1_000_000), (new, 2_000_000)):
        store.write(key, b"x" * 1000)
        os.utime(store.path(key), (when, when))
    assert store.read(old) is not None  # used now: the most recent
    prune(tmp_path, limit=2000)
    assert store.path(old).exists() and not store.path(new).exists()


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


def test_what_git_lists_is_part_of_the_key(tmp_path: Path) -> None:
    """A file git starts tracking changes no file of the checkout, but rules read git's list."""
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    write(repo, {".gitignore": "notes.txt\n", "notes.txt": "scratch\n"})
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    validate(repo, caches)
    assert validate(repo, caches).from_cache
    git(repo, "add", "-f", "notes.txt")
    assert not validate(repo, caches).from_cache


def test_a_link_that_now_leaves_the_repository_is_found(tmp_path: Path) -> None:
    """Same target file, same status: only the link's text says it climbs out of the repository."""
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    link = repo / "base" / "copy.yaml"
    link.symlink_to("deploy.yaml")
    first = validate(repo, caches)
    assert not any(f.rule == "symlink-out-of-bounds" for f in first.findings)
    link.unlink()
    link.symlink_to("../../repo/base/deploy.yaml")
    second = validate(repo, caches)
    assert not second.from_cache
    assert [f.file for f in second.findings if f.rule == "symlink-out-of-bounds"] == ["base/copy.yaml"]


def test_a_first_run_keeps_its_symlink_findings_under_the_key_a_later_run_looks_up(tmp_path: Path) -> None:
    """Without a memo the run finds the links itself, behind the renders; the entry it stores must
    still be the one the next run, which finds them before rendering, asks for."""
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    (repo / "base" / "copy.yaml").symlink_to("../../repo/base/deploy.yaml")
    first = validate(repo, caches)
    assert not first.from_cache
    assert [f.file for f in first.findings if f.rule == "symlink-out-of-bounds"] == ["base/copy.yaml"]
    second = validate(repo, caches)
    assert second.from_cache
    assert second.findings == first.findings


_RECORDING: list[list[str]] = []


def _record(event: str, args: tuple[object, ...]) -> None:
    if _RECORDING and event in ("open", "os.scandir", "os.listdir") and args and isinstance(args[0], (str, Path)):
        frame = sys._getframe(1)
        while frame is not None:  # the symlink rule's walk is in the key by its findings, computed every run
            if frame.f_code.co_filename.endswith(os.path.join("mlops", "symlinks.py")):
                return
            frame = frame.f_back  # type: ignore[assignment]
        _RECORDING[-1].append(os.fspath(args[0]))


def test_nothing_is_read_inside_the_folders_the_key_leaves_out(tmp_path: Path) -> None:
    """The run cache's key lists `.venv`, `node_modules`, `__pycache__` ... without their contents:
    no check may open or list anything inside them (an audit hook sees every open and listing).
    The symlink rule, whose findings are part of the key themselves, is the one exception."""
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    write(repo, {".venv/lib/settings.yaml": "password: Xy7#kQ2!mZ9wL4pR\n",
                 "node_modules/package/package.json": "{}\n", "base/__pycache__/notes.yaml": "a: 1\n",
                 "models/m/.mypy_cache/cache.json": "{}\n"})
    if _record not in _HOOKED:
        sys.addaudithook(_record)  # hooks cannot be removed; this one records only inside this test
        _HOOKED.append(_record)
    _RECORDING.append([])
    try:
        run = validate(repo, caches)
    finally:
        touched = _RECORDING.pop()
    assert run.rendered == ["dev", "test", "prod"] and touched
    inside = [Path(path).resolve() for path in touched]
    inside = [path.relative_to(repo.resolve()) for path in inside if path.is_relative_to(repo.resolve())]
    assert Path("base/deploy.yaml") in inside  # the hook sees what the run reads
    assert [path for path in inside if repofiles.PRUNED & set(path.parts)] == [], touched
    assert not any(f.rule == "credential-in-file" for f in run.findings)


_HOOKED: list[object] = []


def test_a_run_with_a_render_cut_at_the_time_limit_is_not_kept(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # the cut says something about this machine at this moment, nothing about the repository
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    monkeypatch.setenv("KUSTOMIZE", str(slow_kustomize(tmp_path, 0.6)))
    monkeypatch.setenv("MLOPS_RENDER_TIMEOUT", "0.1")
    first = validate(repo, caches)
    assert first.timed_out and {f.rule for f in first.findings} == {"render"}
    monkeypatch.setenv("MLOPS_RENDER_TIMEOUT", "0")
    second = validate(repo, caches)
    assert not second.from_cache and not second.timed_out and second.rendered == ["dev", "test", "prod"]
    assert not [f for f in second.findings if f.rule == "render"]


def test_the_file_memo_reads_texts_as_the_credential_scan_does(tmp_path: Path) -> None:
    """Windows and old Mac line ends, a non-UTF-8 file, an oversized one: the same texts and the same
    hits, on the same lines, as `policies.secrets` reading the files itself."""
    from mlops.policies import secrets

    secret = b"password: Xy7#kQ2!mZ9wL4pR"
    root = write(tmp_path / "repo", {"lf.yaml": "a: 1\n"})
    (root / "crlf.yaml").write_bytes(b"a: 1\r\nb: 2\r\n" + secret + b"\r\n")
    (root / "cr.yaml").write_bytes(b"a: 1\rb: 2\r\r" + secret + b"\r")
    (root / "mixed.json").write_bytes(b'{"a": 1,\r\n"b": 2\n}\r' + secret + b"\n")
    (root / "latin1.yaml").write_bytes(b"name: caf\xe9\n" + secret + b"\n")
    (root / "big.yaml").write_bytes(secret + b"\n" + b"# filler\n" * (secrets.MAX_FILE_BYTES // 9 + 1))
    files = repofiles.RepoFiles(root, eager=False)
    expected = secrets.read_repository_texts(root)
    assert [(name, text) for _, name, text in files.texts()] == [(name, text) for _, name, text in expected]
    hits = sorted((name, line, what) for name, line, what, _ in files.credential_hits())
    assert hits == sorted((name, line, what) for _, name, text in expected for line, what, _ in secrets.scan_text(text))
    assert hits == [("cr.yaml", 4, "a password or token value"), ("crlf.yaml", 3, "a password or token value"),
                    ("mixed.json", 4, "a password or token value")]


def test_a_run_that_fails_early_leaves_no_engine_identification_running(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The version is asked in a thread while the run starts; a run that fails first waits for it.

    Left running, it would write the engine's entry after the run (into another run's cache
    folder, in a test) or be cut off mid-write at exit, leaving a temporary file behind.
    """
    engine = tmp_path / "kustomize-slow-version"
    kubectl = Path(sys.executable).parent / "kubectl"
    engine.write_text(f'#!/bin/sh\n[ "$1" = version ] && sleep 0.5 && exec echo v5.7.1\n'
                      f'exec "{kubectl}" kustomize "$2"\n', encoding="utf-8")
    engine.chmod(0o755)
    monkeypatch.setenv("KUSTOMIZE", str(engine))
    repo, caches = three_environments(tmp_path), Caches(tmp_path / "cache")
    cfg = config_module.load(repo)
    store = _schema_store(cfg, (), None, offline=True)

    def fails(*args: object, **kwargs: object) -> ValidationRun:
        raise RuntimeError("the run failed")

    with pytest.raises(RuntimeError):
        validate_cached(cfg, list(cfg.all_targets), find_engine(), store, None, caches, runner=fails)
    assert "kustomize version" not in {thread.name for thread in threading.enumerate()}
    assert entries(caches, "engines")  # it ran to its end: the version is kept
