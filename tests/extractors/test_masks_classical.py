"""Classical box masks: better than the inscribed ellipse on a bright lesion, always inside the box."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.masks.classical import ClassicalBoxMasker
from extractors.masks.rle import mask_box_xywh, mask_iou
from schemas.errors import BadInput


def disk_image(size: int = 256, center: tuple[int, int] = (120, 130), radius: int = 28, seed: int = 0,
               ) -> tuple[np.ndarray, np.ndarray]:
    """A noisy, blurred bright disk on a darker background with a gradient; returns (image, disk)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    img = 50.0 + 40.0 * xx / size
    disk = (xx - center[0]) ** 2 + (yy - center[1]) ** 2 <= radius**2
    img[disk] += 90.0
    img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 1.5) + rng.normal(0, 10, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), disk


BOX = (72.0, 78.0, 100.0, 110.0)  # the disk (r=28) sits off-centre in a much larger box
# The QC choice (qc_choice, on by default) assumes a tight box (its tightness feature): these loose
# boxes test GrabCut/Otsu themselves; the choice is tested in tests/extractors/masks/test_classical_choice.py
RAW = {"qc_choice": False}


def ellipse_iou(image: np.ndarray, disk: np.ndarray) -> float:
    return mask_iou(ClassicalBoxMasker("ellipse").predict(image, BOX).mask, disk)


@pytest.mark.parametrize("method", ["otsu", "grabcut"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beats_the_ellipse_baseline_on_a_bright_disk(method: str, seed: int) -> None:
    image, disk = disk_image(seed=seed)
    baseline = ellipse_iou(image, disk)
    result = ClassicalBoxMasker(method, **RAW).predict(image, BOX)  # type: ignore[arg-type]
    assert result.method == method and result.flags == []
    iou = mask_iou(result.mask, disk)
    assert baseline < 0.5
    assert iou > 0.85 and iou > baseline + 0.3
    assert result.mask.shape == image.shape and result.mask.dtype == np.bool_
    assert 0.5 < result.score <= 1.0


def test_colour_image_with_grabcut() -> None:
    image, disk = disk_image(seed=3)
    colour = np.stack([image, (image * 0.6).astype(np.uint8), image // 2], axis=-1)
    result = ClassicalBoxMasker("grabcut", **RAW).predict(colour, BOX)
    assert mask_iou(result.mask, disk) > 0.85


def test_dark_lesion_with_otsu_picks_the_inner_class() -> None:
    image, disk = disk_image(seed=4)
    result = ClassicalBoxMasker("otsu", **RAW).predict(255 - image, BOX)
    assert mask_iou(result.mask, disk) > 0.85


def test_degenerate_falls_back_to_ellipse_with_flags() -> None:
    flat = np.full((64, 64), 100, np.uint8)  # without qc_choice (its fallback by QC score: tests/extractors/masks)
    result = ClassicalBoxMasker("otsu", qc_choice=False).predict(flat, (10, 10, 30, 20))
    assert result.method == "ellipse"
    assert result.flags[0] == "fallback_ellipse" and "degenerate_empty" in result.flags
    assert result.mask.any()
    image, _ = disk_image(size=64, center=(32, 32), radius=20)
    whole = ClassicalBoxMasker("grabcut", qc_choice=False).predict(image, (0, 0, 64, 64))  # no background to learn
    assert whole.method == "ellipse" and "fallback_ellipse" in whole.flags


def test_ellipse_is_inscribed_and_symmetric() -> None:
    result = ClassicalBoxMasker("ellipse").predict(np.zeros((50, 60), np.uint8), (10, 5, 40, 30))
    assert mask_box_xywh(result.mask) == (10.0, 5.0, 40.0, 30.0)
    crop = result.mask[5:35, 10:50]
    assert np.array_equal(crop, crop[::-1]) and np.array_equal(crop, crop[:, ::-1])
    assert crop.mean() == pytest.approx(np.pi / 4, abs=0.03)


def test_deterministic() -> None:
    image, _ = disk_image(seed=5)
    for method in ("otsu", "grabcut"):
        a = ClassicalBoxMasker(method).predict(image, BOX)  # type: ignore[arg-type]
        b = ClassicalBoxMasker(method).predict(image, BOX)  # type: ignore[arg-type]
        assert np.array_equal(a.mask, b.mask) and a.score == b.score


def test_box_outside_image_and_bad_method() -> None:
    with pytest.raises(BadInput) as err:
        ClassicalBoxMasker("otsu").predict(np.zeros((10, 10), np.uint8), (20, 20, 5, 5))
    assert err.value.kind == "out_of_bounds"
    with pytest.raises(ValueError):
        ClassicalBoxMasker("watershed")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["otsu", "grabcut", "ellipse"]),
    size=st.tuples(st.integers(8, 48), st.integers(8, 48)),
    box=st.tuples(st.floats(-10, 50), st.floats(-10, 50), st.floats(0.3, 60), st.floats(0.3, 60)),
    seed=st.integers(0, 3),
)
def test_mask_never_leaves_the_box(method: str, size: tuple[int, int], box: tuple[float, ...], seed: int) -> None:
    h, w = size
    x, y, bw, bh = box
    if x + bw <= 0 or y + bh <= 0 or x >= w or y >= h:
        return  # no overlap: refused (tested above)
    image = np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)
    image = cv2.GaussianBlur(image, (0, 0), 2)
    result = ClassicalBoxMasker(method).predict(image, (x, y, bw, bh))  # type: ignore[arg-type]
    assert result.mask.shape == (h, w)
    ys, xs = np.nonzero(result.mask)
    assert len(xs) > 0
    # every mask pixel [i, i+1) overlaps the box
    assert xs.min() + 1 >= x and xs.max() <= x + bw
    assert ys.min() + 1 >= y and ys.max() <= y + bh


def test_grabcut_on_a_large_box_works_on_a_reduced_copy() -> None:
    image, disk = disk_image(size=768, center=(360, 390), radius=84)
    box = (216.0, 234.0, 300.0, 330.0)  # the crop with context exceeds max_side: the reduced path runs
    baseline = mask_iou(ClassicalBoxMasker("ellipse").predict(image, box).mask, disk)
    result = ClassicalBoxMasker("grabcut", max_side=128, **RAW).predict(image, box)
    assert result.flags == [] and mask_iou(result.mask, disk) > max(0.85, baseline + 0.3)
