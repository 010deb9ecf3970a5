"""`mlops validate --changed [REF]`: the targets whose inputs differ, and those the cross-target rules need."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mlops import config as config_module
from mlops.changed import changed_targets, cross_target_rules
from mlops.check import schema_store as _schema_store
from mlops.cli import main
from mlops.findings import Finding, Severity
from mlops.kustomize import find_engine
from mlops.validate import ValidationRun, run_validation
from repo_builder import DEPLOYMENT, write

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is required")

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  level: one\n"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)
    monkeypatch.setenv("MLOPS_OFFLINE", "1")
    for name, value in (("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@example.com"),
                        ("GIT_COMMITTER_NAME", "t"), ("GIT_COMMITTER_EMAIL", "t@example.com")):
        monkeypatch.setenv(name, value)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def repository(tmp_path: Path) -> Path:
    """dev, test, prod over one base, a platform target; committed on main, then a branch."""
    environments = "".join(f"  - name: {env}\n    path: overlays/{env}\n    namespace: ml-{env}\n"
                           for env in ("dev", "test", "prod"))
    files = {
        "mlops.yaml": f'kubernetesVersion: "1.33"\nenvironments:\n{environments}'
                      "targets:\n  - name: platform\n    path: platform\n",
        "base/kustomization.yaml": "resources:\n  - deploy.yaml\n",
        "base/deploy.yaml": DEPLOYMENT,
        "platform/kustomization.yaml": "resources:\n  - settings.yaml\n",
        "platform/settings.yaml": CONFIGMAP,
        "README.md": "notes\n",
    }
    for env in ("dev", "test", "prod"):
        files[f"overlays/{env}/kustomization.yaml"] = (f"namespace: ml-{env}\nresources:\n  - ../../base\n"
                                                       "  - settings.yaml\n")
        files[f"overlays/{env}/settings.yaml"] = CONFIGMAP
    repo = write(tmp_path / "repo", files)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "start")
    git(repo, "switch", "-qc", "change")
    return repo


def chosen(repo: Path, ref: str | None = None) -> list[str]:
    return [target.name for target in changed_targets(config_module.load(repo), ref)]


def test_nothing_changed_chooses_nothing(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    assert chosen(repo) == []
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--changed", "--output", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["environments"] == [] and summary["objects_checked"] == 0


def test_an_environment_chooses_itself_and_the_environments_after_it(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    write(repo, {"overlays/test/kustomization.yaml": "namespace: ml-test\nresources:\n  - ../../base\n"
                                                     "commonLabels: {team: ml}\n"})
    assert chosen(repo) == ["test", "prod"]
    write(repo, {"overlays/dev/kustomization.yaml": "namespace: ml-dev\nresources:\n  - ../../base\n"
                                                    "commonLabels: {team: ml}\n"})
    assert chosen(repo) == ["dev", "test", "prod"]


def test_committed_staged_and_unstaged_changes_count_against_the_merge_base(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    write(repo, {"overlays/prod/kustomization.yaml": "namespace: ml-prod\nresources:\n  - ../../base\n"
                                                     "commonLabels: {team: ml}\n"})
    git(repo, "commit", "-qam", "prod label")
    git(repo, "switch", "-q", "main")
    write(repo, {"README.md": "main moved on\n"})
    git(repo, "commit", "-qam", "main moves")
    git(repo, "switch", "-q", "change")
    assert chosen(repo) == ["prod"]  # README.md changed on main after the merge base: not this branch's change
    assert chosen(repo, "HEAD") == []  # compared with HEAD itself, nothing differs


def test_a_shared_base_chooses_every_target_that_reads_it(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    write(repo, {"base/deploy.yaml": DEPLOYMENT.replace("replicas: 1", "replicas: 2")})
    assert chosen(repo) == ["dev", "test", "prod"]


def test_a_target_that_is_not_an_environment_chooses_everything(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    write(repo, {"platform/settings.yaml": CONFIGMAP.replace("one", "two")})
    assert chosen(repo) == ["dev", "test", "prod", "platform"]


@pytest.mark.parametrize("change", ["mlops.yaml", "added", "deleted", "catalog"])
def test_changes_every_rule_may_read_choose_everything(tmp_path: Path, change: str) -> None:
    repo = repository(tmp_path)
    if change == "mlops.yaml":
        write(repo, {"mlops.yaml": (repo / "mlops.yaml").read_text() + "rules: {}\n"})
    elif change == "added":
        write(repo, {"docs/notes.txt": "a new folder: Argo CD's generators see folders\n"})
    elif change == "deleted":
        (repo / "README.md").unlink()
    else:
        write(repo, {"models/m/model.yaml": "name: m\n"})
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "a catalog entry")
        write(repo, {"models/m/model.yaml": "name: m\nversions: []\n"})
        assert git(repo, "status", "--porcelain").strip() == "M models/m/model.yaml"
    assert chosen(repo, "HEAD" if change == "catalog" else None) == ["dev", "test", "prod", "platform"]


def test_a_file_no_rule_reads_chooses_nothing(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    write(repo, {"README.md": "more notes\n"})
    assert chosen(repo) == []


def test_findings_of_chosen_targets_and_repository_wide_ones_are_reported(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    write(repo, {"overlays/prod/settings.yaml": CONFIGMAP + "  password: Xy7#kQ2!mZ9wL4pR\n"})
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--changed", "--output", "json"])
    document = json.loads(result.stdout)
    assert document["summary"]["environments"] == ["prod"]
    found = {(finding["rule"], finding["environment"]) for finding in document["findings"]}
    assert ("credential-in-file", None) in found and ("container-resources", "prod") in found
    assert not any(environment in ("dev", "test") for _, environment in found)


def test_rules_reported_for_every_target_keep_findings_about_other_targets(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    cfg = config_module.load(repo)

    def policies(_: ValidationRun) -> list[Finding]:
        return [Finding(rule, Severity.ERROR, "about test", environment="test") for rule in ("across", "within")]

    store = _schema_store(cfg, (), None, offline=True)
    run = run_validation(cfg, cfg.select(["prod"]), find_engine(), store, policies, also_report=frozenset({"across"}))
    assert [(f.rule, f.environment) for f in run.findings if f.message == "about test"] == [("across", "test")]


def test_a_repository_without_commits_validates_everything(tmp_path: Path) -> None:
    repo = write(tmp_path / "fresh", {"mlops.yaml": 'environments:\n  - name: dev\n    path: overlays/dev\n',
                                      "overlays/dev/kustomization.yaml": "resources:\n  - settings.yaml\n",
                                      "overlays/dev/settings.yaml": CONFIGMAP})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    assert chosen(repo) == ["dev"]
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--changed"])
    assert result.exit_code == 0, result.output
    assert "across dev" in result.stdout


def test_a_revision_that_does_not_exist_is_bad_input(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--changed", "no-such-branch"])
    assert result.exit_code == 2
    assert "no-such-branch" in result.stderr


def test_environments_and_changed_exclude_each_other(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    result = CliRunner().invoke(main, ["validate", "dev", "--repo", str(repo), "--changed"])
    assert result.exit_code == 2
    assert "--changed" in result.stderr


def test_cross_target_rules_are_the_repository_wide_ones() -> None:
    rules = cross_target_rules()
    assert {"argocd-project-kinds", "argocd-single-owner", "hardware-profile-exists"} <= rules
    assert "container-resources" not in rules and "schema" not in rules


def test_the_pre_commit_hook_validates_what_changed(repo_root: Path) -> None:
    (hook,) = yaml.safe_load((repo_root / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["entry"].split()[:3] == ["mlops", "validate", "--changed"]
