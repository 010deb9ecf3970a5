"""kustomize: engine discovery and rendering (`engine`), and the render cache (`cache`).

The source tree walk (`mlops.kustomization`) and the origins of rendered objects
(`mlops.origins`) are the other half of this room; they stay where other modules import them.
"""

from __future__ import annotations

from .engine import (
    RENDER_TIMEOUT_SECONDS,
    Engine,
    RenderResult,
    binary_identity,
    engine_version,
    find_engine,
    render,
    render_many,
)

__all__ = ["RENDER_TIMEOUT_SECONDS", "Engine", "RenderResult", "binary_identity", "engine_version", "find_engine",
           "render", "render_many"]
