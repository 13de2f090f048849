"""COCO RLE round trips and the box/mask geometry helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_utils

from extractors.masks.rle import (
    box_inside,
    box_iou,
    box_pixel_slices,
    clip_box,
    decode_mask,
    dice,
    encode_mask,
    mask_area,
    mask_box_xywh,
    mask_iou,
)


@settings(max_examples=60, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 40), st.integers(1, 40))))
def test_round_trip_is_exact(mask: np.ndarray) -> None:
    counts, h, w = encode_mask(mask)
    assert isinstance(counts, str)
    assert (h, w) == mask.shape
    back = decode_mask(counts, h, w)
    assert back.dtype == np.bool_
    assert np.array_equal(back, mask)


def test_counts_are_pycocotools_compressed_rle() -> None:
    mask = np.zeros((6, 9), bool)
    mask[2:5, 1:7] = True
    counts, h, w = encode_mask(mask)
    rle = {"size": [h, w], "counts": counts.encode()}
    assert mask_utils.area(rle) == mask_area(mask) == 18
    assert list(mask_utils.toBbox(rle)) == list(mask_box_xywh(mask))  # type: ignore[arg-type]


def test_non_contiguous_and_int_masks_encode_like_bool() -> None:
    base = np.zeros((10, 12), np.uint8)
    base[3:7, 2:9] = 1
    view = np.zeros((10, 24), np.uint8)
    view[:, ::2] = base
    assert encode_mask(view[:, ::2]) == encode_mask(base.astype(bool))
    with pytest.raises(ValueError):
        encode_mask(np.zeros((2, 2, 2), bool))


def test_box_of_mask_is_tight_and_none_when_empty() -> None:
    mask = np.zeros((20, 30), bool)
    assert mask_box_xywh(mask) is None
    mask[4, 7] = True
    assert mask_box_xywh(mask) == (7.0, 4.0, 1.0, 1.0)
    mask[10:15, 20:29] = True
    assert mask_box_xywh(mask) == (7.0, 4.0, 22.0, 11.0)


def test_box_iou_known_values() -> None:
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    assert box_iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


def test_dice_and_mask_iou_known_values() -> None:
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    assert dice(a, b) == 1.0
    a[0, :] = True
    b[0, :2] = True
    assert dice(a, b) == pytest.approx(2 * 2 / 6)
    assert mask_iou(a, b) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        dice(a, np.zeros((3, 3), bool))


def test_box_inside_with_tolerance() -> None:
    assert box_inside((0, 0, 100, 50), height=50, width=100)
    assert box_inside((-0.4, 0, 100.3, 50), height=50, width=100)
    assert not box_inside((-1, 0, 10, 10), height=50, width=100)
    assert not box_inside((95, 0, 10, 10), height=50, width=100)
    assert not box_inside((10, 10, 0, 5), height=50, width=100)
    assert not box_inside((float("nan"), 0, 5, 5), height=50, width=100)


def test_clip_box() -> None:
    assert clip_box((-5, -5, 20, 20), height=10, width=12) == (0.0, 0.0, 12.0, 10.0)
    assert clip_box((3, 4, 2, 2), height=10, width=12) == (3.0, 4.0, 2.0, 2.0)
    assert clip_box((20, 4, 2, 2), height=10, width=12) is None
    assert clip_box((5, 5, 0, 3), height=10, width=12) is None


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 60), st.integers(1, 60),
    st.floats(-20, 80, allow_nan=False), st.floats(-20, 80, allow_nan=False),
    st.floats(0.01, 90), st.floats(0.01, 90),
)
def test_pixel_slices_touch_the_box_only(h: int, w: int, x: float, y: float, bw: float, bh: float) -> None:
    slices = box_pixel_slices((x, y, bw, bh), h, w)
    if clip_box((x, y, bw, bh), h, w) is None:
        assert slices is None
        return
    assert slices is not None
    rows, cols = slices
    assert 0 <= rows.start < rows.stop <= h and 0 <= cols.start < cols.stop <= w
    # every selected pixel [i, i+1) overlaps the box
    assert cols.start + 1 >= x and cols.stop - 1 <= x + bw
    assert rows.start + 1 >= y and rows.stop - 1 <= y + bh
