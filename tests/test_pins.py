"""Pins as tables: the one writer, the strict reader of a tree, the lenient reader of history.

`catalog.pins` is the only code that reads or writes `overlays/<env>/models/<model>.yaml`; each
row is a pin text (or a history of them) and what each reader must make of it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops.catalog import Model, Signature, Version, pin_file, pin_version, read_pin, write_pin_text
from mlops.catalog.pins import previous_pinned_version
from mlops.git import Git
from policy_helpers import make_config

MODEL = Model(name="fraud-detection", description="", owners=(), format="onnx", runtime="ovms", type="predictive",
              signature=Signature((), ()), versions=(), gates={}, file="models/fraud-detection/model.yaml")


def pin_text(version: str, uri: str = "s3://models/fraud-detection/1.2.0/") -> str:
    return write_pin_text(MODEL, Version(version, uri, "2026-01-01"), "dev")


@pytest.mark.parametrize(("version", "uri"), [
    ("1.2.0", "s3://models/fraud-detection/1.2.0/"),
    ("1.2.0-rc.1", "s3://models/fraud-detection/1.2.0-rc.1/"),
    ("10.0.3", "oci://quay.io/acme/fraud@sha256:" + "a" * 64),
    ("0.0.1", "s3://models/path with: a colon/"),
    ("2.0.0", "s3://models/x # not a comment"),
])
def test_what_the_writer_writes_the_strict_reader_reads(tmp_path: Path, version: str, uri: str) -> None:
    cfg = make_config(tmp_path)
    dev = cfg.environments[0]
    path = tmp_path / pin_file(dev, "fraud-detection")
    path.parent.mkdir(parents=True)
    path.write_text(pin_text(version, uri), encoding="utf-8")
    pin = read_pin(tmp_path, dev, "fraud-detection")
    assert pin is not None and (pin.version, pin.storage_uri) == (version, uri)
    assert pin_version(path.read_text(encoding="utf-8")) == version


@pytest.mark.parametrize(("text", "version"), [
    (None, None),
    ("", None),
    ("not: [yaml", None),
    ("- a list\n", None),
    ("metadata: {labels: {app.kubernetes.io/version: '1.0.0'}}\n", "1.0.0"),
    ("metadata: {labels: {app.kubernetes.io/version: 1.2}}\n", "1.2"),  # history may hold what today refuses
    ("metadata: {labels: {team: payments}}\n", None),
    ("metadata: {labels: [app.kubernetes.io/version]}\n", None),
    ("metadata: null\n", None),
    ("kind: InferenceService\nmetadata:\n  name: x\n  labels:\n    app.kubernetes.io/version: \"3.1.4\"\n", "3.1.4"),
])
def test_the_lenient_reader_takes_the_label_of_any_text(text: str | None, version: str | None) -> None:
    assert pin_version(text) == version


def _commit(repo: Path, path: str, text: str, message: str) -> None:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    for args in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", message]):
        subprocess.run(["git", *args], cwd=repo, check=True)


@pytest.mark.parametrize(("history", "previous"), [
    (["1.0.0"], None),
    (["1.0.0", "1.1.0"], "1.0.0"),
    (["1.0.0", "1.1.0", "1.2.0"], "1.1.0"),
    (["1.0.0", "1.1.0", "1.1.0"], "1.0.0"),  # a rewrite of the same version (its uri moved) is no change of version
    (["1.0.0", "broken", "1.1.0"], "1.0.0"),  # a text without the label in between is passed over
    (["1.1.0", "1.0.0"], "1.1.0"),  # a rollback's previous version is the newer one
])
def test_the_version_before_the_current_one(tmp_path: Path, history: list[str], previous: str | None) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    path = "overlays/dev/models/fraud-detection.yaml"
    for number, version in enumerate(history):
        text = "metadata: {}\n" if version == "broken" else pin_text(version, f"s3://models/fraud-detection/{number}/")
        _commit(tmp_path, path, text, f"pin {number}")
    assert previous_pinned_version(Git(tmp_path), "HEAD", path) == previous
