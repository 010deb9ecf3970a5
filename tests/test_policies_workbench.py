"""workbench family: a workbench's image is resolved the way the notebook webhook resolves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops.policies.workbench import RULES
from policy_helpers import check, make_context
from template_defects import names, only_error, reintroduce, template, validate

(IMAGE,) = RULES
NOTEBOOK = "base/workbench/notebook.yaml"
INTERNAL = "image-registry.openshift-image-registry.svc:5000/redhat-ods-applications/"


# --- notebook-image -------------------------------------------------------------------------------


def test_template_workbench_on_the_internal_registry(tmp_path: Path) -> None:
    repo = template(tmp_path)
    line = reintroduce(repo, NOTEBOOK, "          image: s2i-generic-data-science-notebook:2025.2\n",
                       f"          image: {INTERNAL}s2i-generic-data-science-notebook:2025.2\n")
    code, findings = validate(repo, "dev")
    finding = only_error(findings, "notebook-image")
    assert code == 1 and names(finding) == "Notebook/mlops-dev/mlops-workbench"
    assert (finding["file"], finding["line"]) == (NOTEBOOK, line)
    assert "cluster without the internal registry" in finding["message"]


def test_template_workbench_with_the_platform_image_namespace(tmp_path: Path) -> None:
    repo = template(tmp_path)
    line = reintroduce(repo, NOTEBOOK, "    opendatahub.io/image-display-name:",
                       "    opendatahub.io/workbench-image-namespace: redhat-ods-applications\n"
                       "    opendatahub.io/image-display-name:")
    code, findings = validate(repo, "test")
    finding = only_error(findings, "notebook-image")
    assert code == 1 and names(finding) == "Notebook/mlops-test/mlops-workbench"
    assert (finding["file"], finding["line"]) == (NOTEBOOK, line)
    assert "\"Project\"" in finding["message"]


def notebook(image: str = "minimal:2025.2", container: str = "lab", **annotations: str) -> dict[str, Any]:
    notes = {"notebooks.opendatahub.io/last-image-selection": "minimal:2025.2", **annotations}
    return {"apiVersion": "kubeflow.org/v1", "kind": "Notebook",
            "metadata": {"name": "lab", "namespace": "ml-dev", "annotations": notes},
            "spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}


IMAGE_STREAM = {"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                "metadata": {"name": "minimal", "namespace": "ml-dev"}}


@pytest.mark.parametrize("objects", [
    [notebook()],
    [notebook(image="quay.io/org/lab@sha256:" + "0" * 64)],  # resolved from the ImageStream anyway
    [notebook(**{"opendatahub.io/workbench-image-namespace": "ml-dev"}), IMAGE_STREAM],  # a project image
    [{**notebook(image=INTERNAL + "x:1"), "metadata": {"name": "lab", "namespace": "ml-dev"}}],  # no selection
])
def test_images_the_webhook_resolves(tmp_path: Path, objects: list[dict[str, Any]]) -> None:
    assert check(IMAGE, make_context(tmp_path, {"dev": objects})) == []


def test_project_image_without_its_imagestream(tmp_path: Path) -> None:
    item = notebook(**{"opendatahub.io/workbench-image-namespace": "ml-dev"})
    (finding,) = check(IMAGE, make_context(tmp_path, {"dev": [item]}))
    assert "no ImageStream minimal is rendered" in finding.message


def test_no_container_named_like_the_notebook(tmp_path: Path) -> None:
    (finding,) = check(IMAGE, make_context(tmp_path, {"dev": [notebook(container="jupyter")]}))
    assert finding.path == "spec.template.spec.containers" and "rejects" in finding.message
