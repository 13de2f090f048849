from __future__ import annotations

import pytest

from extractors.grounding.laterality import (
    code_side,
    expected_side,
    patient_left_on,
    region_side,
    side_agrees,
    text_side,
)
from schemas.ontology import load_ontology
from tests.extractors.grounding.crafted import disk, region

RIGHT_OF_IMAGE = (60.0, 40.0, 20.0, 20.0)  # x 60..80 of a 100-px image
LEFT_OF_IMAGE = (15.0, 40.0, 20.0, 20.0)


@pytest.mark.parametrize(
    ("view", "modality", "orientation", "left_on"),
    [
        ("PA", "DX", None, "right"),  # radiological convention: patient's left on the image's right
        ("AP", "CR", None, "right"),
        ("AP supine", "CR", None, "right"),
        ("LL", "DX", None, None),  # lateral: undeterminable
        ("LATERAL", "CR", None, None),
        (None, "DX", None, None),  # unknown view: never guessed
        ("axial", "CT", None, None),  # CT without orientation: undeterminable
        ("axial", "CT", "radiological", "right"),  # RAS-reoriented, displayed radiologically
        ("axial", "MR", "neurological", "left"),
        ("axial", "CT", "LP", "right"),  # LPS axial as stored: +x points to the patient's left
        ("axial", "CT", "RA", "left"),
        ("sagittal", "MR", "AS", None),  # +x runs anterior-posterior: no sides in the image
    ],
)
def test_patient_left_on_follows_view_and_orientation(view, modality, orientation, left_on):
    assert patient_left_on(view, modality, orientation) == left_on


def test_region_on_image_right_is_patient_left_on_pa_and_right_on_neurological():
    r = region("r1", "nodule", RIGHT_OF_IMAGE)
    assert region_side(r, patient_left_on("PA", "DX", None), 50.0) == "left"
    assert region_side(r, patient_left_on("AP", "CR", None), 50.0) == "left"
    assert region_side(r, patient_left_on("axial", "MR", "neurological"), 50.0) == "right"
    assert region_side(r, patient_left_on("LL", "DX", None), 50.0) is None


def test_region_side_spanning_midline_is_bilateral_and_masks_count_pixels():
    assert region_side(region("r", "cardiomegaly", (30.0, 40.0, 40.0, 30.0)), "right", 50.0) == "bilateral"
    # the mask's box spans the midline, but 90% of its pixels lie on the image's left
    mask = disk(30, 50, 12)
    mask[50, 30:70] = True
    r = region("m", "mass", mask=mask)
    assert r["box_x"] + r["box_w"] > 50  # box alone would say "spans the midline"
    assert region_side(r, "right", 50.0) == "right"


def test_expected_side_from_laterality_or_sided_anatomy():
    onto = load_ontology()
    assert expected_side(onto, "left", []) == "left"
    assert expected_side(onto, "none", ["right_lower_lobe"]) == "right"
    assert expected_side(onto, None, ["lingula"]) == "left"
    assert expected_side(onto, "none", ["left_hilum", "right_hilum"]) == "bilateral"
    assert expected_side(onto, "none", ["lung_base"]) is None
    assert code_side(onto, "left_costophrenic_angle") == "left"


def test_text_side_and_agreement():
    assert text_side("Left basilar opacity") == "left"
    assert text_side("bibasilar atelectasis") == "bilateral"
    assert text_side("opacity in the right upper lobe") == "right"
    assert text_side("cardiomegaly") is None
    assert side_agrees("left", "left") is True
    assert side_agrees("left", "right") is False
    assert side_agrees("bilateral", "right") is True
    assert side_agrees("left", "bilateral") is None
    assert side_agrees(None, "left") is None
    assert side_agrees("left", None) is None
