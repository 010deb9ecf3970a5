"""Pins: the version an environment runs, `overlays/<env>/models/<model>.yaml`, read and written here only.

A pin is a patch of the model's InferenceService that sets only the label
`app.kubernetes.io/version` and `spec.predictor.model.storageUri`. `read_pin` reads the pin of a
checked-out tree strictly (a malformed one is a `PinError` with file and line, because promote
rewrites the whole file); `pin_version` reads the label alone from any text, because old commits
in a pin's history need not satisfy today's checks; `write_pin_text` writes one, byte for byte the
way `mlops promote` commits it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import Target
from ..errors import MlopsError, UsageError
from ..git import Git
from ..yamlsource import FastLoader, SourceDocument, key_line, load_file
from .model import CATALOG_DIR, ISVC_API_VERSION, VERSION_LABEL, Model, Version


@dataclass(frozen=True)
class Pin:
    """The version of a model pinned in one environment, and where the pin file says so."""

    model: str
    environment: str
    file: str  # repository-relative
    version: str
    storage_uri: str
    line: int  # of metadata.name
    version_line: int
    uri_line: int


class PinError(UsageError):
    """A pin file `mlops promote` could not rewrite safely (exit 2; a `catalog-pin` finding in validate)."""


def pin_file(target: Target, model: str) -> str:
    return f"{target.path}/{CATALOG_DIR}/{model}.yaml"


def pinned_models(root: Path, target: Target) -> list[str]:
    """Models with a pin file in an environment, in name order."""
    return sorted(path.stem for path in (root / target.path / CATALOG_DIR).glob("*.yaml"))


def _leaves(data: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from _leaves(value, (*prefix, str(key)))
    else:
        yield prefix, data


def _key_line(document: SourceDocument, keys: tuple[str, ...]) -> int:
    """Line of the deepest of `keys` found (keys may contain dots, unlike `line_of` paths)."""
    return key_line(document.node, keys) or document.line


_VERSION_KEYS = ("metadata", "labels", VERSION_LABEL)
_URI_KEYS = ("spec", "predictor", "model", "storageUri")
#: The only leaves a pin may set; everything else belongs in the overlay's patches/.
_PIN_LEAVES = {("apiVersion",), ("kind",), ("metadata", "name"), _VERSION_KEYS, _URI_KEYS}


def read_pin(root: Path, target: Target, model: str) -> Pin | None:
    """The pin of `model` in an environment; None without a pin file; PinError when it is malformed."""
    file = pin_file(target, model)
    path = root / file
    if not path.is_file():
        return None
    try:
        documents = load_file(path, file)
    except MlopsError as error:
        raise PinError(str(error), file=file, line=error.line) from None
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise PinError("a pin must be exactly one InferenceService patch", file=file, line=1)
    document = documents[0]
    values: dict[tuple[str, ...], Any] = {}
    for keys, value in _leaves(document.data):
        if keys not in _PIN_LEAVES:
            raise PinError(f"the pin sets {'.'.join(keys)}, but a pin sets only the label {VERSION_LABEL} and "
                           "spec.predictor.model.storageUri (mlops promote rewrites the whole file and would drop "
                           "anything else); move it to the overlay's patches/",
                           file=file, line=_key_line(document, keys))
        values[keys] = value
    expected = {("apiVersion",): ISVC_API_VERSION, ("kind",): "InferenceService", ("metadata", "name"): model}
    for keys, wanted in expected.items():
        if values.get(keys) != wanted:
            raise PinError(f"{'.'.join(keys)} is {values.get(keys)!r}, not {wanted!r}: the pin of {model} patches "
                           f"its InferenceService", file=file, line=_key_line(document, keys))
    version, uri = values.get(_VERSION_KEYS), values.get(_URI_KEYS)
    if not isinstance(version, str) or not version:
        raise PinError(f"label {VERSION_LABEL} must be a quoted version such as \"1.2.0\", not {version!r}",
                       file=file, line=_key_line(document, _VERSION_KEYS))
    if not isinstance(uri, str) or not uri:
        raise PinError(f"spec.predictor.model.storageUri must be the uri of the pinned version, not {uri!r}",
                       file=file, line=_key_line(document, _URI_KEYS))
    return Pin(model=model, environment=target.name, file=file, version=version, storage_uri=uri,
               line=_key_line(document, ("metadata", "name")), version_line=_key_line(document, _VERSION_KEYS),
               uri_line=_key_line(document, _URI_KEYS))


def _plain_or_quoted(value: str) -> str:
    """The value as a plain YAML scalar when that reads back the same, else double-quoted."""
    try:
        if (value and value.strip() == value and " #" not in value
                and yaml.safe_load(f"k: {value}\n") == {"k": value}):
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value)


def write_pin_text(model: Model, version: Version, environment: str) -> str:
    """The exact content of `overlays/<env>/models/<model>.yaml` pinning `version`."""
    return (
        f"# Version of {model.name} in {environment}; rewritten by `mlops promote`, do not edit by hand.\n"
        f"apiVersion: {ISVC_API_VERSION}\n"
        "kind: InferenceService\n"
        "metadata:\n"
        f"  name: {model.name}\n"
        "  labels:\n"
        f"    {VERSION_LABEL}: {json.dumps(version.version)}\n"
        "spec:\n"
        "  predictor:\n"
        "    model:\n"
        f"      storageUri: {_plain_or_quoted(version.uri)}\n"
    )


def pin_version(text: str | None) -> str | None:
    """The version a pin file sets (its `app.kubernetes.io/version` label), or None."""
    if not text:
        return None
    try:
        document = yaml.load(text, Loader=FastLoader)
    except yaml.YAMLError:
        return None
    labels = ((document or {}).get("metadata") or {}).get("labels") or {} if isinstance(document, dict) else {}
    value = labels.get(VERSION_LABEL) if isinstance(labels, dict) else None
    return str(value) if value is not None else None


def previous_pinned_version(git: Git, ref: str, path: str) -> str | None:
    """The version the pin named before its current one, from its git history."""
    current = None
    for commit in git.history(ref, path):
        version = pin_version(git.show(commit.sha, path))
        if current is None:
            current = version
        elif version is not None and version != current:
            return version
    return None
