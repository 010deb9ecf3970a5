"""`yamlsource.FastLoader` composes exactly what PyYAML's own safe loader composes, only faster."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from mlops.yamlsource import FastLoader, check_text, load_all_fast

DOCUMENTS = [
    "a: 1\nb: '1'\nc: \"1\"\nd: !!str 1\ne: ! 1\nf: 0644\ng: yes\nh: ~\ni:\nj: 1.5\nk: 2024-01-02\n",
    "- plain\n- 'single'\n- \"double\"\n- |\n  literal\n- >-\n  folded\n  text\n- [1, two, '3', {four: 4}]\n",
    "anchor: &a {x: 1, y: [1, 2]}\nalias: *a\nmerged:\n  <<: *a\n  z: 3\n",
    "? complex key\n: value\n? [1, 2]\n: sequence key\n",
    "tagged: !!int '7'\nbinary: !!binary aGVsbG8=\nset: !!set {a, b}\nfloat: !!float '1'\n",
    "---\nfirst: 1\n---\n- second\n---\nthird\n...\n---\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {app: x, 'on': 'off', true: false}\ndata:\n"
    "  script: |\n    #!/bin/sh\n    echo $HOME\n  mode: 0755\n",
]


def _tree(node: yaml.Node | None) -> Any:
    """Everything a node says: kind, tag, value, style and where it starts and ends."""
    if node is None:
        return None
    where = (node.start_mark.line, node.start_mark.column, node.end_mark.line, node.end_mark.column)
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.value, node.style, where)
    if isinstance(node, yaml.SequenceNode):
        return ("sequence", node.tag, [_tree(item) for item in node.value], node.flow_style, where)
    assert isinstance(node, yaml.MappingNode)
    return ("mapping", node.tag, [(_tree(key), _tree(value)) for key, value in node.value], node.flow_style, where)


@pytest.mark.parametrize("text", DOCUMENTS)
def test_the_same_node_trees_and_values_as_pyyaml(text: str) -> None:
    ours = [_tree(node) for node in yaml.compose_all(text, Loader=FastLoader)]
    theirs = [_tree(node) for node in yaml.compose_all(text, Loader=yaml.CSafeLoader)]  # the same C parser
    assert ours == theirs
    assert _values(text, FastLoader) == _values(text, yaml.CSafeLoader)


def _values(text: str, loader: Any) -> Any:
    """The documents' values, or the error PyYAML gives (an unhashable key, ...)."""
    try:
        return list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError as error:
        return f"{type(error).__name__}: {error}"


def test_rendered_documents_are_what_safe_load_gives() -> None:
    text = "---\n".join(document for document in DOCUMENTS if "!!set" not in document and "? " not in document)
    assert load_all_fast(text) == list(yaml.safe_load_all(text))


def test_no_path_resolver_is_registered() -> None:
    """The composer hooks do nothing: right only while no path resolver exists for the loader."""
    assert not FastLoader.yaml_path_resolvers


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\n  d: 4\na: 5\n", [("'a'", 1, 7), ("'c'", 3, 5), ("'d'", 4, 6)]),
    ("x: &x {k: 1, k: 2}\ny: *x\nz: [*x, *x]\n", [("'k'", 1, 1)]),  # a shared mapping is reported once
    ("<<: {a: 1}\n<<: {b: 2}\nc: 1\n", []),  # repeated merge keys are not duplicates
    ("- {a: 1, b: 2}\n- [{b: 1, b: 2}]\n", [("'b'", 2, 2)]),
    ("one: 1\ntwo: 2\n", []),
])
def test_duplicate_keys_are_found_at_their_lines(text: str, expected: list[tuple[str, int, int]]) -> None:
    found = [problem for problem in check_text(text) if problem.rule == "yaml-duplicate-key"]
    assert sorted((problem.message.split()[1], int(problem.message.rstrip(")").split()[-1]), problem.line)
                  for problem in found) == sorted(expected)
