"""Read YAML files that people edit, keeping where each value stands.

Kustomize reads the same files, but its errors name a line without the file, and it expands
YAML aliases without limit (an alias bomb eats gigabytes before it fails). So every file a
render will read is checked here first: UTF-8, syntax, duplicate keys and alias expansion, each
reported with the file and line. The composed node tree is kept so that a finding about
`spec.predictor.minReplicas` can point at the line that sets it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import UsageError
from .readfile import read_bytes

try:  # The C loader is several times faster; fall back where PyYAML was built without libyaml.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - every wheel of PyYAML has libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

#: implicit tags of plain scalars seen in this process (keys, `true`, `1`, names repeat endlessly)
_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_LIMIT = 200_000


_STR_TAG, _SEQ_TAG, _MAP_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


class FastLoader(_SafeLoader):
    """PyYAML's safe loader, C parser, with the tag of each plain scalar resolved once per process.

    The C composer asks Python for the tag of every untagged node and calls two path-resolver
    hooks around every node; with no path resolvers registered (none ever is: a test checks) the
    answers depend only on the node's kind and a plain scalar's text. So the tag of a plain
    scalar comes from `_PLAIN_TAGS` (`true`, `1`, keys and names repeat endlessly), the others'
    are the defaults `BaseResolver.resolve` would return, and the hooks are C callables that
    take the composer's arguments and do nothing: a Python call per node each, 20 % of composing
    a 0.6 MB render.
    """

    descend_resolver = slice  # type: ignore[assignment]  # called as (parent node, index); result ignored
    ascend_resolver = tuple  # type: ignore[assignment]  # called without arguments

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR_TAG  # quoted, or tagged `!`: a string, as BaseResolver says
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                if len(_PLAIN_TAGS) < _PLAIN_TAGS_LIMIT:
                    _PLAIN_TAGS[value] = tag
            return tag
        return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG

#: A document whose aliases expand to more nodes than this is refused (a "billion laughs" file).
MAX_EXPANDED_NODES = 200_000

_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class YamlProblem:
    """A defect in a YAML file: what, and where (1-based line)."""

    rule: str
    message: str
    line: int | None
    fix: str


@dataclass
class SourceDocument:
    """One document of a YAML file: its data and the node tree that remembers positions."""

    data: Any
    node: yaml.Node

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def has_path(self, path: str) -> bool:
        """True when every step of the dotted path exists in this document."""
        return self._walk(path)[0]

    def line_of(self, path: str) -> int:
        """Line of the deepest key or item along a dotted path (`spec.containers[0].image`)."""
        return self._walk(path)[1]

    def _walk(self, path: str) -> tuple[bool, int]:
        """(whether the whole path exists, line of the deepest key or item found along it).

        Keys may contain dots themselves (`metadata.annotations.serving.kserve.io/stop`): where a
        segment is not a key, the longest run of the following segments joined by dots that is one
        is taken instead.
        """
        node = self.node
        line = node.start_mark.line + 1
        steps = list(_split_path(path))
        position = 0
        while position < len(steps):
            key, index = steps[position]
            step, used = _child(node, key, index), 1
            if step is None and key is not None:
                for end in range(len(steps), position + 1, -1):
                    run = steps[position:end]
                    if all(name is not None for name, _ in run):
                        step = _child(node, ".".join(str(name) for name, _ in run), None)
                        if step is not None:
                            used = end - position
                            break
            if step is None:
                return False, line
            line, node = step
            position += used
        return True, line


def _split_path(path: str) -> Iterator[tuple[str | None, int | None]]:
    for match in _PATH_TOKEN.finditer(path):
        name, index = match.groups()
        yield (name, None) if name is not None else (None, int(index))


def key_line(node: yaml.Node, keys: tuple[str, ...] | list[str], *, exact: bool = False) -> int | None:
    """Line of the deepest of `keys` found, one mapping level each (keys may contain dots).

    With `exact`, None unless every key is there (a patch that does not set the field); otherwise
    None only when not even the first key is.
    """
    line = None
    for key in keys:
        step = _child(node, key, None)
        if step is None:
            return None if exact else line
        line, node = step
    return line


def _child(node: yaml.Node, key: str | None, index: int | None) -> tuple[int, yaml.Node] | None:
    """(line of the key or item, value node) of one step into a mapping or sequence."""
    if key is not None and isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return key_node.start_mark.line + 1, value_node
    if index is not None and isinstance(node, yaml.SequenceNode) and index < len(node.value):
        item = node.value[index]
        return item.start_mark.line + 1, item
    return None


def decode_utf8(raw: bytes, file: str) -> str:
    """The text of a file, or a one-line error naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise UsageError(
            f"not UTF-8 (byte 0x{raw[error.start]:02x}); save the file as UTF-8", file=file, line=line
        ) from None


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes the document has once every alias is expanded (shared nodes counted again)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a cycle counts once instead of recursing forever
    size = 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            size += _expanded_size(key_node, memo) + _expanded_size(value_node, memo)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            size += _expanded_size(item, memo)
    memo[key] = size
    return size


def _duplicate_keys(node: yaml.Node, aliased: bool = True) -> Iterator[YamlProblem]:
    """Every key defined twice in one mapping, in the order a walk of the document meets them.

    Only a file with aliases shares nodes (`aliased`), so only then are nodes remembered against
    visiting one twice; and a mapping's keys are looked at one by one only when a set of them is
    smaller than their list. (Both were a fifth of loading a catalog entry.)
    """
    seen_nodes: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if aliased:
            if id(current) in seen_nodes:
                continue
            seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            pairs = current.value
            keys = [key_node.value for key_node, _ in pairs if isinstance(key_node, yaml.ScalarNode)]
            if len(set(keys)) != len(keys):
                yield from _repeated_keys(pairs)
            stack.extend(value_node for _, value_node in pairs)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _repeated_keys(pairs: list[tuple[yaml.Node, yaml.Node]]) -> Iterator[YamlProblem]:
    first_line: dict[str, int] = {}
    for key_node, _ in pairs:
        if isinstance(key_node, yaml.ScalarNode):
            line = key_node.start_mark.line + 1
            if key_node.value in first_line and key_node.value != "<<":
                yield YamlProblem(
                    "yaml-duplicate-key",
                    f"key {key_node.value!r} is defined again (first at line {first_line[key_node.value]})",
                    line,
                    "remove one of the two keys: YAML tools disagree on which one wins",
                )
            first_line.setdefault(key_node.value, line)


def _compose(text: str) -> tuple[list[yaml.Node], list[YamlProblem]]:
    """Compose every document once and check it: syntax, alias expansion, duplicate keys."""
    try:
        nodes = [node for node in yaml.compose_all(text, Loader=FastLoader) if node is not None]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = error.problem or error.context or "malformed YAML"
        return [], [YamlProblem("yaml-syntax", f"malformed YAML: {reason}", mark.line + 1 if mark else None,
                                "fix the YAML syntax at that line")]
    except yaml.YAMLError as error:
        return [], [YamlProblem("yaml-syntax", f"malformed YAML: {error}", None, "fix the YAML syntax")]
    problems: list[YamlProblem] = []
    aliased = "*" in text  # no alias without an asterisk: then no node is shared
    for node in nodes:
        if aliased:
            size = _expanded_size(node, {})
            if size > MAX_EXPANDED_NODES:
                problems.append(YamlProblem(
                    "yaml-alias-bomb",
                    f"YAML aliases expand this document to {size:,} nodes "
                    f"(limit {MAX_EXPANDED_NODES:,})",
                    node.start_mark.line + 1,
                    "write the values out or use fewer nested aliases",
                ))
                continue
        problems.extend(_duplicate_keys(node, aliased))
    return nodes, problems


def compose_text(text: str) -> tuple[list[yaml.Node], list[YamlProblem]]:
    """Every document's node tree, and the file's defects (syntax, alias expansion, duplicate keys)."""
    return _compose(text)


def construct(node: yaml.Node) -> Any:
    """The Python value of one composed document (what `yaml.safe_load` gives)."""
    return _construct(node)


def check_text(text: str) -> list[YamlProblem]:
    """Syntax, duplicate keys and alias expansion of one file's text."""
    return _compose(text)[1]


def could_be_alias_bomb(raw: bytes) -> bool:
    """Cheap pre-filter: only files with both anchors and aliases need the expansion check."""
    return b"&" in raw and b"*" in raw


def load_documents(text: str, file: str) -> list[SourceDocument]:
    """Every non-empty document of a file, with positions. Malformed input raises UsageError."""
    nodes, problems = _compose(text)
    for problem in problems:
        raise UsageError(f"{problem.message}; {problem.fix}", file=file, line=problem.line)
    return [SourceDocument(data=_construct(node), node=node) for node in nodes]


_constructors = threading.local()
#: scalar tags whose SafeConstructor method is a plain function of the node (no state, no generator)
_SCALARS = {tag: method for tag, method in yaml.constructor.SafeConstructor.yaml_constructors.items()
            if tag in {"tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                       "tag:yaml.org,2002:float", "tag:yaml.org,2002:binary", "tag:yaml.org,2002:timestamp"}}
_SCALAR_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class _Unusual(Exception):
    """A node the direct construction leaves to PyYAML (merge keys, sets, unhashable keys, bad tags)."""


def _build(node: yaml.Node, seen: dict[int, Any]) -> Any:
    """What SafeConstructor builds for plain mappings, sequences and scalars, without its machinery."""
    kind = node.__class__
    if kind is yaml.ScalarNode:
        if node.tag == _STR_TAG:
            return node.value
        method = _SCALARS.get(node.tag)
        if method is None:
            raise _Unusual
        return method(_SCALAR_CONSTRUCTOR, node)
    known = seen.get(id(node))
    if known is not None:
        return known  # an alias: the very object its anchor built, as PyYAML gives it
    if kind is yaml.MappingNode and node.tag == _MAP_TAG:
        mapping: dict[Any, Any] = {}
        seen[id(node)] = mapping
        for key_node, value_node in node.value:
            key = _build(key_node, seen)
            value = _build(value_node, seen)
            try:
                mapping[key] = value
            except TypeError:  # an unhashable key: PyYAML's own error message
                raise _Unusual from None
        return mapping
    if kind is yaml.SequenceNode and node.tag == _SEQ_TAG:
        items: list[Any] = []
        seen[id(node)] = items
        items.extend(_build(item, seen) for item in node.value)
        return items
    raise _Unusual


def _construct(node: yaml.Node) -> Any:
    """The Python value of a composed document, exactly as `yaml.safe_load` builds it.

    Plain mappings, sequences and scalars (all that Kubernetes manifests hold) are built
    directly, in a third of the time; a document with anything else (a merge key, `!!set`, an
    unhashable key, an unknown tag) goes through PyYAML's SafeConstructor, one per thread.
    """
    try:
        return _build(node, {})
    except (_Unusual, RecursionError):
        pass
    constructor = getattr(_constructors, "safe", None)
    if constructor is None:
        constructor = _constructors.safe = yaml.constructor.SafeConstructor()
    try:
        return constructor.construct_document(node)
    except BaseException:
        _constructors.safe = None  # a failed document leaves state behind: start the next one afresh
        raise


def load_all_fast(text: str) -> list[Any]:
    """`list(yaml.load_all(text, Loader=FastLoader))`, built as `_construct` builds documents."""
    return [_construct(node) for node in yaml.compose_all(text, Loader=FastLoader)]


def load_file(path: Path, display: str) -> list[SourceDocument]:
    """Read, decode and load a file; every defect becomes a UsageError naming `display`."""
    try:
        raw = read_bytes(path)
    except OSError as error:
        raise UsageError(f"cannot read: {error.strerror}", file=display) from None
    return load_documents(decode_utf8(raw, display), display)


def find_object(documents: list[SourceDocument], kind: str, name: str) -> SourceDocument | None:
    """The document that declares an object, tolerating kustomize name prefixes and suffixes."""
    fallback = None
    for document in documents:
        data = document.data
        if not isinstance(data, dict) or data.get("kind") != kind:
            continue
        metadata = data.get("metadata")
        source_name = metadata.get("name") if isinstance(metadata, dict) else None
        if source_name == name:
            return document
        if isinstance(source_name, str) and source_name and source_name in name and fallback is None:
            fallback = document
    if fallback is not None:
        return fallback
    kinds = [d for d in documents if isinstance(d.data, dict) and d.data.get("kind") == kind]
    return kinds[0] if len(kinds) == 1 else None
