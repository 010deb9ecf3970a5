"""A real MLflow tracking server for the --from-mlflow tests, and a stand-in that only refuses.

`mlflow server` (SQLite store, local artifact root, one worker, no job runner) starts in a few
seconds. It runs in its own process group, so stopping it also stops the uvicorn worker it forks.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx

from loopback import serving

# MLflow's client settings: the tests set what they need and nothing leaks in from the shell.
CLIENT_VARIABLES = (
    "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH", "MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_WORKSPACE",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening, so nobody else takes it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


@contextmanager
def mlflow_server(folder: Path, timeout: float = 90) -> Iterator[str]:
    """Start `mlflow server` with its data in `folder`; yield its URL; stop it."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in CLIENT_VARIABLES}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no huey job runner: faster start, fewer processes
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
               "--default-artifact-root", str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]
    log_path = folder / "server.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
        try:
            _wait_until_healthy(url, process, log_path, timeout)
            yield url
        finally:
            _stop(process)


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"mlflow server did not answer {url}/health in {timeout} s:\n{log_path.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            os.killpg(process.pid, signal.SIGKILL)  # the forked worker, should it outlive its parent
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
        return


@contextmanager
def canned_server(answers: Mapping[str, object], missing: int = 404) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that answers GET and POST of a path in `answers` with 200 and that JSON, any other
    path with `missing` and an HTML page (as Flask does for a route it lacks); yields its URL and the
    requests it received as "METHOD PATH"."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            path = self.path.split("?", 1)[0]
            seen.append(f"{self.command} {path}")
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            known = path in answers
            body = json.dumps(answers[path]).encode() if known else b"<!doctype html><title>Not Found</title>"
            self.send_response(200 if known else missing)
            self.send_header("Content-Type", "application/json" if known else "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, seen


@contextmanager
def refusing_server(status: int) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that answers every GET with `status` and MLflow's error body; yields its URL
    and the Authorization headers it received."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            body = json.dumps({"error_code": "PERMISSION_DENIED" if status == 403 else "UNAUTHENTICATED",
                               "message": "Permission denied" if status == 403 else "Credentials required"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, seen
