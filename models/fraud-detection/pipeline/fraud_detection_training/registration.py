"""Recording a version in the GitOps repository's catalog: choosing its number, opening the pull request.

The catalog in Git is the record of every version, so picking the next version number and adding
the entry (with the repository's own `mlops model add-version --pull-request`) both work on a
clone of the repository. Step functions, self-contained for KFP (see the package docstring).
"""

from typing import Any


def next_version(catalog_path: str, requested: str = "") -> str:
    """The version to publish: `requested` if given, else the next minor after the catalog's newest.

    A version number is never reused, so a requested version already in the catalog is refused
    here, before anything is uploaded. Pre-release versions count by their MAJOR.MINOR.PATCH.
    """
    import re

    import yaml

    with open(catalog_path, encoding="utf-8") as handle:
        catalog = yaml.safe_load(handle) or {}
    listed = [str(entry.get("version")) for entry in catalog.get("versions") or [] if isinstance(entry, dict)]
    pattern = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?")
    if requested:
        if not pattern.fullmatch(requested):
            raise ValueError(f"version {requested!r} is not a semantic version MAJOR.MINOR.PATCH (e.g. 1.3.0)")
        if requested in listed:
            raise ValueError(f"version {requested} is already in {catalog_path}; a version number is never reused")
        return requested
    cores = [tuple(int(part) for part in match.groups()) for match in map(pattern.fullmatch, listed) if match]
    if not cores:
        return "1.0.0"
    major, minor, _ = max(cores)
    return f"{major}.{minor + 1}.0"


def add_version_command(model_name: str, version: str, uri: str, digest: str, metrics: dict[str, Any], commit: str = "",
                        pipeline_run: str = "", dataset: str = "", pull_request: bool = True,
                        base: str = "") -> list[str]:
    """The `mlops model add-version` command line that records a trained version in the catalog.

    Built in one place so that what the local run prints and what the pipeline's register step
    runs cannot drift apart. Empty lineage fields are left out rather than passed empty; `base`
    is the branch the pull request targets (mlops' default, main, when empty).
    """
    command = ["mlops", "model", "add-version", model_name, "--version", version, "--uri", uri]
    if digest:
        command += ["--digest", digest]
    for name in ("auc", "precision", "recall", "latency_p95_ms"):
        if name in metrics:
            command += ["--metric", f"{name}={metrics[name]}"]
    for option, value in (("--commit", commit), ("--pipeline-run", pipeline_run), ("--dataset", dataset)):
        if value:
            command += [option, value]
    if pull_request:
        command.append("--pull-request")
        if base:
            command += ["--base", base]
    return command


def clone_repository(repo_url: str, branch: str, destination: str, shallow: bool = False) -> str:
    """Clone `branch` of `repo_url` into `destination`; returns the commit checked out.

    The GitHub token is read from the environment (GITHUB_TOKEN, set from a Secret) by a
    credential helper at the moment git asks for it: it never appears in a URL, a log line or a
    file. The helper is kept in the clone's configuration so that later pushes (mlops
    --pull-request) authenticate the same way.
    """
    import subprocess

    helper = '!f() { echo username=x-access-token; echo "password=${GITHUB_TOKEN}"; }; f'
    command = ["git", "-c", "credential.helper=", "-c", f"credential.helper={helper}", "clone", "--quiet",
               "--single-branch", "--branch", branch]
    if shallow:
        command += ["--depth", "1"]
    subprocess.run([*command, repo_url, destination], check=True)
    subprocess.run(["git", "-C", destination, "config", "credential.helper", helper], check=True)
    result = subprocess.run(["git", "-C", destination, "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True)
    return result.stdout.strip()


def resolve_version(repo_url: str, base_branch: str, model_name: str, requested: str, workdir: str) -> str:
    """Clone the GitOps repository and pick the version to publish from its catalog (see next_version).

    Runs before the upload, because the version is part of the artifact's location.
    """
    from pathlib import Path

    clone = str(Path(workdir) / "repository")
    clone_repository(repo_url, base_branch, clone, shallow=True)
    return next_version(str(Path(clone) / "models" / model_name / "model.yaml"), requested)


def register_version(repo_url: str, base_branch: str, workdir: str, model_name: str, version: str, uri: str,
                     digest: str, metrics: dict[str, Any], dataset: str, pipeline_run: str,
                     code_commit: str = "") -> str:
    """Record the published version in the catalog by pull request, with the repository's own tool.

    Clones the base branch, installs `mlops` from the clone (so the catalog is edited by the
    version of the tool that validates it), and runs `mlops model add-version ... --pull-request`.
    Without `code_commit` the lineage names the base branch's head, the closest known commit.
    Exit 2 of mlops is bad input (ValueError), 3 a GitHub or git failure (RuntimeError).
    Returns the tool's output.
    """
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    clone = str(Path(workdir) / "repository")
    head = clone_repository(repo_url, base_branch, clone)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "./"], cwd=clone, check=True)
    command = add_version_command(model_name, version, uri, digest, metrics, commit=code_commit or head,
                                  pipeline_run=pipeline_run, dataset=dataset, pull_request=True,
                                  base=base_branch)
    command[0] = shutil.which("mlops") or str(Path(sys.executable).with_name("mlops"))
    environment = dict(os.environ)
    for variable, value in (("GIT_AUTHOR_NAME", "fraud-detection training pipeline"),
                            ("GIT_COMMITTER_NAME", "fraud-detection training pipeline"),
                            ("GIT_AUTHOR_EMAIL", "mlops-pipeline@users.noreply.github.com"),
                            ("GIT_COMMITTER_EMAIL", "mlops-pipeline@users.noreply.github.com")):
        environment.setdefault(variable, value)
    result = subprocess.run(command, cwd=clone, env=environment, capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    print(output)
    if result.returncode == 2:
        raise ValueError(f"mlops model add-version refused the input (exit 2):\n{output}")
    if result.returncode != 0:
        raise RuntimeError(f"mlops model add-version failed (exit {result.returncode}, 3 = GitHub or git):\n{output}")
    return output
