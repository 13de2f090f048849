"""Model-frame geometry: SAM's resize-long-side shapes and exact prompt round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from extractors.masks.sam.frame import (
    boxes_to_model,
    boxes_to_original,
    clip_box,
    frame_for,
    points_to_model,
    points_to_original,
)


def test_frame_matches_segment_anything_shapes() -> None:
    f = frame_for(512, 512, 1024)
    assert (f.height, f.width, f.new_height, f.new_width) == (512, 512, 1024, 1024)
    f = frame_for(300, 400, 256)
    assert (f.new_height, f.new_width, f.size) == (192, 256, 256)
    f = frame_for(1, 1000, 256)  # a one-row image still keeps one row
    assert (f.new_height, f.new_width) == (1, 256)
    with pytest.raises(ValueError):
        frame_for(0, 10, 256)


def test_box_corner_convention() -> None:
    """x1/y1 exclusive in, inclusive corner indices to the model (SAM's batched_mask_to_box)."""
    f = frame_for(100, 200, 400)  # scale exactly 2
    out = boxes_to_model(np.array([[10, 20, 31, 41]]), f)
    np.testing.assert_array_equal(out, [[20, 40, 60, 80]])


@given(
    h=st.integers(1, 4000), w=st.integers(1, 4000), size=st.sampled_from([256, 1024]),
    x0=st.floats(0, 1), y0=st.floats(0, 1), bw=st.floats(0, 1), bh=st.floats(0, 1),
)
def test_box_round_trip(h: int, w: int, size: int, x0: float, y0: float, bw: float, bh: float) -> None:
    f = frame_for(h, w, size)
    box = np.array([[x0 * w, y0 * h, x0 * w + 1 + bw * w, y0 * h + 1 + bh * h]])
    back = boxes_to_original(boxes_to_model(box, f), f)
    np.testing.assert_allclose(back, box, rtol=1e-12, atol=1e-9)
    assert np.array_equal(np.round(back), np.round(box)) or np.allclose(back, box)


def test_integer_boxes_round_trip_exactly_on_dyadic_scales() -> None:
    for h, w, size in [(512, 512, 1024), (128, 64, 256), (2048, 1024, 1024), (256, 256, 256)]:
        f = frame_for(h, w, size)
        boxes = np.array([[0, 0, w, h], [3, 5, 17, 29], [w - 2, h - 2, w, h]], dtype=np.float64)
        np.testing.assert_array_equal(boxes_to_original(boxes_to_model(boxes, f), f), boxes)


def test_points_round_trip() -> None:
    f = frame_for(333, 517, 1024)
    pts = np.array([[[0.0, 0.0], [516.0, 332.0], [100.5, 7.25]]])
    np.testing.assert_allclose(points_to_original(points_to_model(pts, f), f), pts, atol=1e-9)
    np.testing.assert_allclose(points_to_model(np.array([516.0, 332.0]), f),
                               [516 * f.new_width / 517, 332 * f.new_height / 333])


def test_clip_box() -> None:
    np.testing.assert_array_equal(clip_box(np.array([-5, -1, 20, 300]), 100, 50), [0, 0, 20, 100])
    with pytest.raises(ValueError):
        clip_box(np.array([60, 0, 80, 10]), 100, 50)
