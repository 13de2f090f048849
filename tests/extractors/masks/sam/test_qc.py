"""Per-region QC: measures, flags, clean-up and the box-fill fallback."""

from __future__ import annotations

import cv2
import numpy as np

from extractors.masks.sam.qc import (
    QcThresholds,
    assess_region,
    box_fill,
    box_iou,
    clean_mask,
    count_components,
    dice,
    iou,
    mask_box_xyxy,
)


def ellipse(h: int = 100, w: int = 120) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, (60, 50), (40, 25), 0, 0, 360, 1, -1)
    return m.astype(bool)


def test_measures() -> None:
    a = np.zeros((4, 4), bool)
    a[:2, :2] = True
    b = np.zeros((4, 4), bool)
    b[:2, :] = True
    assert dice(a, b) == 2 * 4 / 12 and iou(a, b) == 0.5
    assert dice(a & False, b & False) == 1.0
    np.testing.assert_array_equal(mask_box_xyxy(a), [0, 0, 2, 2])
    assert mask_box_xyxy(a & False) is None
    assert box_iou(np.array([0, 0, 2, 2.0]), np.array([0, 0, 4, 2.0])) == 0.5
    assert box_fill(np.array([0.5, 1, 2.2, 3]), 4, 4).sum() == 3 * 2


def test_clean_fills_holes_drops_islands() -> None:
    m = np.zeros((50, 50), bool)
    m[10:40, 10:40] = True
    m[20, 20] = False  # hole
    m[2, 2] = True  # island
    out, changed = clean_mask(m, min_area=5)
    assert changed and out[20, 20] and not out[2, 2] and count_components(out) == 1
    same, changed = clean_mask(out, min_area=5)
    assert not changed and (same == out).all()
    only_small = np.zeros((50, 50), bool)
    only_small[1, 1] = True
    kept, _ = clean_mask(only_small, min_area=5)
    assert kept.sum() == 1  # the largest island survives


def test_good_mask_kept_with_scores_and_gt_dice() -> None:
    gt = ellipse()
    box = mask_box_xyxy(gt)
    qc = assess_region(gt, 0.95, 0.97, box, gt)
    assert qc.flags == () and qc.dice_vs_gt == 1.0 and qc.box_iou == 1.0 and qc.components == 1
    assert abs(qc.area_fraction - gt.mean()) < 1e-12 and not qc.fallback


def test_fallback_when_box_wins_against_gt() -> None:
    gt = ellipse()
    box = mask_box_xyxy(gt)
    bad = np.zeros_like(gt)
    bad[45:55, 55:65] = True
    qc = assess_region(bad, 0.99, 0.99, box, gt)
    assert qc.fallback and "loses_to_box_vs_gt" in qc.flags
    assert (qc.mask == box_fill(box, *gt.shape)).all()
    assert qc.dice_vs_gt == dice(box_fill(box, *gt.shape), gt)


def test_fallback_estimated_without_gt_and_on_empty() -> None:
    gt = ellipse()
    box = mask_box_xyxy(gt)
    low = assess_region(gt, 0.5, 0.99, box)  # the model itself expects IoU 0.5; the box fill would get ~0.79
    assert low.fallback and "loses_to_box_estimated" in low.flags and "low_predicted_iou" in low.flags
    confident = assess_region(gt, 0.9, 0.99, box)
    assert not confident.fallback
    empty = assess_region(np.zeros_like(gt), 0.9, 0.99, box)
    assert empty.fallback and "empty_mask" in empty.flags
    off = assess_region(np.zeros_like(gt), 0.9, 0.99, box, allow_fallback=False)
    assert "empty" in off.flags and off.box_iou is None


def test_flags_follow_thresholds() -> None:
    m = np.zeros((100, 100), bool)
    m[10:20, 10:20] = True
    m[60:90, 60:90] = True
    qc = assess_region(m, 0.5, 0.5, np.array([10, 10, 30, 30.0]), allow_fallback=False,
                       thresholds=QcThresholds(min_area_frac=0.001))
    assert {"low_predicted_iou", "unstable", "multi_component", "box_mismatch"} <= set(qc.flags)
    tiny = np.zeros((100, 100), bool)
    tiny[0, 0] = True
    assert "tiny" in assess_region(tiny, 0.99, 0.99, None).flags
