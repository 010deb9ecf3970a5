"""One registry for every finding id: the pipeline's own and the policy rules, each explained.

`mlops rules explain ID` works for every id a finding can carry, mlops.yaml may only configure ids
the registry has, and a test ties every id the code emits to the registry.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import mlops
from mlops import policies
from mlops.cli import main
from mlops.policies import all_rules, families, rule_ids
from repo_builder import DEPLOYMENT, simple_repo

PACKAGE = Path(mlops.__file__).parent


def _emitted_ids() -> set[str]:
    """Literal rule ids the code passes to Finding(...) or YamlProblem(...), or keeps in *_RULE* constants."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("Finding", "YamlProblem"):
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(
                    node.value.value, str):
                names = [target.id for target in node.targets if isinstance(target, ast.Name)]
                if any(name.endswith(("_RULE", "_RULE_ID")) or name.startswith("RULE_") for name in names):
                    found.add(node.value.value)
    return found


def test_every_id_the_code_emits_is_in_the_registry() -> None:
    emitted = _emitted_ids()
    assert {"schema", "schema-missing", "render", "yaml-syntax", "waiver-reason", "rule-crashed"} <= emitted
    assert sorted(emitted - rule_ids()) == []


def test_every_rule_family_module_is_registered() -> None:
    registered = {module.__name__ for module in families()}
    for info in pkgutil.iter_modules(policies.__path__):
        module = importlib.import_module(f"{policies.__name__}.{info.name}")
        if getattr(module, "RULES", None):
            assert module.__name__ in registered, f"{module.__name__} defines RULES but is not in FAMILY_NAMES"


@pytest.mark.parametrize("rule_id", sorted(rule.id for rule in all_rules()))
def test_every_id_is_explained(rule_id: str) -> None:
    result = CliRunner().invoke(main, ["rules", "explain", rule_id])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{rule_id}: ") and "Fix: " in result.stdout


def test_pipeline_ids_are_listed_and_cannot_be_waived() -> None:
    listing = json.loads(CliRunner().invoke(main, ["rules", "--output", "json"]).stdout)
    entry = next(rule for rule in listing if rule["id"] == "schema-missing")
    assert entry["appliesTo"].endswith("(the validation pipeline)")
    assert "Waive on one object" not in CliRunner().invoke(main, ["rules", "explain", "schema"]).stdout


def test_an_unknown_rule_id_in_mlops_yaml_is_bad_input_with_its_line(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path / "repo", {"deployment.yaml": DEPLOYMENT})
    config = repo / "mlops.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "rules:\n  image-digest: {severity: warning}\n"
                      "  not-a-rule: {severity: info}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo)])
    assert result.exit_code == 2
    assert result.stderr.startswith("mlops: mlops.yaml:8: rules: unknown rule id 'not-a-rule'")


def test_an_unknown_rule_id_is_refused_after_a_run_the_cache_kept(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A kept run answers only the mlops.yaml it checked: a new typo misses the cache and is refused."""
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))
    repo = simple_repo(tmp_path / "repo", {"deployment.yaml": DEPLOYMENT})
    assert CliRunner().invoke(main, ["validate", "--repo", str(repo)]).exit_code == 1  # its findings
    assert [path for path in (tmp_path / "cache" / "runs").rglob("*") if path.is_file()], "the run was not kept"
    config = repo / "mlops.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "rules:\n  not-a-rule: {severity: info}\n",
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo)])
    assert result.exit_code == 2 and "unknown rule id 'not-a-rule'" in result.stderr


def test_mlops_yaml_sets_the_severity_of_a_pipeline_id(tmp_path: Path) -> None:
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
    repo = simple_repo(tmp_path / "repo", {"widget.yaml": widget})
    plain = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--output", "json"])
    assert plain.exit_code == 0 and '"rule": "schema-missing"' in plain.stdout
    config = repo / "mlops.yaml"
    base = config.read_text(encoding="utf-8")
    config.write_text(base + "rules:\n  schema-missing: {severity: error}\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["validate", "--repo", str(repo)]).exit_code == 1
    config.write_text(base + "rules:\n  schema-missing: {enabled: false}\n", encoding="utf-8")
    quiet = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--strict", "--output", "json"])
    assert quiet.exit_code == 0 and '"rule": "schema-missing"' not in quiet.stdout
