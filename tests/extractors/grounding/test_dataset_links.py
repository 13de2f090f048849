from __future__ import annotations

import pytest

from extractors.grounding.dataset_links import dataset_links, phrase_locations
from extractors.grounding.scene import build_scene
from schemas.ontology import load_ontology
from tests.extractors.grounding.crafted import image, region


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def test_phrase_locations(onto):
    assert phrase_locations(onto, "Left basilar opacity") == ["lung_base"]
    assert phrase_locations(onto, "opacity in the right upper lobe") == ["right_upper_lobe"]


def test_dataset_phrases_pass_through_with_evidence(onto):
    regions = [region("a", "pneumonia", (62.0, 62.0, 20.0, 18.0)), region("b", "pneumonia", (18.0, 12.0, 20.0, 12.0))]
    scene = build_scene(image("AP"), regions)
    phrases = {"a": ["Left basilar opacity"], "b": ["left lower lobe consolidation"]}
    rows = {r["region_id"]: r for r in dataset_links(onto, scene, regions, phrases)}
    assert rows["a"]["method"] == "dataset" and rows["a"]["score"] == 1.0 and rows["a"]["code"] == "pneumonia"
    assert rows["a"]["laterality_agrees"] is True and rows["a"]["location_agrees"] is True
    assert rows["a"]["flags"] == []
    # region b lies in the patient's right upper zone: the phrase contradicts it, the link is kept, flagged
    assert rows["b"]["laterality_agrees"] is False
    assert rows["b"]["flags"] == ["laterality_conflict", "location_conflict"]
    assert dataset_links(onto, scene, regions, {}) == []
