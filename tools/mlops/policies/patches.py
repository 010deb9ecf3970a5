"""Where a field of a rendered object is really set: in a kustomize patch, when one sets it.

Findings name the file that declares an object (`Manifest.file`), which is the base resource. A
field an overlay changes with a patch (the operator channel in `platform/subscription-patch.yaml`,
the stop annotation of a model in `overlays/dev/patches/`) is better reported at the patch, since
that is the line to edit. The kustomize walk of each target lists its patch files; the last one
(in the order kustomize applies them) that sets the field for the object wins.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..kustomization import relative
from ..manifests import Manifest
from ..yamlsource import SourceDocument, key_line, load_file
from .base import PolicyContext

_PATCH_FIELDS = ("patches", "patchesStrategicMerge")
_CACHE_KEY = "patches.documents"


def _documents(context: PolicyContext, path: Path) -> list[SourceDocument]:
    cache = context.cache.setdefault(_CACHE_KEY, {})
    assert isinstance(cache, dict)
    if path not in cache:
        try:
            cache[path] = load_file(path, relative(path, context.root))
        except UsageError:
            cache[path] = []
    documents = cache[path]
    return documents if isinstance(documents, list) else []


def _line_of_keys(document: SourceDocument, keys: tuple[str, ...]) -> int | None:
    """Line of the last key of `keys` (keys may contain dots), or None when the patch does not set it."""
    return key_line(document.node, keys, exact=True)


def patched_location(context: PolicyContext, manifest: Manifest, *keys: str) -> tuple[str, int] | None:
    """(file, line) of the last patch of the object's target that sets `keys`, or None."""
    tree = context.trees.get(manifest.environment)
    if tree is None:
        return None
    found = None
    for reference in tree.references:
        if reference.field not in _PATCH_FIELDS or reference.resolved is None or not reference.resolved.is_file():
            continue
        for document in _documents(context, reference.resolved):
            data = document.data
            metadata = data.get("metadata") if isinstance(data, dict) else None
            if (not isinstance(metadata, dict) or data.get("kind") != manifest.kind
                    or metadata.get("name") != manifest.name):
                continue
            line = _line_of_keys(document, keys)
            if line is not None:
                found = (relative(reference.resolved, context.root), line)
    return found
