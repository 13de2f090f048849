from __future__ import annotations

import pytest

from extractors.grounding.geometry import Box, lung_field
from extractors.grounding.location import assessable_code, location_agrees, zone_of
from schemas.ontology import load_ontology

FIELD = lung_field([], 100, 100)  # default field: y 8..85, x 8..92
UPPER = Box(20, 12, 15, 12)
LOWER = Box(20, 66, 15, 15)
HILAR = Box(38, 38, 10, 10)
PERIPHERAL_MID = Box(10, 38, 10, 10)


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def test_default_lung_field_is_inside_the_image():
    assert (FIELD.x, FIELD.y, FIELD.w, FIELD.h) == (8.0, 8.0, 84.0, 77.0)
    assert lung_field([Box(10, 10, 30, 60), Box(60, 12, 30, 62)], 100, 100) == Box(10, 10, 80, 64)


@pytest.mark.parametrize(
    ("box", "codes", "agrees"),
    [
        (UPPER, ["upper_lung_zone"], True),
        (UPPER, ["lung_apex"], True),
        (UPPER, ["lower_lung_zone"], False),
        (LOWER, ["lung_base"], True),
        (LOWER, ["left_costophrenic_angle"], True),  # sided child governed by costophrenic_angle
        (LOWER, ["lung_apex", "lung_base"], True),  # any named location may hold it
        (LOWER, ["right_upper_lobe"], False),
        (LOWER, ["right_lower_lobe"], True),
        (HILAR, ["hilum"], True),  # perihilar: central and mid-height
        (PERIPHERAL_MID, ["hilum"], False),  # mid-height but at the lateral edge
        (UPPER, ["heart"], None),  # not assessable from a lung zone
        (UPPER, [], None),
    ],
)
def test_location_agreement(onto, box, codes, agrees):
    assert location_agrees(onto, box, codes, FIELD) is agrees


def test_assessable_code_and_zone(onto):
    assert assessable_code(onto, "left_hilum") == "hilum"
    assert assessable_code(onto, "aorta") is None
    assert zone_of(UPPER, FIELD) == "upper_lung_zone"
    assert zone_of(HILAR, FIELD) == "middle_lung_zone"
    assert zone_of(LOWER, FIELD) == "lower_lung_zone"
