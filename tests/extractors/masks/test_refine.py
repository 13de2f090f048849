"""Intensity refinement of a candidate mask inside its box, on images drawn here (no torch)."""

from __future__ import annotations

import cv2
import numpy as np

from extractors.masks.candidates import in_box
from extractors.masks.refine import BAND, MIN_PIXELS, intensity_refined, refined_crop


def organ() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A bright ellipse (the organ) in dark noisy fat; its tight box."""
    rng = np.random.default_rng(3)
    img = rng.normal(60, 6, (100, 120))
    gt = np.zeros((100, 120), np.uint8)
    cv2.ellipse(gt, (60, 50), (30, 18), 15, 0, 360, 1, -1)
    img[gt > 0] = rng.normal(170, 6, int(gt.sum()))
    ys, xs = np.nonzero(gt)
    box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float64)
    return np.clip(img, 0, 255).astype(np.uint8), gt.astype(bool), box


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * float((a & b).sum()) / float(a.sum() + b.sum())


def test_a_spilling_mask_is_pulled_back_to_the_organ() -> None:
    img, gt, box = organ()
    spill = in_box(cv2.dilate(gt.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool), box)
    out = intensity_refined(img, spill, box)
    assert dice(out, gt) > 0.95 > dice(spill, gt)
    assert not (out & ~in_box(np.ones_like(out), box)).any()  # stays in the box


def test_a_short_mask_grows_to_the_organ_within_its_band() -> None:
    img, gt, box = organ()
    short = gt & (np.arange(gt.shape[1]) < 70)[None, :]  # stops short of the right end
    out = intensity_refined(img, short, box)
    assert dice(out, gt) > dice(short, gt) + 0.03 and (out & ~short).any()
    reach = round(BAND * (box[2] - box[0]))  # no further than the band around the mask
    assert not out[:, 70 + reach:].any()


def test_holes_filled_and_one_part_kept() -> None:
    img, gt, box = organ()
    holed = gt.copy()
    holed[48:53, 55:60] = False
    img = img.copy()
    img[48:53, 55:60] = 60  # a dark hole in the organ
    island = np.zeros_like(gt)
    island[int(box[1]):int(box[1]) + 4, int(box[0]):int(box[0]) + 4] = True
    out = intensity_refined(img, holed | island, box)
    assert out[50, 57] and not out[int(box[1]) + 1, int(box[0]) + 1]
    n, _ = cv2.connectedComponents(out.astype(np.uint8), connectivity=8)
    assert n - 1 == 1


def test_reads_only_the_box_and_is_deterministic() -> None:
    img, gt, box = organ()
    other = img.copy()
    other[:, :20] = 255  # outside the box
    other[:5, :] = 0
    a, b = intensity_refined(img, gt, box), intensity_refined(other, gt, box)
    assert np.array_equal(a, b) and np.array_equal(a, intensity_refined(img, gt, box))
    rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)  # colour input: its grey is the same image
    assert np.array_equal(intensity_refined(rgb, gt, box), a)


def test_tiny_masks_come_back_unchanged() -> None:
    img, gt, box = organ()
    tiny = np.zeros_like(gt)
    tiny[50, 50:50 + MIN_PIXELS - 1] = True
    assert np.array_equal(intensity_refined(img, tiny, box), tiny)
    empty = np.zeros((10, 10), bool)
    assert not refined_crop(np.zeros((10, 10), np.uint8), empty).any()
