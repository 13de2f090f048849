from __future__ import annotations

import pytest

from extractors.grounding.anatomy import anatomy_links, sided_locations
from schemas.ontology import load_ontology
from tests.extractors.grounding.crafted import finding, rect, region

SENT_LEFT = "Small left pleural effusion with left lower lobe atelectasis."
SENT_NEG = "No pneumothorax in the right lung."


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def test_sided_locations(onto):
    assert sided_locations(onto, ["lung"], "left") == ["left_lung"]
    assert sided_locations(onto, ["hilum"], "right") == ["right_hilum"]
    assert sided_locations(onto, ["costophrenic_angle"], "left") == ["left_costophrenic_angle"]
    assert sided_locations(onto, ["lung"], "none") == ["lung"]
    assert sided_locations(onto, ["lung_base", "unknown_code"], "left") == ["lung_base"]


def test_sentences_link_to_the_anatomy_they_name(onto):
    regions = [
        region("left", "left_lung", mask=rect(55, 10, 92, 85)),
        region("right", "right_lung", mask=rect(8, 10, 45, 85)),
        region("heart", "heart", mask=rect(40, 40, 65, 75)),
        region("les", "nodule", (60.0, 20.0, 5.0, 5.0)),  # lesions are not anatomy
    ]
    findings = [
        finding("f1", "atelectasis", laterality="left", location_codes=["left_lower_lobe"], sentence=SENT_LEFT),
        finding("f0", "pleural_effusion", laterality="left", location_codes=["lung"], sentence=SENT_LEFT),
        finding("f2", "pneumothorax", certainty="absent", laterality="right", location_codes=["lung"],
                sentence=SENT_NEG),
        finding("f3", "cardiomegaly", sentence="Heart size is enlarged."),  # no location: no anatomy link
    ]
    rows = anatomy_links(onto, "img0", findings, regions)
    got = {(r["phrase"], r["region_id"]): r for r in rows}
    assert set(got) == {(SENT_LEFT, "left"), (SENT_NEG, "right")}
    left = got[(SENT_LEFT, "left")]
    assert left["method"] == "anatomy" and left["code_match"] == "exact" and left["score"] == 1.0
    assert got[(SENT_NEG, "right")]["flags"] == ["certainty_absent"]
    assert anatomy_links(onto, "img0", findings, regions[3:]) == []
