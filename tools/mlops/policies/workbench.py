"""A workbench's image is resolved the way the notebook webhook resolves it, on every cluster.

The odh-notebook-controller's mutating webhook (`components/odh-notebook-controller/controllers/
notebook_mutating_webhook.go`, SetContainerImageFromRegistry) handles a Notebook that names its
image selection (`notebooks.opendatahub.io/last-image-selection: <imagestream>:<tag>`):

- it looks for the container named like the Notebook, and rejects the Notebook without one;
- an image on the internal registry (`image-registry.openshift-image-registry.svc:5000/...`) is
  kept as it is, which only works on clusters that run the internal registry;
- any other image is replaced by the one the ImageStream tag points at, the ImageStream being
  looked up in `opendatahub.io/workbench-image-namespace`, or in the controller's own namespace
  (`redhat-ods-applications`) when that annotation is absent.

The dashboard writes `opendatahub.io/workbench-image-namespace` only for images of the project
itself (odh-dashboard `frontend/src/api/k8s/notebooks.ts`) and then labels the workbench "Project"
(`NotebookImageDisplayName.tsx`).
"""

from __future__ import annotations

from collections.abc import Iterator

from .base import PolicyContext, Rule, Scope, Violation
from .objects import containers, is_kind, namespace_of

LAST_IMAGE = "notebooks.opendatahub.io/last-image-selection"
IMAGE_NAMESPACE = "opendatahub.io/workbench-image-namespace"
INTERNAL_REGISTRY = "image-registry.openshift-image-registry.svc:5000"


def _check_image(context: PolicyContext) -> Iterator[Violation]:
    for target in context.targets(Scope.DEPLOYED):
        objects = context.manifests[target.name]
        streams = {(namespace_of(context, m), m.name) for m in objects
                   if is_kind(m, "ImageStream", "image.openshift.io")}
        for notebook in objects:
            if not is_kind(notebook, "Notebook", "kubeflow.org"):
                continue
            selection = notebook.annotations.get(LAST_IMAGE)
            if not isinstance(selection, str) or not selection.strip():
                continue  # the webhook resolves nothing without an image selection
            stream = selection.split(":", 1)[0]
            own = namespace_of(context, notebook)
            image_namespace = notebook.annotations.get(IMAGE_NAMESPACE)
            if image_namespace is not None and str(image_namespace).strip():
                if str(image_namespace) != own:
                    yield Violation(
                        f"Notebook {notebook.name} sets {IMAGE_NAMESPACE}: {image_namespace}, which the dashboard "
                        f"writes only for an image of the workbench's own project ({own}): it labels the workbench's "
                        "image \"Project\", and the webhook looks for the ImageStream there instead of in its own "
                        "namespace", notebook, f"metadata.annotations.{IMAGE_NAMESPACE}",
                        fix=f"remove {IMAGE_NAMESPACE} for an image OpenShift AI ships (the webhook then looks in "
                            "redhat-ods-applications)")
                elif (own, stream) not in streams:
                    yield Violation(
                        f"Notebook {notebook.name} selects ImageStream {stream} of its own project ({IMAGE_NAMESPACE}: "
                        f"{image_namespace}), but no ImageStream {stream} is rendered in namespace {own} of "
                        f"{target.name}: the webhook finds no image for the workbench", notebook,
                        f"metadata.annotations.{IMAGE_NAMESPACE}",
                        fix=f"add the ImageStream {stream} to the overlay, or remove {IMAGE_NAMESPACE} to use the "
                            "image OpenShift AI ships")
            workbench = [(path, c) for path, c in containers(notebook) if c.get("name") == notebook.name]
            if not workbench:
                yield Violation(f"Notebook {notebook.name} has no container named {notebook.name}; the notebook "
                                "webhook rejects a Notebook with an image selection but no container of its name",
                                notebook, "spec.template.spec.containers",
                                fix=f"name the workbench container {notebook.name}")
                continue
            path, container = workbench[0]
            image = str(container.get("image") or "")
            if INTERNAL_REGISTRY in image:
                yield Violation(
                    f"Notebook {notebook.name} pulls {image} from the internal registry; the notebook webhook keeps "
                    "such an image unchanged, so the workbench cannot start on a cluster without the internal "
                    f"registry, while any other value is resolved from the ImageStream tag {selection}",
                    notebook, f"{path}.image",
                    fix=f"write the image as the ImageStream tag ({selection}) and let the webhook resolve it "
                        "(and ignore the resolved image in Argo CD's ignoreDifferences)")


RULES: list[Rule] = [
    Rule(
        id="notebook-image",
        summary="A workbench's image is resolved from its ImageStream, with or without an internal registry",
        explanation=(
            "For a Notebook with `notebooks.opendatahub.io/last-image-selection`, the odh-notebook-controller "
            "webhook keeps an image on the internal registry (`image-registry.openshift-image-registry.svc:5000`) "
            "as it is, which fails on clusters that do not run it, and otherwise sets the image the ImageStream tag "
            "points at; it needs a container named like the Notebook. It looks for the ImageStream in "
            "`opendatahub.io/workbench-image-namespace`, else in its own namespace (`redhat-ods-applications`, "
            "where OpenShift AI ships its images). The dashboard sets that annotation only for images of the "
            "workbench's own project, and shows such workbenches with a \"Project\" label; for such an image the "
            "ImageStream must be rendered in that project (odh-notebook-controller "
            "`notebook_mutating_webhook.go`, odh-dashboard `frontend/src/api/k8s/notebooks.ts`)."
        ),
        fix="write the image as the ImageStream tag of last-image-selection, and set workbench-image-namespace only "
            "for an ImageStream of the project",
        check=_check_image,
        scope=Scope.DEPLOYED,
    ),
]
