"""The event builder gives the data, mapping positions and repeated keys the node-tree way gives,
for every YAML file of the fixture project and for the awkward corners of YAML; what it leaves to
PyYAML (explicit tags, a merge of several mappings, several documents) still loads, through the node tree."""

from __future__ import annotations

import datetime as dt

import pytest

from mhhs_sit.core import yamlsrc
from mhhs_sit.core.yamlsrc import parse_yaml
from tests.helpers import FIXTURES, REPO

CORNERS = {
    "scalars": "a: 1\nb: 1.5\nc: true\nd: null\ne: ~\nf: 2024-01-02\ng: 2024-01-02T03:04:05Z\nh: '1'\ni: \"x\"\n"
    "j: 0x1F\nk: .inf\nl: yes\nm: ''\nn:\no: |\n  block\n  text\np: >\n  folded\n  text\nq: 1_000\n",
    "anchors": "base: &b {a: [1, 2], b: {c: 3}}\nuse: [*b, *b]\ns: &s text\nt: *s\nkeys: {*s : 1}\n",
    "nesting": "x:\n  - - [1, [2, {a: [3]}]]\n    - {}\n  - []\ny: {z: {w: {v: u}}}\n",
    "duplicates": "a: 1\nb: 2\na: 3\nc:\n  d: 1\n  d: 2\n'b': 4\n",
    "root scalar": "just text\n",
    "root list": "- 1\n- two\n",
    "empty": "",
    "empty document": "---\n",
    "numbers as keys": "1: one\n2: two\n1.5: half\ntrue: yes\nnull: nothing\n",
    "merge keys": "a: &a {x: 1, y: 2}\nc: {w: 0, <<: *a, x: 9}\nd:\n  <<: *a\n  q: 1\ne: {<<: {k: v}, '<<': quoted}\n",
    "flow and comments": "# c\na: [1, 2, {b: c}]  # c\nd: {e: [f, g]}\n",
    "spellings met again": "a: [1, 1, null, ~, true, true, 2024-01-02, 2024-01-02, '1']\nb: {x: 1, y: 1, 1: a, 2: b}\n"
    "c: [{1: a}, {1: b, 1: c}]\nd: {1: a, '1': b}\ne: {null: a, ~: b, null: c}\n",
}
LEFT_TO_PYYAML = {
    "explicit tag": "a: !!str 12\nb: !!set {x, y}\n",
    "merge of a scalar": "base: &b 1\nuse: {<<: *b, c: 3}\n",
    "merge of a list": "a: &a {x: 1}\nb: &b {x: 2, y: 3}\nc: {<<: [*a, *b], z: 4}\n",
    "collection key": "? [1, 2]\n: x\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "undefined alias": "a: *nothing\n",
}


def _positions(doc: yamlsrc.YamlDoc) -> list[tuple[int, int]]:
    """Every mapping's position, in the order of a walk of the data."""
    out: list[tuple[int, int]] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            out.append(doc.line_of(value))
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(doc.data)
    return out


def _by_node_tree(text: str) -> yamlsrc.YamlDoc:
    loader = yamlsrc._TrackingLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    doc = yamlsrc.YamlDoc("x.yaml", data, text, loader.positions)
    doc.problems = [(k, line, col, first) for k, line, col, first in loader.duplicates]  # type: ignore[misc]
    return doc


def _by_events(text: str) -> yamlsrc.YamlDoc:
    loader = yamlsrc._Base(text)
    try:
        built = yamlsrc.yamlevents.build(loader, yamlsrc._LIMITS)
    finally:
        loader.dispose()
    doc = yamlsrc.YamlDoc("x.yaml", built.data, text, built.positions)
    doc.problems = list(built.duplicates)  # type: ignore[arg-type]
    return doc


def _corpus() -> list[tuple[str, str]]:
    files = sorted([*FIXTURES.rglob("*.yaml"), *(REPO / "environments").glob("*.yaml")])
    return [*CORNERS.items(), *((str(f.relative_to(REPO)), f.read_text()) for f in files)]


@pytest.mark.parametrize(("name", "text"), _corpus(), ids=[n for n, _ in _corpus()])
def test_the_event_builder_builds_what_the_node_tree_builds(name, text):
    fast, slow = _by_events(text), _by_node_tree(text)
    assert fast.data == slow.data and repr(fast.data) == repr(slow.data)  # the keys in the same order too
    assert _positions(fast) == _positions(slow)
    assert sorted(fast.problems) == sorted(slow.problems)  # the repeated keys, where they repeat


def test_aliases_give_the_same_object_and_scalars_their_types():
    data = parse_yaml(CORNERS["anchors"] + "d: 2024-01-02\nn: 0x1F\n", "a.yaml").data
    assert data["use"][0] is data["base"] and data["use"][1] is data["base"]
    assert data["keys"] == {"text": 1} and data["d"] == dt.date(2024, 1, 2) and data["n"] == 31


@pytest.mark.parametrize("name", LEFT_TO_PYYAML)
def test_what_the_event_builder_leaves_to_pyyaml_still_loads_or_fails_as_before(name):
    text = LEFT_TO_PYYAML[name]
    with pytest.raises(yamlsrc.yamlevents.Unsupported):
        _by_events(text)
    doc = parse_yaml(text, "x.yaml")
    if name in ("two documents", "undefined alias", "merge of a scalar", "collection key"):
        [problem] = doc.problems
        assert problem.message.startswith("YAML syntax:") and problem.line > 0
    else:
        assert doc.problems == [] and doc.data == _by_node_tree(text).data


def test_a_10000_case_file_parses_in_a_fraction_of_the_node_tree_s_memory():
    import tracemalloc

    case = "  - id: X-TC{n:05d}\n    title: t\n    steps:\n      - send: {{as: SUP, custom: {{B: [1, 2, x]}}}}\n"
    text = "scenario: X\ncases:\n" + "".join(case.format(n=n) for n in range(10_000))
    tracemalloc.start()
    try:
        fast = parse_yaml(text, "big.yaml")
        _, fast_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        slow = _by_node_tree(text)
        _, slow_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fast.data == slow.data and len(fast.data["cases"]) == 10_000
    assert fast_peak * 3 < slow_peak, (fast_peak, slow_peak)
