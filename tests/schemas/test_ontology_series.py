"""Node series: one template expanded over a number range, explicit values and sides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from schemas.ontology import load_ontology
from schemas.ontology_series import expand_series, ordinal


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "112th"]  # fmt: skip


def test_range_times_sides_in_order_with_laterality() -> None:
    spec = {"range": [1, 2], "sides": ["left", "right"],
            "template": {"code": "{side}_rib_{n}", "name": "{side} {ord} rib", "parent": "{side}_ribs",
                         "synonyms": ["rib {n}"], "xrefs": {"ts": "rib_{side}_{n}"}}}
    nodes = expand_series([spec])
    assert [n["code"] for n in nodes] == ["left_rib_1", "right_rib_1", "left_rib_2", "right_rib_2"]
    assert nodes[3] == {"code": "right_rib_2", "name": "right 2nd rib", "parent": "right_ribs",
                        "synonyms": ["rib 2"], "xrefs": {"ts": "rib_right_2"}, "laterality": "right"}


def test_each_values_and_errors() -> None:
    nodes = expand_series([{"each": [{"k": "a"}, {"k": "b"}], "template": {"code": "x_{k}", "name": "{k}"}}])
    assert [n["code"] for n in nodes] == ["x_a", "x_b"] and "laterality" not in nodes[0]
    with pytest.raises(ValueError, match="unknown placeholder"):
        expand_series([{"range": [1, 1], "template": {"code": "x_{side}", "name": "x"}}])
    with pytest.raises(ValueError, match="template"):
        expand_series([{"range": [1, 1], "template": {"code": "x"}, "colour": "red"}])


def test_series_load_into_an_ontology(tmp_path: Path) -> None:
    doc = {"version": "1.0.0",
           "nodes": [{"code": "spine", "name": "spine", "kind": "anatomy"}],
           "series": [{"range": [1, 3], "template": {
               "code": "vertebra_l{n}", "name": "L{n} vertebra", "parent": "spine",
               "xrefs": {"totalsegmentator": "vertebrae_L{n}"}}}]}
    path = tmp_path / "onto.yaml"
    path.write_text(yaml.safe_dump(doc))
    onto = load_ontology(path)
    assert onto.children("spine") == ["vertebra_l1", "vertebra_l2", "vertebra_l3"]
    assert onto.get("vertebra_l2").kind == "anatomy"
    assert onto.by_xref("totalsegmentator", "vertebrae_L3") == "vertebra_l3"
