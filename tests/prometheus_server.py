"""A real Prometheus server on loopback, scraping an exporter the test controls.

Used by the tests of the retraining gate: the server evaluates the repository's own rules files
(what user-workload monitoring evaluates on the cluster) and scrapes a small exporter whose
series the test sets, so queries are answered by Prometheus itself, not by a stand-in. Needs the
`prometheus` binary (Debian package `prometheus`, which `.ci/run` installs with promtool).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

from loopback import serving


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("prometheus is not on PATH, and in CI (CI=true) these tests must run: install the Debian "
                    "package prometheus first (.ci/run does)")
    if found is None:
        pytest.skip("prometheus is not on PATH (Debian/Ubuntu: apt-get install prometheus)")
    return found


class Exporter:
    """Series the test sets (name, labels) -> value, served in the text exposition format."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.lock = threading.Lock()

    def set(self, name: str, value: float, **labels: str) -> None:
        with self.lock:
            self.series[(name, tuple(sorted(labels.items())))] = value

    def text(self) -> str:
        with self.lock:
            lines = [name + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "} " + repr(value)
                     for (name, labels), value in sorted(self.series.items())]
        return "\n".join(lines) + "\n"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Prometheus:
    """The running server: its URL and an instant query helper."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict[str, Any]]:
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(address, timeout=10) as response:
            answer = json.loads(response.read())
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def wait_for(self, expr: str, present: bool = True, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll until `expr` answers with series (or, with present=False, with none)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if bool(result) is present:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{expr!r} still {'empty' if present else result} after {timeout} s")
            time.sleep(0.5)


@contextmanager
def running_prometheus(tmp_path: Path, exporter: Exporter, rule_files: list[Path],
                       target_labels: dict[str, str]) -> Iterator[Prometheus]:
    """Start Prometheus scraping `exporter` every second (with honor_labels, plus `target_labels`, as
    user-workload monitoring adds `namespace`) and evaluating `rule_files` every second."""
    binary = prometheus_binary()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = exporter.text().encode()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as exporter_url:
        port = _free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": [{"job_name": "exporter", "honor_labels": True,
                                "static_configs": [{"targets": [exporter_url.removeprefix("http://")],
                                                    "labels": target_labels}]}],
        }
        config_file = tmp_path / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        process = subprocess.Popen(
            [binary, f"--config.file={config_file}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"prometheus did not start: {process.stderr.read() if process.stderr else ''}")
                time.sleep(0.2)
            yield Prometheus(url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
