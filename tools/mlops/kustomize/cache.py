"""The render cache: a root's rendered output, reused while none of its inputs changed.

A root's key is the SHA-256 of: the cache format; the engine (its command, the real path and
file status of its executable, and the version it reports); the build options the root is
rendered with (those of its Argo CD instance); the root's repository-relative path; every file
the kustomization walk found for it, by repository-relative path and content hash; and the
kustomization file names present in each folder the walk entered (kustomize refuses a folder
with two). The run's `RepoFiles` gives the hashes, from files it reads once.

Only a root whose inputs the walk can name completely has a key. Remote bases and resources,
Helm charts, plugin generators, transformers and validators (their configurations name files
and programs of their own), and kustomization fields the walk does not follow all make kustomize
read something the walk cannot hash, so such a root is rendered every time; so is one that reads
a file the run's snapshot does not list (inside `.git` or a virtual environment). A failed
render is never stored, and entries are written only after the run has checked that no input
changed while it rendered (`RepoFiles.unchanged`).

An entry holds the output, and the documents parsed from it as JSON when JSON gives back exactly
the same values (it does for kustomize's output: strings, numbers, booleans, null, lists, maps
with string keys), so a hit is not parsed as YAML again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import waits
from ..cachestore import EntryStore, digest
from ..kustomization import KustomizeTree, relative
from .engine import Engine, binary_identity, engine_version

FORMAT = 1


@dataclass(frozen=True)
class CachedRender:
    """A render served from the cache: kustomize's output and, usually, its parsed documents."""

    output: str
    documents: list[Any] | None


def encode_render(output: str, documents: list[Any] | None) -> bytes:
    """The entry payload; documents are kept only when JSON gives every value back unchanged.

    The documents are serialised once, and that text goes into the payload as it is: dumping
    them a second time inside the entry cost 11-16 ms per 0.6 MB render.
    """
    kept = "null"
    if documents is not None:
        try:
            text = json.dumps(documents, ensure_ascii=False, separators=(",", ":"))
            if json.loads(text) == documents:  # string keys, no dates, no NaN: what kustomize prints
                kept = text
        except (TypeError, ValueError, RecursionError):
            pass
    entry = '{"output":' + json.dumps(output, ensure_ascii=False) + ',"documents":' + kept + "}"
    return entry.encode("utf-8", "surrogatepass")


def decode_render(payload: bytes) -> CachedRender | None:
    try:
        data = json.loads(payload.decode("utf-8", "surrogatepass"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("output"), str):
        return None
    documents = data.get("documents")
    return CachedRender(data["output"], documents if isinstance(documents, list) else None)


class RenderCache:
    """Rendered roots in the user's cache folder, keyed by everything kustomize reads for them."""

    def __init__(self, root: Path, engine: Engine) -> None:
        self._renders = EntryStore(root, "renders")
        self._engines = EntryStore(root, "engines")
        self._engine = engine
        self._identity: dict[str, object] | None = None
        # the version takes an engine start; it runs while the first root is walked
        self._identified = threading.Thread(target=self._identify, daemon=True, name="kustomize version")
        self._identified.start()

    def _identify(self) -> None:
        binary = binary_identity(self._engine)
        key = digest("engine", FORMAT, binary)
        known = self._engines.read(key)
        if known is None:
            answer = engine_version(self._engine)
            if answer is not None:  # None: mlops is being stopped, renders nothing more, learnt nothing
                self._engines.write(key, answer.encode("utf-8"))
            version = answer or ""
        else:
            version = known.decode("utf-8", "replace")
        self._identity = {**binary, "version": version}

    def __enter__(self) -> RenderCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Wait until the engine is identified, whether or not a key needed it.

        A run that ends early (a failure, a signal) must not leave the thread writing the engine's
        entry behind it: cut off at exit, it would leave a temporary file in the cache folder (and
        in tests, write into the next test's).
        """
        waits.join(self._identified)

    def identity(self) -> dict[str, object]:
        """The engine as keys see it: command, executable (path and status) and reported version."""
        waits.join(self._identified)
        assert self._identity is not None
        return self._identity

    def key(self, tree: KustomizeTree, root_path: str, repo_root: Path, sha256: Callable[[Path], str | None],
            options: tuple[str, ...] = ()) -> str | None:
        """The root's key (build `options` included), or None when the walk cannot vouch for every input."""
        if not tree.vouched or tree.problems:
            return None
        files = []
        for path in sorted(tree.files):
            content = sha256(path)
            if content is None:
                return None
            files.append([relative(path, repo_root), content])
        probes = sorted([relative(folder, repo_root), list(names)] for folder, names in tree.probes.items())
        return digest("render", FORMAT, self.identity(), list(options), root_path, files, probes)

    def get(self, key: str) -> CachedRender | None:
        payload = self._renders.read(key)
        return None if payload is None else decode_render(payload)

    def put(self, key: str, payload: bytes) -> None:
        self._renders.write(key, payload)

