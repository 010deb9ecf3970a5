"""Put a known defect back into a copy of the template and see what `mlops validate` says about it.

Every fix of the template that upstream controller source motivated has a test that undoes it in a
copy (`reintroduce`), runs the real command line on the copy, and checks the finding: its rule,
object, file and line. The copy uses the built-in schema catalog only (nothing here reads
`../shared`); errors and warnings come from the defect alone.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from mlops.cli import main
from repo_builder import copy_template

ROOT = Path(__file__).resolve().parent.parent


@cache
def shared_cache() -> Path:
    """One render and run cache for every copy of the template in this process (each xdist worker).

    The caches are keyed by repository-relative paths and content hashes, so a root the defect
    did not touch is served from the copy before, exactly as kustomize rendered it; only the
    roots that read the changed file are rendered again. That is what makes a copy cheap to check.
    """
    folder = Path(tempfile.mkdtemp(prefix="mlops-template-cache-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def template(tmp_path: Path) -> Path:
    return copy_template(ROOT, tmp_path / "template")


def reintroduce(repo: Path, file: str, old: str, new: str) -> int:
    """Replace `old` (which must be in the file, once) by `new`; return the line `new` starts on."""
    path = repo / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{file} no longer holds the text this test edits: {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


def line_of(repo: Path, file: str, text: str) -> int:
    """Line (1-based) of the first line of `text` in a file of the copy."""
    content = (repo / file).read_text(encoding="utf-8")
    assert text in content, f"{text!r} not in {file}"
    return content[:content.index(text)].count("\n") + 1


def validate(repo: Path, *targets: str, strict: bool = False) -> tuple[int, list[dict[str, Any]]]:
    """Exit code and findings of `mlops validate --offline --output json` (and `--strict`) on the copy."""
    env = {"MLOPS_OFFLINE": "1", "MLOPS_CACHE_DIR": str(shared_cache()), "MLOPS_SCHEMA_LOCATION": None}
    options = ["--strict"] if strict else []
    result = CliRunner(env=env).invoke(main, ["validate", *targets, "--repo", str(repo), "--output", "json", *options])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)["findings"]


def errors(findings: list[dict[str, Any]], rule: str | None = None) -> list[dict[str, Any]]:
    return [f for f in findings if f["severity"] == "error" and not f["waived"] and (rule is None or f["rule"] == rule)]


def only_error(findings: list[dict[str, Any]], rule: str) -> dict[str, Any]:
    """The defect's error and nothing else: every other error would be a false alarm on the template."""
    found = errors(findings)
    assert [f["rule"] for f in found] == [rule], [(f["rule"], f["message"]) for f in found]
    return found[0]


def names(finding: dict[str, Any]) -> str:
    obj = finding["object"]
    assert obj is not None, finding
    where = f"{obj['namespace']}/" if obj.get("namespace") else ""
    return f"{obj['kind']}/{where}{obj['name']}"
