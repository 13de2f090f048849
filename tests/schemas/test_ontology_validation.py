"""Integrity checks make a bad ontology impossible to load; diff reports what changed between versions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from schemas.ontology import OntologyError, diff, load_ontology
from schemas.ontology_load import find_cycles

BASE = {
    "version": "1.0.0",
    "nodes": [
        {"code": "chest", "name": "chest", "kind": "anatomy", "synonyms": ["thorax"]},
        {"code": "lung", "name": "lung", "parent": "chest", "synonyms": ["lungs"]},
        {"code": "opacity", "name": "lung opacity", "kind": "finding", "sites": ["lung"], "modalities": ["DX"]},
        {"code": "consolidation", "name": "consolidation", "parent": "opacity", "synonyms": ["consolidations"]},
    ],
    "label_maps": {"sources.x": {"labels": {"Opac": "opacity"}, "dropped": {"Other": "not a finding"}}},
    "label_sets": {"x": [["Opac", "opacity"]]},
}


def write(tmp_path: Path, doc: dict, name: str = "onto.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def problems_of(tmp_path: Path, doc: dict) -> list[str]:
    with pytest.raises(OntologyError) as info:
        load_ontology(write(tmp_path, doc))
    return info.value.problems


def with_nodes(*changes: dict) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(BASE))
    doc["nodes"].extend(changes)
    return doc


def test_small_ontology_loads_with_inheritance(tmp_path: Path) -> None:
    onto = load_ontology(write(tmp_path, BASE))
    node = onto.get("consolidation")
    assert node.kind == "finding" and node.sites == ("lung",) and node.modalities == ("DX",)
    assert onto.label_map("sources.x") == {"Opac": "opacity", "Other": None}


def test_synonym_collision_across_nodes_is_impossible(tmp_path: Path) -> None:
    doc = with_nodes({"code": "atelectasis", "name": "atelectasis", "parent": "opacity", "synonyms": ["Lungs"]})
    assert any("'lungs'" in p and "'lung'" in p for p in problems_of(tmp_path, doc))
    # a collision through punctuation/case is still a collision
    doc = with_nodes({"code": "other", "name": "Consolidation!", "parent": "opacity"})
    assert problems_of(tmp_path, doc)


def test_cycle_is_rejected(tmp_path: Path) -> None:
    doc = with_nodes(
        {"code": "a", "name": "a", "kind": "finding", "parent": "b"},
        {"code": "b", "name": "b", "kind": "finding", "parent": "a"},
    )
    assert "cycle through 'a'" in problems_of(tmp_path, doc)
    assert find_cycles({"a": "b", "b": "c", "c": "a", "d": None}) == ["a"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"code": "x1", "name": "x1", "parent": "nowhere"}, "dangling parent"),
        ({"code": "x2", "name": "x2", "kind": "finding", "sites": ["opacity"]}, "is not anatomy"),
        ({"code": "x3", "name": "x3", "kind": "finding", "sites": ["nowhere"]}, "dangling site"),
        ({"code": "Bad-Code", "name": "x4", "kind": "finding"}, "lower_snake_case"),
        ({"code": "chest", "name": "chest again", "kind": "anatomy"}, "duplicate code"),
        ({"code": "x5", "name": "x5"}, "must declare its kind"),
        ({"code": "x6", "name": "x6", "kind": "finding", "colour": "red"}, "unknown keys"),
    ],
)
def test_node_problems(tmp_path: Path, change: dict, needle: str) -> None:
    assert any(needle in p for p in problems_of(tmp_path, with_nodes(change)))


def test_label_map_and_set_targets_must_exist(tmp_path: Path) -> None:
    doc = with_nodes()
    doc["label_maps"]["sources.x"]["labels"]["Ghost"] = "ghost"
    doc["label_sets"]["x"].append(["Ghost", "ghost2"])
    doc["label_maps"]["sources.x"]["dropped"]["Opac"] = "both"
    problems = problems_of(tmp_path, doc)
    assert any("unknown code 'ghost'" in p for p in problems)
    assert any("unknown code 'ghost2'" in p for p in problems)
    assert any("both mapped and dropped" in p for p in problems)


def test_includes_are_merged(tmp_path: Path) -> None:
    root = {"version": "2.0.0", "include": ["parts/*.yaml"]}
    (tmp_path / "parts").mkdir()
    write(tmp_path / "parts", {"nodes": BASE["nodes"][:2]}, "a.yaml")
    write(tmp_path / "parts", {"nodes": BASE["nodes"][2:]}, "b.yaml")
    onto = load_ontology(write(tmp_path, root, "ontology.yaml").parent)
    assert onto.version == "2.0.0" and len(onto) == 4
    assert onto.files == ("ontology.yaml", "parts/a.yaml", "parts/b.yaml")


def test_diff_reports_every_kind_of_change(tmp_path: Path) -> None:
    old = load_ontology(write(tmp_path, BASE, "old.yaml"))
    doc = with_nodes({"code": "nodule", "name": "nodule", "kind": "finding"})
    doc["version"] = "1.1.0"
    nodes = {n["code"]: n for n in doc["nodes"]}
    nodes["lung"]["name"] = "lungs proper"  # renamed ('lungs' synonym dropped to avoid collision)
    nodes["lung"]["synonyms"] = ["pulmonary"]
    nodes["consolidation"]["parent"] = "nodule"  # reparented
    nodes["opacity"]["code"] = "lung_opacity"  # recoded, same name
    nodes["consolidation"]["parent"] = "nodule"
    doc["label_maps"]["sources.x"]["labels"]["Opac"] = "lung_opacity"
    doc["label_sets"]["x"] = [["Opac", "lung_opacity"]]
    new = load_ontology(write(tmp_path, doc, "new.yaml"))
    d = diff(old, new)
    assert d.added == ["nodule"] and d.removed == []
    assert d.recoded == {"opacity": "lung_opacity"}
    assert d.renamed == {"lung": ("lung", "lungs proper")}
    assert d.reparented == {"consolidation": ("opacity", "nodule")}
    assert d.synonyms_added == {"lung": ["pulmonary"]} and d.synonyms_removed == {"lung": ["lungs"]}
    assert d.label_maps_changed == {"sources.x": ["Opac"]}
    assert "~ recoded opacity → lung_opacity" in d.lines()
    assert diff(old, old).is_empty()


@pytest.mark.parametrize(
    ("implies", "needle"),
    [
        (["ghost"], "implies unknown code 'ghost'"),
        (["opacity"], "which it already is"),
        (["lung"], "of another kind"),
    ],
)
def test_implies_targets_are_checked(tmp_path: Path, implies: list[str], needle: str) -> None:
    doc = with_nodes({"code": "x", "name": "x", "parent": "consolidation", "implies": implies})
    assert any(needle in p for p in problems_of(tmp_path, doc))


def test_implies_closure_and_diff(tmp_path: Path) -> None:
    doc = with_nodes(
        {"code": "edema", "name": "edema", "parent": "opacity"},
        {"code": "congestion", "name": "congestion", "kind": "finding", "implies": ["edema"]},
        {"code": "severe_congestion", "name": "severe congestion", "parent": "congestion"},
    )
    new = load_ontology(write(tmp_path, doc, "n.yaml"))
    assert new.implied("severe_congestion") == ["congestion", "edema", "opacity"]
    assert new.entails("severe_congestion", "opacity") and not new.is_a("severe_congestion", "opacity")
    doc["nodes"][-2]["implies"] = []
    assert diff(new, load_ontology(write(tmp_path, doc, "n2.yaml"))).implies_changed == {
        "congestion": (["edema"], [])}


def test_a_totalsegmentator_class_names_one_node(tmp_path: Path) -> None:
    doc = with_nodes(
        {"code": "left_lung", "name": "left lung", "parent": "lung", "xrefs": {"totalsegmentator": ["lung_left"]}},
        {"code": "lung_l", "name": "lung l", "parent": "lung", "xrefs": {"totalsegmentator": "lung_left"}},
    )
    assert any("xref totalsegmentator:lung_left" in p for p in problems_of(tmp_path, doc))
