"""`mlops model add-version` (catalog_edit.add_version): one entry appended, every other byte kept."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from mlops.catalog import load_catalog
from mlops.catalog.edit import add_version
from mlops.config import Config
from mlops.errors import UsageError
from mlops.findings import ExitCode
from policy_helpers import make_config

FRAUD = "models/fraud-detection/model.yaml"
GRANITE = "models/granite-3-3-2b-instruct/model.yaml"
DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.fixture
def repo(tmp_path: Path, repo_root: Path) -> Path:
    shutil.copytree(repo_root / "models", tmp_path / "models")
    return tmp_path


@pytest.fixture
def cfg(repo: Path) -> Config:
    return make_config(repo)


def test_appends_a_version_and_keeps_every_other_byte(repo: Path, cfg: Config) -> None:
    path = repo / FRAUD
    before = path.read_text(encoding="utf-8")
    result = add_version(
        repo, cfg, "fraud-detection", version="1.3.0", uri="s3://mlops-models/fraud-detection/1.3.0/",
        metrics=["auc=0.975", "latency_p95_ms=13", "drift=1e-5"], commit="0a1b2c3d", pipeline_run="train-42",
        dataset="s3://mlops-data/fraud-detection/2025-08.parquet", created="2025-08-01",
    )
    assert result == path
    after = path.read_text(encoding="utf-8")
    block = (
        "  - version: 1.3.0\n"
        "    uri: s3://mlops-models/fraud-detection/1.3.0/\n"
        '    created: "2025-08-01"\n'
        "    metrics:\n"
        "      auc: 0.975\n"
        "      latency_p95_ms: 13\n"
        "      drift: 1.0e-05\n"  # YAML 1.1 readers see a number too
        "    lineage:\n"
        "      commit: 0a1b2c3d\n"
        "      pipelineRun: train-42\n"
        "      dataset: s3://mlops-data/fraud-detection/2025-08.parquet\n"
    )
    split = before.index("\ngates:\n") + 1  # versions end where gates begin
    assert after == before[:split] + block + before[split:]
    assert yaml.safe_load(after)["versions"][-1]["metrics"]["drift"] == 1e-5
    models, findings = load_catalog(repo, cfg)
    assert findings == []
    entry = models["fraud-detection"].version("1.3.0")
    assert entry is not None
    assert entry.metrics == {"auc": 0.975, "latency_p95_ms": 13, "drift": 1e-5}
    assert entry.lineage == {"commit": "0a1b2c3d", "pipelineRun": "train-42",
                             "dataset": "s3://mlops-data/fraud-detection/2025-08.parquet"}
    assert models["fraud-detection"].newest_version().version == "1.3.0"


def test_oci_version_with_digest_and_default_date(repo: Path, cfg: Config) -> None:
    uri = f"oci://registry.example/mlops/modelcar-granite@{DIGEST}"
    add_version(repo, cfg, "granite-3-3-2b-instruct", version="1.2.0-rc.1", uri=uri, digest=DIGEST)
    data = yaml.safe_load((repo / GRANITE).read_text(encoding="utf-8"))
    entry = data["versions"][-1]
    assert entry == {"version": "1.2.0-rc.1", "uri": uri, "digest": DIGEST,
                     "created": datetime.now(UTC).date().isoformat()}


# Two styles other than the template's (mapping 2, sequence 4, offset 2): kubectl's (sequences not
# indented) and a 4-space one. (file text, the block add_version must append)
STYLES = {
    "kubectl": ("""\
# kubectl style: sequences not indented
name: tiny
description: A tiny model.
owners:
- name: Me
  email: me@example.org
format: sklearn
runtime: kserve-sklearnserver
type: predictive
signature:
  inputs:
  - {name: x, datatype: FP64, shape: [-1, 3]}
  outputs:
  - {name: y, datatype: INT64, shape: [-1]}
versions:
- version: 0.1.0   # first
  uri: s3://bucket/tiny/0.1.0
  created: '2025-01-31'
""", """\
- version: 0.2.0
  uri: s3://bucket/tiny/0.2.0
  created: "2025-02-01T09:30:00Z"
  metrics:
    accuracy: 0.9
"""),
    "four-spaces": ("""\
name: tiny
description: A tiny model.
owners:
    - name: Me
      email: me@example.org
format: sklearn
runtime: kserve-sklearnserver
type: predictive
signature:
    inputs:
        - {name: x, datatype: FP64, shape: [-1, 3]}
    outputs:
        - {name: y, datatype: INT64, shape: [-1]}
versions:
    - version: 0.1.0
      uri: s3://bucket/tiny/0.1.0
      created: '2025-01-31'
      metrics:
          accuracy: 0.8
""", """\
    - version: 0.2.0
      uri: s3://bucket/tiny/0.2.0
      created: "2025-02-01T09:30:00Z"
      metrics:
          accuracy: 0.9
"""),
}


@pytest.mark.parametrize("style", sorted(STYLES))
def test_keeps_the_files_own_indentation_style(tmp_path: Path, style: str) -> None:
    text, block = STYLES[style]
    path = tmp_path / "models/tiny/model.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    add_version(tmp_path, make_config(tmp_path), "tiny", version="0.2.0", uri="s3://bucket/tiny/0.2.0",
                metrics=["accuracy=0.9"], created="2025-02-01T09:30:00Z")
    assert path.read_text(encoding="utf-8") == text + block


REFUSED = [
    # (id, model, keyword arguments, words in the message)
    ("duplicate", "fraud-detection", {"version": "1.1.0"}, "already listed"),
    ("semver", "fraud-detection", {"version": "1.3"}, "not a semantic version"),
    ("build-metadata", "fraud-detection", {"version": "1.3.0+git.abc"}, "build metadata"),
    ("oci-without-digest", "granite-3-3-2b-instruct",
     {"uri": "oci://registry.example/mlops/modelcar-granite:1.2.0"}, "without a digest"),
    ("other-scheme", "fraud-detection", {"uri": "https://example.org/model.onnx"}, "neither s3://"),
    ("metric-value", "fraud-detection", {"metrics": ["auc=high"]}, "is not a number"),
    ("metric-pair", "fraud-detection", {"metrics": ["auc"]}, "NAME=NUMBER"),
    ("metric-nan", "fraud-detection", {"metrics": ["auc=nan"]}, "finite"),
    ("metric-twice", "fraud-detection", {"metrics": ["auc=0.9", "auc=0.91"]}, "twice"),
    ("digest", "fraud-detection", {"digest": "sha256:abc"}, "sha256:<64"),
    ("digest-mismatch", "granite-3-3-2b-instruct",
     {"uri": f"oci://registry.example/m@{DIGEST}", "digest": "sha256:" + "f" * 64}, "differs"),
    ("commit", "fraud-detection", {"commit": "main"}, "git commit"),
    ("created", "fraud-detection", {"created": "yesterday"}, "ISO 8601"),
    ("unknown-model", "fraud", {}, "no model 'fraud'"),
    ("path-traversal", "../models/fraud-detection", {}, "no model"),
]


@pytest.mark.parametrize(("model", "options", "words"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refusals_exit_2_name_the_file_and_change_nothing(
    repo: Path, cfg: Config, model: str, options: dict[str, object], words: str
) -> None:
    arguments: dict[str, object] = {"version": "1.3.0", "uri": "s3://mlops-models/fraud-detection/1.3.0/"}
    if model.startswith("granite") and "uri" not in options:
        arguments["uri"] = f"oci://registry.example/m@{DIGEST}"
    arguments.update(options)
    snapshot = {p: p.read_bytes() for p in (repo / "models").rglob("*") if p.is_file()}
    with pytest.raises(UsageError) as caught:
        add_version(repo, cfg, model, **arguments)  # type: ignore[arg-type]
    error = caught.value
    assert error.exit_code is ExitCode.BAD_INPUT
    assert error.file == f"models/{model}/model.yaml"
    assert words in str(error)
    assert "\n" not in error.one_line()
    assert {p: p.read_bytes() for p in (repo / "models").rglob("*") if p.is_file()} == snapshot


def test_duplicate_names_the_line_of_the_existing_version(repo: Path, cfg: Config) -> None:
    with pytest.raises(UsageError) as caught:
        add_version(repo, cfg, "fraud-detection", version="1.2.0", uri="s3://mlops-models/fraud-detection/x/")
    lines = (repo / FRAUD).read_text(encoding="utf-8").splitlines()
    assert caught.value.line is not None
    assert lines[caught.value.line - 1].strip() == "- version: 1.2.0"


def test_an_invalid_catalog_is_not_written(repo: Path, cfg: Config) -> None:
    path = repo / FRAUD
    broken = path.read_text(encoding="utf-8").replace("  test:\n", "  staging:\n")
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        add_version(repo, cfg, "fraud-detection", version="1.3.0", uri="s3://mlops-models/fraud-detection/1.3.0/")
    assert "would be invalid" in str(caught.value) and "staging" in str(caught.value)
    assert caught.value.line is not None
    assert path.read_text(encoding="utf-8") == broken


def test_malformed_catalog_yaml_is_refused_with_its_line(repo: Path, cfg: Config) -> None:
    path = repo / FRAUD
    path.write_text(path.read_text(encoding="utf-8").replace("format: onnx", "format: [onnx"), encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        add_version(repo, cfg, "fraud-detection", version="1.3.0", uri="s3://mlops-models/fraud-detection/1.3.0/")
    assert caught.value.file == FRAUD
    assert caught.value.line is not None


def test_write_is_atomic_and_keeps_permissions(repo: Path, cfg: Config) -> None:
    path = repo / FRAUD
    os.chmod(path, 0o640)
    add_version(repo, cfg, "fraud-detection", version="1.3.0", uri="s3://mlops-models/fraud-detection/1.3.0/")
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        p.name for p in (Path(__file__).parent.parent / "models/fraud-detection").iterdir())


@pytest.mark.parametrize("ending", ["block", "flow"])
def test_comments_before_the_next_key_stay_before_it(tmp_path: Path, ending: str) -> None:
    last = ("  metrics:\n    accuracy: 0.8  # on holdout\n" if ending == "block"
            else "  metrics: {accuracy: 0.8}  # on holdout\n")
    head = STYLES["kubectl"][0] + last + "# - version: 0.1.1   withdrawn, kept for the record\n"
    tail = "\n# Who must approve, per environment.\ngates:\n  dev: {}\n"
    path = tmp_path / "models/tiny/model.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(head + tail, encoding="utf-8")
    add_version(tmp_path, make_config(tmp_path), "tiny", version="0.2.0", uri="s3://bucket/tiny/0.2.0",
                metrics=["accuracy=0.9"], created="2025-02-01T09:30:00Z")
    assert path.read_text(encoding="utf-8") == head + STYLES["kubectl"][1] + tail
