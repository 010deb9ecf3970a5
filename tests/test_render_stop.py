"""A signal or the time limit ends a render with everything it started, and `mlops` at once.

`$KUSTOMIZE` here is a wrapper that starts a grandchild (`sleep`) and waits for it, as a wrapper
around a real kustomize would: ending the wrapper alone would leave the grandchild running. Each
wrapper writes its own process id and its grandchild's; afterwards none of them may still run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlops
from mlops import children
from mlops.kustomize import RenderResult, find_engine, render
from repo_builder import simple_repo

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")

WAIT_SECONDS = 60
DEPLOYMENT = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"


def wrapper(folder: Path, flags: Path, *, version_too: bool = False) -> Path:
    """A `$KUSTOMIZE` whose build records its group, starts `sleep 600` in it and waits for it.

    `version_too`: `kustomize version` (asked for the render cache's key) does so as well.
    """
    path = folder / "kustomize-wrapper"
    answer = "" if version_too else '[ "$1" = version ] && exec echo v5.7.1\n'
    path.write_text(f'#!/bin/sh\n{answer}echo $$ > "{flags}/group-$$"\n'
                    f'sleep 600 &\necho $! > "{flags}/sleep-$!"\nmkdir "{flags}/reached" 2>/dev/null\nwait\n',
                    encoding="utf-8")
    path.chmod(0o755)
    return path


def held_until_released(folder: Path, flags: Path) -> Path:
    """A `$KUSTOMIZE` that waits for the test's `release` file, then renders."""
    path = folder / "kustomize-held"
    kubectl = Path(sys.executable).parent / "kubectl"
    path.write_text(f'#!/bin/sh\nmkdir "{flags}/reached" 2>/dev/null\n'
                    f'while [ ! -e "{flags}/release" ]; do sleep 0.02; done\nexec "{kubectl}" kustomize "$2"\n',
                    encoding="utf-8")
    path.chmod(0o755)
    return path


def empty_root(tmp_path: Path) -> Path:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "kustomization.yaml").write_text("resources: []\n")
    (tmp_path / "flags").mkdir()
    return tmp_path / "root"


@contextlib.contextmanager
def never_left_running(process: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """The `mlops` process, killed at the end of the block if a failed assertion left it running."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def running(pid: int) -> bool:
    """The process runs (a zombie has ended: only its parent has not reaped it yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def all_ended(flags: Path) -> bool:
    """True once every wrapper and every `sleep` it started has ended (after the grace period's SIGKILL)."""
    # from the names: a wrapper ended while it wrote one of these files leaves it empty
    pids = [int(path.name.split("-")[1]) for path in [*flags.glob("group-*"), *flags.glob("sleep-*")]]
    assert pids, "no render started"
    deadline = time.monotonic() + children.GRACE_SECONDS + 10
    while any(running(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def start_mlops(repo: Path, tmp_path: Path, engine: Path, ignored: tuple[int, ...] = (),
                   command: tuple[str, ...] = ("validate",)) -> subprocess.Popen[str]:
    (tmp_path / "tmp").mkdir()
    environment = {**os.environ, "KUSTOMIZE": str(engine), "MLOPS_CACHE_DIR": str(tmp_path / "cache"),
                   "TMPDIR": str(tmp_path / "tmp"), "MLOPS_RENDER_TIMEOUT": "0",
                   "PYTHONPATH": os.pathsep.join([str(Path(mlops.__file__).parents[1]),
                                                  os.environ.get("PYTHONPATH", "")])}

    def as_a_terminal_starts_it() -> None:  # a test runner's worker may ignore SIGINT: `mlops` would inherit that
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN if signum in ignored else signal.SIG_DFL)

    return subprocess.Popen([sys.executable, "-m", "mlops", *command, "--repo", str(repo)], env=environment,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=as_a_terminal_starts_it)


def wait_until(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail(f"no render started (exit {process.returncode}):\n{stdout}\n{stderr}")
        time.sleep(0.01)


@pytest.mark.parametrize(("signum", "version_too"), [(signal.SIGTERM, False), (signal.SIGINT, False),
                                                   (signal.SIGHUP, False), (signal.SIGTERM, True)],
                         ids=["SIGTERM", "SIGINT", "SIGHUP", "SIGTERM-while-asking-the-version"])
def test_a_signal_ends_validate_and_every_render_it_started(tmp_path: Path, signum: signal.Signals,
                                                           version_too: bool) -> None:
    repo = simple_repo(tmp_path / "repo", {"web.yaml": DEPLOYMENT}, environments=("dev", "test", "prod"))
    flags = tmp_path / "flags"
    flags.mkdir()
    engine = wrapper(tmp_path, flags, version_too=version_too)
    with never_left_running(start_mlops(repo, tmp_path, engine)) as process:
        wait_until(flags / "reached", process)
        process.send_signal(signum)  # to `mlops` alone, as a CI runner or `timeout` sends it
        _, stderr = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 3, stderr
    assert stderr.splitlines() == [f"mlops: interrupted by {signum.name}; nothing was changed"]
    assert all_ended(flags), "a render's process was left running"
    assert list((tmp_path / "tmp").iterdir()) == []  # the renders' output files went with them
    assert not [path for path in (tmp_path / "cache").rglob(".tmp-*")]
    if version_too:  # the version was never answered: nothing about it may be kept for the next run
        assert not [path for path in (tmp_path / "cache").rglob("engines/*/*")]


def cpu_ticks(pid: int) -> int:
    """The CPU time process `pid` has used, in clock ticks (user and system: /proc/PID/stat fields 14, 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def child_processes(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def asleep(pid: int, children_left: int | None = None) -> None:
    """Return once process `pid` has used no CPU for 0.3 s: every thread of it waits for something.

    `children_left`: and once only that many of its children still run (the others have ended).
    """
    deadline = time.monotonic() + WAIT_SECONDS
    before = cpu_ticks(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = cpu_ticks(pid)
        if now == before and (children_left is None or len(child_processes(pid)) <= children_left):
            return
        before = now
    pytest.fail("the process never went quiet")


def another_thread(pid: int) -> int:
    """The id of a thread of process `pid` other than its main one (which has the process's id)."""
    others = sorted(int(task.name) for task in Path(f"/proc/{pid}/task").iterdir() if int(task.name) != pid)
    assert others, "the process runs no other thread"
    return others[0]


@pytest.mark.skipif(sys.platform != "linux", reason="Linux hands a signal sent to a thread's id to that thread")
@pytest.mark.parametrize("command", [("validate",), ("render", "dev")],
                         ids=["validate-renders-in-a-pool", "render-renders-in-the-main-thread"])
def test_a_signal_another_thread_takes_still_ends_the_command_at_once(tmp_path: Path,
                                                                     command: tuple[str, ...]) -> None:
    """The handler runs in the main thread only; here the signal wakes another one and not the main thread.

    That is what a signal which arrives just before the main thread falls asleep amounts to (it
    interrupts no sleep), made certain: the main thread then runs the handler only because it
    waits in slices (`mlops.waits`). Without them it would sleep until the render ends: never.
    A render in the main thread (one root) is waited for by a thread of its own for that reason.
    """
    repo = simple_repo(tmp_path / "repo", {"web.yaml": DEPLOYMENT}, environments=("dev", "test", "prod"))
    flags = tmp_path / "flags"
    flags.mkdir()
    with never_left_running(start_mlops(repo, tmp_path, wrapper(tmp_path, flags), command=command)) as process:
        wait_until(flags / "reached", process)
        asleep(process.pid)  # the main thread too: it waits for the renders
        os.kill(another_thread(process.pid), signal.SIGTERM)
        _, stderr = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 3, stderr
    assert stderr.splitlines() == ["mlops: interrupted by SIGTERM; nothing was changed"]
    assert all_ended(flags), "a render's process was left running"


def test_a_signal_the_process_started_with_ignored_stays_ignored(tmp_path: Path) -> None:
    """`nohup mlops validate`: SIGHUP was the user's choice to ignore; the run goes on to its end."""
    repo = simple_repo(tmp_path / "repo", {"web.yaml": DEPLOYMENT})
    flags = tmp_path / "flags"
    flags.mkdir()
    engine = held_until_released(tmp_path, flags)
    with never_left_running(start_mlops(repo, tmp_path, engine, ignored=(signal.SIGHUP,))) as process:
        wait_until(flags / "reached", process)
        process.send_signal(signal.SIGHUP)
        time.sleep(0.2)  # time for a handler, had one been installed, to end the render
        (flags / "release").touch()
        stdout, stderr = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 0, stdout + stderr


def test_the_time_limit_ends_what_the_render_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = empty_root(tmp_path)
    flags = tmp_path / "flags"
    monkeypatch.setenv("KUSTOMIZE", str(wrapper(tmp_path, flags)))
    monkeypatch.setenv("MLOPS_RENDER_TIMEOUT", "0.5")
    result = render(find_engine(), root)
    assert result.timed_out and result.error is not None and "did not finish in 0.5 s" in result.error
    assert all_ended(flags), "the wrapper's child outlived the time limit"


def test_after_a_stop_request_no_render_starts_until_the_next_command(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = empty_root(tmp_path)
    flags = tmp_path / "flags"
    engine = tmp_path / "kustomize-echo"
    engine.write_text(f'#!/bin/sh\necho $$ > "{flags}/group-$$"\necho "{{}}"\n', encoding="utf-8")
    engine.chmod(0o755)
    monkeypatch.setenv("KUSTOMIZE", str(engine))
    try:
        children.stop_all()
        stopped = render(find_engine(), root)
    finally:
        children.reset()
    assert stopped.error is not None and "stopped" in stopped.error and list(flags.glob("group-*")) == []
    result = render(find_engine(), root)
    assert result.error is None and result.output == "{}\n" and len(list(flags.glob("group-*"))) == 1


def test_an_unknown_rule_id_ends_the_renders_it_raced(tmp_path: Path) -> None:
    """The rules are imported while kustomize renders; a typo in mlops.yaml then ends those renders."""
    repo = simple_repo(tmp_path / "repo", {"web.yaml": DEPLOYMENT}, environments=("dev", "test", "prod"))
    config = repo / "mlops.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "rules:\n  not-a-rule: {severity: info}\n",
                      encoding="utf-8")
    flags = tmp_path / "flags"
    flags.mkdir()
    with never_left_running(start_mlops(repo, tmp_path, wrapper(tmp_path, flags))) as process:
        _, stderr = process.communicate(timeout=WAIT_SECONDS)  # the wrapper never ends by itself
    assert process.returncode == 2, stderr
    (line,) = stderr.splitlines()
    assert line.startswith("mlops: mlops.yaml:13: rules: unknown rule id 'not-a-rule'"), line
    if list(flags.glob("group-*")):  # a render had started before the check: it was ended
        assert all_ended(flags), "a render's process was left running"


def test_ending_a_batch_ends_its_children_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = empty_root(tmp_path)
    flags = tmp_path / "flags"
    monkeypatch.setenv("KUSTOMIZE", str(held_until_released(tmp_path, flags)))
    ended, other = children.Batch(), children.Batch()
    results: dict[str, RenderResult] = {}

    def render_in(name: str, batch: children.Batch) -> None:
        results[name] = render(find_engine(), root, batch=batch)

    threads = [threading.Thread(target=render_in, args=(name, batch)) for name, batch in
               (("ended", ended), ("other", other))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not (flags / "reached").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    children.end(ended)  # its render is ended if it runs, or refused if it has not started yet
    threads[0].join(timeout=WAIT_SECONDS)
    assert not threads[0].is_alive() and threads[1].is_alive()
    (flags / "release").touch()
    threads[1].join(timeout=WAIT_SECONDS)
    stopped, finished = results["ended"], results["other"]
    assert stopped.error is not None and "stopped" in stopped.error
    assert finished.error is None and finished.output == ""
    assert render(find_engine(), root, batch=ended).error is not None  # an ended batch starts nothing


def test_a_command_loads_the_rule_families_only_when_it_needs_the_rules() -> None:
    """`mlops validate` imports them after its first renders started (`policies.families`)."""
    program = ("import sys; import mlops.cli.group, mlops.check, mlops.validate, mlops.runcache; "
               "print(sorted(m for m in sys.modules if m.startswith('mlops.policies.')))")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(mlops.__file__).parents[1]),
                                                                os.environ.get("PYTHONPATH", "")])}
    loaded = subprocess.run([sys.executable, "-c", program], env=environment, capture_output=True, text=True,
                            check=True).stdout
    assert "mlops.policies.monitoring" not in loaded and "mlops.policies.catalog_rules" not in loaded, loaded
