"""`mlops validate`: schema findings name the source file, object and JSON path; bad input is one line."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mlops.cli import main
from repo_builder import DEPLOYMENT, INFERENCE_SERVICE, NOTEBOOK, simple_repo, write


@pytest.fixture(autouse=True)
def _offline_schemas(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)  # the built-in catalog answers
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))


def run(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["validate", "--repo", str(repo), "--no-policies", *args])


def findings(repo: Path, *args: str) -> tuple[int, list[dict[str, object]]]:
    result = run(repo, "--output", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)["findings"]


def test_valid_repository_exits_zero(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT, "isvc.yaml": INFERENCE_SERVICE, "nb.yaml": NOTEBOOK})
    result = run(repo)
    assert result.exit_code == 0, result.output
    assert "no findings" in result.stdout


BROKEN = [
    # (file, original text, broken text, JSON path, words in the message)
    ("isvc.yaml", INFERENCE_SERVICE, INFERENCE_SERVICE.replace("storageUri", "storageURI"),
     "spec.predictor.model.storageURI", "unknown field"),
    ("isvc.yaml", INFERENCE_SERVICE, INFERENCE_SERVICE.replace("minReplicas: 1", "minReplicas: two"),
     "spec.predictor.minReplicas", "integer"),
    ("isvc.yaml", INFERENCE_SERVICE, INFERENCE_SERVICE.split("  predictor:")[0] + "  {}\n",
     "spec", "missing required field 'predictor'"),
    ("nb.yaml", NOTEBOOK, NOTEBOOK.replace("name: notebook-port", "nme: notebook-port"),
     "spec.template.spec.containers[0].ports[0].nme", "unknown field"),
    ("nb.yaml", NOTEBOOK, NOTEBOOK.replace("containerPort: 8888", 'containerPort: "8888"'),
     "spec.template.spec.containers[0].ports[0].containerPort", "integer"),
    ("nb.yaml", NOTEBOOK, NOTEBOOK.replace("- name: lab\n", "- imagePullPolicy: Always\n"),
     "spec.template.spec.containers[0]", "missing required field 'name'"),
    ("deploy.yaml", DEPLOYMENT, DEPLOYMENT.replace("replicas: 1", "replica: 1"), "spec.replica", "unknown field"),
    ("deploy.yaml", DEPLOYMENT, DEPLOYMENT.replace("replicas: 1", "replicas: one"), "spec.replicas", "integer"),
    ("deploy.yaml", DEPLOYMENT, DEPLOYMENT.replace("  selector:\n    matchLabels: {app: web}\n", ""),
     "spec", "missing required field 'selector'"),
]


@pytest.mark.parametrize(("file", "original", "broken", "path", "words"), BROKEN,
                         ids=[f"{b[0]}:{b[3]}:{b[4]}" for b in BROKEN])
def test_schema_errors_name_file_object_and_path(
    tmp_path: Path, file: str, original: str, broken: str, path: str, words: str
) -> None:
    assert broken != original
    repo = simple_repo(tmp_path, {file: broken})
    code, found = findings(repo)
    assert code == 1
    errors = [f for f in found if f["severity"] == "error"]
    assert len(errors) == 1, errors
    finding = errors[0]
    assert finding["rule"] == "schema"
    assert finding["file"] == f"base/{file}"
    assert finding["path"] == path
    assert words in str(finding["message"])
    assert finding["environment"] == "dev"
    kind = {"isvc.yaml": "InferenceService", "nb.yaml": "Notebook", "deploy.yaml": "Deployment"}[file]
    assert finding["object"] == {
        "kind": kind, "name": broken.split("name: ")[1].split("\n")[0], "namespace": "ml-dev",
        "apiVersion": broken.split("apiVersion: ")[1].split("\n")[0],
    }
    # The line points into the source file at (or above) the offending field.
    line = finding["line"]
    assert isinstance(line, int)
    assert 1 <= line <= len(broken.splitlines())
    last_key = path.rsplit(".", 1)[-1].split("[")[0]
    if not path.endswith("]"):
        assert last_key in broken.splitlines()[line - 1]


def test_text_output_has_file_line_and_path(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"isvc.yaml": INFERENCE_SERVICE.replace("storageUri", "storageURI")})
    result = run(repo)
    assert result.exit_code == 1
    assert "base/isvc.yaml:12:" in result.stdout
    assert "spec.predictor.model.storageURI" in result.stdout
    assert "InferenceService/ml-dev/model" in result.stdout


def test_misspelt_top_level_field_of_custom_resource(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"isvc.yaml": INFERENCE_SERVICE + "specc: {}\n"})
    code, found = findings(repo)
    assert code == 1
    assert [(f["path"], f["message"]) for f in found] == [("specc", "unknown top-level field 'specc'")]


def test_custom_resource_metadata_is_checked(tmp_path: Path) -> None:
    broken = INFERENCE_SERVICE.replace("  name: model\n", "  name: model\n  lables: {}\n")
    repo = simple_repo(tmp_path, {"isvc.yaml": broken})
    code, found = findings(repo)
    assert code == 1
    assert found[0]["path"] == "metadata.lables"


def test_kind_without_schema_is_a_warning_and_an_error_when_strict(tmp_path: Path) -> None:
    unknown = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {}\n"
    repo = simple_repo(tmp_path, {"w.yaml": unknown, "w2.yaml": unknown.replace("name: w", "name: w2")})
    code, found = findings(repo)
    assert code == 0
    assert [f["rule"] for f in found] == ["schema-missing"]  # one per kind, not one per object
    assert "2 object(s)" in str(found[0]["message"])
    assert run(repo, "--strict").exit_code == 1


def test_environment_selection(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT}, environments=("dev", "prod"))
    write(repo, {"overlays/prod/kustomization.yaml": "namespace: ml-prod\nresources: [../../base, bad.yaml]\n",
                 "overlays/prod/bad.yaml": DEPLOYMENT.replace("name: web", "name: bad").replace("replicas: 1",
                                                                                              "replicas: x")})
    assert run(repo, "dev").exit_code == 0
    code, found = findings(repo, "prod")
    assert code == 1 and {f["environment"] for f in found} == {"prod"}
    code, found = findings(repo)
    assert code == 1 and {f["file"] for f in found} == {"overlays/prod/bad.yaml"}


# --- bad input: each gives exit 1 (findings) or 2 (unusable input), one line, file (and line) ---


def one_line_error(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_malformed_yaml_in_a_base(tmp_path: Path) -> None:
    broken = DEPLOYMENT.replace("matchLabels: {app: web}", "matchLabels: {app: web")
    repo = simple_repo(tmp_path, {"deploy.yaml": broken})
    code, found = findings(repo)
    assert code == 1
    assert [(f["rule"], f["file"], f["line"]) for f in found] == [("yaml-syntax", "base/deploy.yaml", 9)]


def test_duplicate_key(tmp_path: Path) -> None:
    broken = DEPLOYMENT.replace("  replicas: 1\n", "  replicas: 1\n  replicas: 2\n")
    repo = simple_repo(tmp_path, {"deploy.yaml": broken})
    code, found = findings(repo)
    assert code == 1
    assert [(f["rule"], f["file"], f["line"]) for f in found] == [("yaml-duplicate-key", "base/deploy.yaml", 7)]


def test_kustomization_names_a_missing_file(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT})
    write(repo, {"base/kustomization.yaml": "resources:\n  - deploy.yaml\n  - missing.yaml\n"})
    code, found = findings(repo)
    assert code == 1
    assert [(f["rule"], f["file"], f["line"]) for f in found] == [("kustomize-reference", "base/kustomization.yaml", 3)]
    assert "missing.yaml" in str(found[0]["message"])


@pytest.mark.parametrize("missing", ["apiVersion", "kind"])
def test_document_without_api_version_or_kind(tmp_path: Path, missing: str) -> None:
    text = "\n".join(line for line in DEPLOYMENT.splitlines() if not line.startswith(missing)) + "\n"
    repo = simple_repo(tmp_path, {"deploy.yaml": text})
    code, found = findings(repo)
    assert code == 1
    assert [(f["rule"], f["file"]) for f in found] == [("object-shape", "base/deploy.yaml")]
    assert missing in str(found[0]["message"])


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT})
    path = repo / "base/deploy.yaml"
    path.write_bytes(path.read_bytes().replace(b"name: web\n", b"name: web\n  annotations: {a: \"\xff\xfe\"}\n", 1))
    code, found = findings(repo)
    assert code == 1
    assert [(f["rule"], f["file"], f["line"]) for f in found] == [("yaml-encoding", "base/deploy.yaml", 5)]


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: bomb", "data:",
             '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"  {name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    repo = simple_repo(tmp_path, {"bomb.yaml": "\n".join(lines) + "\n"})
    started = time.monotonic()
    code, found = findings(repo)
    elapsed = time.monotonic() - started
    assert code == 1
    assert [(f["rule"], f["file"]) for f in found] == [("yaml-alias-bomb", "base/bomb.yaml")]
    assert elapsed < 30  # kustomize itself would take minutes and gigabytes; this is a guard, not a benchmark


def test_overlay_that_reaches_outside_the_repository(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path / "repo", {"deploy.yaml": DEPLOYMENT})
    write(tmp_path, {"elsewhere/kustomization.yaml": "resources: [cm.yaml]\n",
                     "elsewhere/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"})
    write(repo, {"overlays/dev/kustomization.yaml": "resources:\n  - ../../base\n  - ../../../elsewhere\n"})
    code, found = findings(repo)
    assert code == 1
    expected = [("kustomize-reference", "overlays/dev/kustomization.yaml", 3)]
    assert [(f["rule"], f["file"], f["line"]) for f in found] == expected
    assert "outside the repository" in str(found[0]["message"])


def test_unknown_environment_name(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT})
    result = run(repo, "staging")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "mlops.yaml" in line and "'staging'" in line and "dev" in line


def test_unreadable_schema_location(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT})
    result = run(repo, "--schema-location", str(tmp_path / "no-such-folder"))
    assert result.exit_code == 2
    assert "no-such-folder" in one_line_error(result)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_schema_location_without_permission(tmp_path: Path) -> None:  # pragma: no cover - CI runs as root
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT})
    locked = tmp_path / "locked"
    locked.mkdir(mode=0)
    result = run(repo, "--schema-location", str(locked))
    assert result.exit_code == 2


def test_schema_file_that_is_not_json(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"isvc.yaml": INFERENCE_SERVICE})
    write(tmp_path, {"myschemas/serving.kserve.io/inferenceservice_v1beta1.json": "{not json\n"})
    result = run(repo, "--schema-location", str(tmp_path / "myschemas"))
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "inferenceservice_v1beta1.json:1:" in line and "not JSON" in line


def test_missing_config(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert "mlops.yaml" in one_line_error(result)


def test_bad_config_names_its_line(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path, {"deploy.yaml": DEPLOYMENT})
    (repo / "mlops.yaml").write_text('environments:\n  - name: dev\n    namespace: x\n    path: overlays/nope\n')
    result = run(repo)
    assert result.exit_code == 2
    assert one_line_error(result).startswith("mlops: mlops.yaml:4: ")
