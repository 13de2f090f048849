from __future__ import annotations

import numpy as np

from extractors.grounding.geometry import overlap, region_box, region_mask, side_fractions
from tests.extractors.grounding.crafted import H, W, rect, region


def test_box_only_region_rasterises_to_its_rectangle():
    r = region("b", "nodule", (10.0, 20.0, 5.0, 4.0))
    mask = region_mask(r, H, W)
    assert mask.sum() == 20 and mask[20:24, 10:15].all()
    assert region_box(region("x", "nodule")) is None and region_mask(region("x", "nodule"), H, W) is None


def test_rle_round_trip_and_shape_mismatch():
    m = rect(3, 4, 9, 7)
    r = region("m", "mass", mask=m)
    assert np.array_equal(region_mask(r, H, W), m)
    assert region_mask(r, H + 1, W) is None


def test_side_fractions_and_overlap():
    assert side_fractions(region("b", "nodule", (40.0, 0.0, 20.0, 5.0)), 50.0) == (0.5, 0.5)
    left, right = side_fractions(region("m", "mass", mask=rect(40, 0, 50, 5) | rect(50, 0, 90, 1)), 50.0)
    assert (left, right) == (50 / 90, 40 / 90)
    inner, outer = region("i", None, mask=rect(0, 0, 10, 10)), region("o", "lung", (5.0, 0.0, 20.0, 10.0))
    contain, iou = overlap(inner, outer, H, W)
    assert contain == 0.5 and iou == 50 / 250
