"""Ontology rules on crafted records: implied ancestors, exclusions, modality, containment with masks."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from extractors.ontology_rules import (
    check_containment,
    check_exclusions,
    check_modality,
    implied_path,
    region_mask,
)
from schemas.ontology import load_ontology


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def rle_region(region_id: str, code: str, mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    h, w = mask.shape
    return {"region_id": region_id, "code": code, "rle_counts": rle["counts"].decode(), "mask_height": h,
            "mask_width": w}


def square(y0: int, x0: int, size: int, shape: tuple[int, int] = (64, 64)) -> np.ndarray:
    m = np.zeros(shape, dtype=bool)
    m[y0 : y0 + size, x0 : x0 + size] = True
    return m


def test_implied_ancestors(onto) -> None:
    assert implied_path(onto, "tension_pneumothorax") == ["pleural_abnormality", "pneumothorax", "tension_pneumothorax"]


def test_modality(onto) -> None:
    assert check_modality(onto, "pneumothorax", "DX") is None
    assert check_modality(onto, "pneumothorax", None) is None
    assert check_modality(onto, "lung", "MR") is None  # anatomy: any modality
    flag = check_modality(onto, "polyp", "DX")
    assert flag is not None and flag.text == "ontology.modality:polyp:DX"


def test_no_finding_excludes_findings_per_annotator(onto) -> None:
    records = [
        {"code": "no_finding", "certainty": "present", "annotator": "R1"},
        {"code": "nodule", "certainty": "present", "annotator": "R1"},
        {"code": "nodule", "certainty": "present", "annotator": "R2"},  # another reader: no conflict
        {"code": "support_device", "certainty": "present", "annotator": "R1"},  # devices do not conflict
        {"code": "pneumothorax", "certainty": "absent", "annotator": "R1"},  # absent: no conflict
    ]
    flags = check_exclusions(onto, records)
    assert sorted(flags) == [0, 1]
    assert flags[0].text == "ontology.excludes:no_finding:nodule"
    assert flags[1].text == "ontology.excludes:nodule:no_finding"
    assert check_exclusions(onto, records[2:]) == {}


def test_containment_pass_and_fail_with_masks(onto) -> None:
    lung = rle_region("r_lung", "left_lung", square(0, 0, 40))
    inside = rle_region("r_in", "nodule", square(10, 10, 10))
    straddling = rle_region("r_out", "mass", square(30, 30, 20))  # 100 of 400 px inside
    result = check_containment(onto, [lung, inside, straddling], tolerance=0.1)
    assert sorted(result) == [1, 2]
    assert result[1].overlap == 1.0 and result[1].flag is None and result[1].parent_region_id == "r_lung"
    assert result[2].overlap == pytest.approx(0.25)
    assert result[2].flag is not None and result[2].flag.text == "ontology.outside_parent:mass:left_lung:0.250"
    # within the tolerance: passes
    assert check_containment(onto, [lung, straddling], tolerance=0.8)[1].flag is None


def test_containment_uses_union_of_site_regions_and_ancestors(onto) -> None:
    left = rle_region("l", "left_lung", square(0, 0, 32))
    right = rle_region("r", "right_lung", square(0, 32, 32))
    bridge = rle_region("n", "nodule", square(10, 24, 16))  # half in each lung
    result = check_containment(onto, [left, right, bridge])
    assert result[2].overlap == 1.0 and result[2].parent_codes == ("left_lung", "right_lung")
    # a lobe must be inside its lung (ancestor); the lung is not checked against the lobe
    lobe = rle_region("lobe", "left_upper_lobe", square(30, 0, 20))
    result = check_containment(onto, [left, lobe])
    assert list(result) == [1] and result[1].overlap == pytest.approx(40 / 400)
    # unrelated codes are never compared
    assert check_containment(onto, [left, rle_region("p", "polyp", square(50, 50, 5))]) == {}


def test_box_regions_rasterised_on_image_shape(onto) -> None:
    box = {"region_id": "b", "code": "nodule", "box_x": 4.0, "box_y": 2.0, "box_w": 3.0, "box_h": 2.0}
    mask = region_mask(box, (10, 10))
    assert mask is not None and int(mask.sum()) == 6 and mask[2:4, 4:7].all()
    assert region_mask(box) is None
    lung = rle_region("l", "lung", square(0, 0, 5, shape=(10, 10)))
    result = check_containment(onto, [lung, box], shape=(10, 10))
    assert result[1].overlap == pytest.approx(2 / 6)
