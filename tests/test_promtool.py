"""The repository's own alerts: promtool unit tests pass, and test exactly what Argo CD deploys.

`base/monitoring` ships the alerts as a PrometheusRule (what Argo CD applies) and as a plain
Prometheus rules file (what `promtool test rules` reads, since promtool does not understand
Kubernetes objects). The unit tests under `base/monitoring/tests/` name the plain file in
`rule_files`. The first test keeps the two copies identical, so the unit tests can never pass on
rules that are not the deployed ones; the second runs promtool when it is installed (CI installs
the Debian package `prometheus`, which ships it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

MONITORING = Path("base/monitoring")
TESTS = MONITORING / "tests"


def _documents(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _prometheus_rule_groups(root: Path) -> tuple[list[Any], list[str]]:
    """spec.groups of every PrometheusRule in base/monitoring (outside tests/), in file order."""
    groups: list[Any] = []
    sources: list[str] = []
    for path in _yaml_files(root / MONITORING):
        if TESTS in path.relative_to(root).parents:
            continue
        for document in _documents(path):
            if isinstance(document, dict) and document.get("kind") == "PrometheusRule":
                groups.extend((document.get("spec") or {}).get("groups") or [])
                sources.append(f"{path.relative_to(root)} ({document['metadata']['name']})")
    return groups, sources


def _unit_tests(root: Path) -> list[Path]:
    """promtool test files: YAML under base/monitoring/tests with `rule_files` and `tests`."""
    found = []
    for path in _yaml_files(root / TESTS) if (root / TESTS).is_dir() else []:
        documents = _documents(path)
        if len(documents) == 1 and isinstance(documents[0], dict) and {"rule_files", "tests"} <= documents[0].keys():
            found.append(path)
    return found


def _rule_files(test_file: Path) -> list[Path]:
    """The plain rules files a promtool test reads (relative to the test file, as promtool does)."""
    names = _documents(test_file)[0]["rule_files"]
    return [(test_file.parent / name).resolve() for name in names]


def _first_difference(expected: list[Any], actual: list[Any]) -> str:
    """Where two lists of rule groups first differ, as group/rule/field."""
    names = [g.get("name") if isinstance(g, dict) else g for g in expected]
    other = [g.get("name") if isinstance(g, dict) else g for g in actual]
    if names != other:
        return f"group names differ: PrometheusRule {names} vs rules file {other}"
    for group, mirror in zip(expected, actual, strict=True):
        rules, mirrored = group.get("rules") or [], mirror.get("rules") or []
        for index, (rule, copy) in enumerate(zip(rules, mirrored, strict=False)):
            if rule != copy:
                name = rule.get("alert") or rule.get("record")
                fields = sorted(k for k in set(rule) | set(copy) if rule.get(k) != copy.get(k))
                return f"group {group.get('name')!r} rule {index} ({name}) differs in {', '.join(fields)}"
        if len(rules) != len(mirrored):
            return (f"group {group.get('name')!r} has {len(rules)} rules in the PrometheusRule, "
                    f"{len(mirrored)} in the rules file")
        keys = sorted(k for k in set(group) | set(mirror) if k != "rules" and group.get(k) != mirror.get(k))
        if keys:
            return f"group {group.get('name')!r} differs in {', '.join(keys)}"
    return "the groups differ"


@pytest.fixture(scope="module")
def unit_tests(repo_root: Path) -> list[Path]:
    tests = _unit_tests(repo_root)
    assert tests, f"no promtool unit tests (YAML with rule_files and tests) under {TESTS}"
    return tests


def test_rules_file_mirrors_the_prometheus_rule(repo_root: Path, unit_tests: list[Path]) -> None:
    groups, sources = _prometheus_rule_groups(repo_root)
    assert groups, f"no PrometheusRule with spec.groups in {MONITORING}"
    rule_files = sorted({path for test in unit_tests for path in _rule_files(test)})
    assert rule_files, "the promtool unit tests name no rule_files"
    mirrored: list[Any] = []
    for path in rule_files:
        assert path.is_file(), f"{path.relative_to(repo_root)} (named in rule_files) does not exist"
        [document] = _documents(path)
        mirrored.extend(document.get("groups") or [])
    shown = ", ".join(str(p.relative_to(repo_root)) for p in rule_files)
    assert mirrored == groups, (
        f"{shown} must hold exactly the groups of {', '.join(sources)}: {_first_difference(groups, mirrored)}; "
        "copy spec.groups of the PrometheusRule into the rules file")


@pytest.mark.slow  # promtool as a subprocess: see the marker in pyproject.toml
def test_promtool_unit_tests_pass(repo_root: Path, unit_tests: list[Path]) -> None:
    promtool = shutil.which("promtool")
    if promtool is None and os.environ.get("CI") == "true":
        pytest.fail("promtool is not on PATH, and in CI (CI=true) these tests must run: install the Debian "
                    "package prometheus first (.ci/run does)")
    if promtool is None:
        pytest.skip("promtool is not on PATH; install it to run the alert unit tests "
                    "(Debian/Ubuntu: apt-get install prometheus; CI does)")
    for test_file in unit_tests:
        result = subprocess.run([promtool, "test", "rules", test_file.name], cwd=test_file.parent,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, (
            f"promtool test rules {test_file.relative_to(repo_root)} failed:\n{result.stdout}{result.stderr}")
