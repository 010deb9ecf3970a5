"""Recording a version in the GitOps repository's catalog: choosing its number, opening the pull request.

The catalog in Git is the record of every version, so picking the next version number and adding
the entry (with the repository's own `mlops model add-version --pull-request`) both work on a
clone of the repository. A version also counts as taken while its registration branch exists or
its upload location holds objects (resolve_version). Step functions, self-contained for KFP (see
the package docstring).
"""

from typing import Any

from .upload import uploaded_versions


def next_version(catalog_path: str, requested: str = "", taken: dict[str, list[str]] | None = None,
                 catalog_name: str = "") -> str:
    """The version to publish: `requested` if free, else the next minor after the newest taken version.

    A version number is never reused. Taken are (a) the versions in the catalog at `catalog_path`
    (called `catalog_name` in messages, default the path) and the versions in `taken`, which maps
    a version taken outside the catalog to why (see resolve_version). Choosing above the newest
    taken version, not just above the catalog's, keeps the numbers rising while a registration is
    still unmerged. A requested version that is taken is refused here, before anything is
    uploaded, with every reason that holds. Pre-release versions count by their MAJOR.MINOR.PATCH.
    """
    import re

    import yaml

    with open(catalog_path, encoding="utf-8") as handle:
        catalog = yaml.safe_load(handle) or {}
    listed = [str(entry.get("version")) for entry in catalog.get("versions") or [] if isinstance(entry, dict)]
    reasons: dict[str, list[str]] = {}
    for version in listed:
        reasons.setdefault(version, []).append(f"(a) it is already in the catalog {catalog_name or catalog_path}")
    for version, why in (taken or {}).items():
        reasons.setdefault(version, []).extend(why)
    pattern = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?")
    if requested:
        if not pattern.fullmatch(requested):
            raise ValueError(f"version {requested!r} is not a semantic version MAJOR.MINOR.PATCH (e.g. 1.3.0)")
        if requested in reasons:
            raise ValueError(f"version {requested} is taken: {'; '.join(reasons[requested])}. A version number is "
                             "never reused: request another version, or leave it empty for the next free one")
        return requested
    cores = [tuple(int(part) for part in match.groups()) for match in map(pattern.fullmatch, reasons) if match]
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


def git_credential_helper() -> str:
    """The git credential helper that answers with the GitHub token in GITHUB_TOKEN (set from a Secret).

    Git runs it at the moment it needs credentials, so the token never appears in a URL, a log
    line or a file.
    """
    return '!f() { echo username=x-access-token; echo "password=${GITHUB_TOKEN}"; }; f'


def clone_repository(repo_url: str, branch: str, destination: str, shallow: bool = False) -> str:
    """Clone `branch` of `repo_url` into `destination`; returns the commit checked out.

    Authenticates with git_credential_helper, which is kept in the clone's configuration so that
    later pushes (mlops --pull-request) authenticate the same way.
    """
    import subprocess

    helper = git_credential_helper()
    command = ["git", "-c", "credential.helper=", "-c", f"credential.helper={helper}", "clone", "--quiet",
               "--single-branch", "--branch", branch]
    if shallow:
        command += ["--depth", "1"]
    subprocess.run([*command, repo_url, destination], check=True)
    subprocess.run(["git", "-C", destination, "config", "credential.helper", helper], check=True)
    result = subprocess.run(["git", "-C", destination, "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True)
    return result.stdout.strip()


def registration_branch_versions(repo_url: str, model_name: str) -> list[str]:
    """The versions of `model_name` with a registration branch on `repo_url`, sorted.

    `mlops model add-version --pull-request` pushes `mlops/register/<model>-<version>`; the branch
    stays while its pull request is open, and after it was closed without merging, so its version
    is taken although the catalog on the base branch does not list it. Asks the remote with
    `git ls-remote`, authenticated as clone_repository.
    """
    import subprocess

    prefix = f"refs/heads/mlops/register/{model_name}-"
    result = subprocess.run(["git", "-c", "credential.helper=", "-c", f"credential.helper={git_credential_helper()}",
                             "ls-remote", repo_url, prefix + "*"], check=True, stdout=subprocess.PIPE, text=True)
    references = [line.partition("\t")[2].strip() for line in result.stdout.splitlines()]
    return sorted(reference[len(prefix):] for reference in references if reference.startswith(prefix))


def resolve_version(repo_url: str, base_branch: str, model_name: str, model_uri_prefix: str, requested: str,
                    workdir: str) -> str:
    """Pick the version to publish: `requested`, or the next minor after every version already taken.

    A version is taken when (a) the catalog on `base_branch` of `repo_url` (a shallow clone) lists
    it, (b) a registration branch `mlops/register/<model>-<version>` exists on `repo_url` (its pull
    request is open or was closed unmerged), or (c) `<model_uri_prefix><version>/` holds objects
    (an earlier run uploaded it and did not register it). Without (b) and (c) a scheduled run
    would pick the same version as last week's unmerged one and fail at the upload every time.
    A requested version that is taken fails with the reasons. Runs before the upload, because
    the version is part of the artifact's location.
    """
    from pathlib import Path

    clone = str(Path(workdir) / "repository")
    clone_repository(repo_url, base_branch, clone, shallow=True)
    taken: dict[str, list[str]] = {}
    for version in registration_branch_versions(repo_url, model_name):
        taken.setdefault(version, []).append(
            f"(b) the registration branch mlops/register/{model_name}-{version} exists on {repo_url} "
            "(its pull request is open, or was closed without merging)")
    location = model_uri_prefix.rstrip("/") + "/"
    for version in uploaded_versions(model_uri_prefix):
        taken.setdefault(version, []).append(f"(c) {location}{version}/ already holds objects (an earlier upload)")
    chosen = next_version(str(Path(clone) / "models" / model_name / "model.yaml"), requested, taken,
                          catalog_name=f"models/{model_name}/model.yaml on {base_branch}")
    for version, reasons in sorted(taken.items()):
        print(f"taken outside the catalog: {version}: {'; '.join(reasons)}")
    print(f"version to publish: {chosen}")
    return chosen


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
