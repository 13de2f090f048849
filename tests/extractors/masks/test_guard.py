"""The diffuse-target guard on synthetic images drawn here (unit tests, not accuracy; no torch)."""

from __future__ import annotations

import cv2
import numpy as np

from extractors.masks.candidates import BOX_FILL, Candidate, classical_candidates, features, in_box
from extractors.masks.guard import CONTRAST_BELOW, PRED_IOU_BELOW, box_contrast, diffuse_reason
from extractors.masks.select import choose

BOX = np.array([40.0, 30.0, 120.0, 90.0])


def diffuse_film() -> np.ndarray:
    """A faint, wide opacity (8 grey levels over a film-like background) under pixel noise."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:120, 0:160]
    bump = 8.0 * np.exp(-(((xx - 80) / 30.0) ** 2 + ((yy - 60) / 22.0) ** 2))
    return np.clip(110 + bump + rng.normal(0, 10, (120, 160)), 0, 255).astype(np.uint8)


def sharp_disc() -> np.ndarray:
    """A bright disc with a hard edge on a dark noisy background (a visible target)."""
    rng = np.random.default_rng(2)
    img = rng.normal(50, 8, (120, 160))
    mask = np.zeros((120, 160), np.uint8)
    cv2.ellipse(mask, (80, 60), (36, 26), 0, 0, 360, 1, -1)
    img[mask > 0] = 200
    return np.clip(img, 0, 255).astype(np.uint8)


def model_cands(pred_iou: float, image: np.ndarray) -> list[Candidate]:
    """A confident-looking SAM-like blob, agreed on by three voters, plus the classical candidates."""
    blob = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(blob, (80, 60), (30, 20), 0, 0, 360, 1, -1)
    m = in_box(blob.astype(bool), BOX)
    cands = [Candidate(n, m.copy(), pred_iou, 0.97) for n in ("sam", "sam_x", "sam_flip")]
    cands += classical_candidates(image, BOX)
    features(cands, BOX)
    return cands


def test_contrast_separates_diffuse_from_sharp() -> None:
    assert box_contrast(diffuse_film(), BOX) < CONTRAST_BELOW
    assert box_contrast(sharp_disc(), BOX) > 3 * CONTRAST_BELOW
    rgb = cv2.cvtColor(sharp_disc(), cv2.COLOR_GRAY2BGR)  # colour images are measured on their grey
    assert abs(box_contrast(rgb, BOX) - box_contrast(sharp_disc(), BOX)) < 0.02


def test_diffuse_and_unsure_keeps_box_fill() -> None:
    img = diffuse_film()
    cands = model_cands(PRED_IOU_BELOW - 0.1, img)
    unguarded = choose(cands, BOX)  # without the image a shape wins over the box
    assert unguarded.name != BOX_FILL
    choice = choose(cands, BOX, image=img)
    assert choice.name == BOX_FILL
    assert choice.reason.startswith("diffuse:") and choice.reason.endswith(f":{unguarded.name}")
    assert choice.mask[30:90, 40:120].all() and choice.mask.sum() == 80 * 60


def test_guard_needs_both_low_contrast_and_low_confidence() -> None:
    sure = model_cands(PRED_IOU_BELOW + 0.2, diffuse_film())
    assert diffuse_reason(diffuse_film(), BOX, sure) == ""
    assert choose(sure, BOX, image=diffuse_film()).name != BOX_FILL
    unsure_sharp = model_cands(PRED_IOU_BELOW - 0.1, sharp_disc())
    assert diffuse_reason(sharp_disc(), BOX, unsure_sharp) == ""
    assert choose(unsure_sharp, BOX, image=sharp_disc()).name != BOX_FILL


def test_model_free_choice_is_never_guarded() -> None:
    img = diffuse_film()
    cands = classical_candidates(img, BOX)
    features(cands, BOX)
    assert diffuse_reason(img, BOX, cands) == ""  # no model score: nothing says "unsure"
