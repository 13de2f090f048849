from __future__ import annotations

import pytest

from extractors.grounding.scene import build_scene
from extractors.grounding.templates import prose_terms, template_phrases, template_rows
from schemas.ontology import load_ontology
from tests.extractors.grounding.crafted import image, region


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def test_prose_terms_drop_misspellings_plurals_abbreviations(onto):
    terms = prose_terms(onto.get("pleural_effusion"))
    assert terms[0] == "pleural effusion" and "effusion" in terms
    assert not {"effussion", "efusion", "effusions", "pleural effusions", "plueral effusion"} & set(terms)
    assert prose_terms(onto.get("pneumothorax")) == ["pneumothorax"]  # PTX and misspellings left out


def test_lung_finding_phrases_carry_side_and_zone(onto):
    scene = build_scene(image("PA"), [])
    r = region("r1", "pleural_effusion", (62.0, 66.0, 20.0, 15.0))  # patient's left lower zone
    phrases = template_phrases(onto, scene, r, n_variants=6)
    assert phrases[0] == "pleural effusion in the left lower zone"
    assert len(phrases) == 6 == len(set(phrases))
    assert any(p.startswith("left ") for p in phrases)
    assert any("of the left lung" in p for p in phrases)
    assert all("right" not in p for p in phrases)
    assert any(p.split(" in ")[0] in {"effusion", "pleural fluid", "hydrothorax"} for p in phrases)


def test_phrases_are_deterministic_and_follow_the_view(onto):
    r = region("r1", "nodule", (62.0, 12.0, 10.0, 10.0))
    pa = template_phrases(onto, build_scene(image("PA"), []), r)
    assert pa == template_phrases(onto, build_scene(image("PA"), []), dict(r))
    lateral = template_phrases(onto, build_scene(image("LL"), []), r)
    assert all("left" not in p and "right" not in p for p in lateral)
    assert lateral[0] == "nodule in the upper zone"
    ct = template_phrases(onto, build_scene(image("axial", "CT"), [], "neurological"), r)
    assert "right nodule" in ct and all("zone" not in p for p in ct)


def test_midline_and_anatomy_regions_and_unlabelled(onto):
    scene = build_scene(image("PA"), [])
    heart = template_phrases(onto, scene, region("h", "cardiomegaly", (62.0, 40.0, 20.0, 20.0)))
    assert heart[0] == "cardiomegaly" and all("left" not in p for p in heart)
    assert template_phrases(onto, scene, region("a", "left_lung", (55.0, 10.0, 35.0, 70.0)))[0] == "left lung"
    assert template_phrases(onto, scene, region("u", None, (1.0, 1.0, 5.0, 5.0), origin="sam_auto")) == []


def test_template_rows(onto):
    regions = [region("r2", "nodule", (62.0, 12.0, 10.0, 10.0)), region("r1", "mass", (10.0, 12.0, 10.0, 10.0))]
    rows = template_rows(onto, build_scene(image("PA"), regions), regions, n_variants=3)
    assert [r["region_id"] for r in rows] == ["r1"] * 3 + ["r2"] * 3
    assert {r["method"] for r in rows} == {"template"} and all(r["finding_id"] is None for r in rows)
    assert len({r["grounding_id"] for r in rows}) == 6
