"""Build small GitOps repositories in tmp_path for tests: a few files, one or more overlays."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example/web@sha256:0000000000000000000000000000000000000000000000000000000000000000
"""

INFERENCE_SERVICE = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: model
spec:
  predictor:
    minReplicas: 1
    model:
      modelFormat:
        name: onnx
      runtime: ovms
      storageUri: s3://models/model/1.0.0
"""

NOTEBOOK = """\
apiVersion: kubeflow.org/v1
kind: Notebook
metadata:
  name: lab
spec:
  template:
    spec:
      containers:
        - name: lab
          image: quay.example/lab@sha256:1111111111111111111111111111111111111111111111111111111111111111
          ports:
            - containerPort: 8888
              name: notebook-port
"""


def write(root: Path, files: dict[str, str]) -> Path:
    """Write files (dedented) under root; return root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


def simple_repo(root: Path, resources: dict[str, str], environments: tuple[str, ...] = ("dev",)) -> Path:
    """A repository with `base/` holding `resources` and one overlay per environment."""
    env_lines = "".join(f"  - name: {env}\n    path: overlays/{env}\n    namespace: ml-{env}\n"
                        for env in environments)
    files = {
        "mlops.yaml": f'kubernetesVersion: "1.33"\nenvironments:\n{env_lines}',
        "base/kustomization.yaml": "resources:\n" + "".join(f"  - {name}\n" for name in resources),
    }
    files.update({f"base/{name}": content for name, content in resources.items()})
    for env in environments:
        files[f"overlays/{env}/kustomization.yaml"] = f"namespace: ml-{env}\nresources:\n  - ../../base\n"
    return write(root, files)


#: What a copy of the template needs to render and validate (the tool itself is installed).
TEMPLATE_ITEMS = ("apps", "base", "components", "models", "overlays", "platform", "bootstrap", "mlops.yaml")


def copy_template(repo_root: Path, target: Path) -> Path:
    """A copy of this repository's template (not a git repository) in `target`; returns it."""
    target.mkdir(parents=True, exist_ok=True)
    for item in TEMPLATE_ITEMS:
        source = repo_root / item
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target / item)
    return target


def slow_kustomize(folder: Path, seconds: float) -> Path:
    """A kustomize (`$KUSTOMIZE`) that takes `seconds`, then renders with the wheel's kubectl."""
    path = folder / "slow-kustomize"
    kubectl = Path(sys.executable).parent / "kubectl"
    path.write_text(f'#!/bin/sh\nshift\nsleep {seconds}\nexec "{kubectl}" kustomize "$@"\n')
    path.chmod(0o755)
    return path
