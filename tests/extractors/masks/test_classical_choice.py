"""masks.classical's QC choice: when GrabCut fails or misfires, box fill or the ellipse is chosen by
the evidence (the other classical masks' agreement), never blindly the ellipse."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from extractors.masks.classical import ClassicalBoxMasker
from extractors.masks.rle import mask_iou


def shape_image(kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """A bright rectangle, disk or triangle on a noisy dark background; its tight box (xywh)."""
    rng = np.random.default_rng(seed)
    img = rng.normal(60, 10, (128, 128))
    gt = np.zeros((128, 128), np.uint8)
    if kind == "rect":
        gt[40:80, 30:100] = 1
    elif kind == "triangle":
        cv2.fillPoly(gt, [np.array([[30, 90], [100, 90], [45, 35]], np.int32)], 1)
    else:
        cv2.ellipse(gt, (64, 60), (35, 20), 0, 0, 360, 1, -1)
    img[gt > 0] += 110
    ys, xs = np.nonzero(gt)
    box = (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))
    return np.clip(img, 0, 255).astype(np.uint8), gt.astype(bool), box


def failing_grabcut(self: ClassicalBoxMasker, image: np.ndarray, slices: tuple[slice, slice]) -> np.ndarray:
    raise cv2.error("grabcut failed")


@pytest.mark.parametrize(("kind", "winner"), [("rect", "box_fill"), ("disk", "ellipse")])
def test_failed_grabcut_falls_back_to_what_the_evidence_favours(
    kind: str, winner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    image, gt, box = shape_image(kind)
    monkeypatch.setattr(ClassicalBoxMasker, "grabcut_crop", failing_grabcut)
    result = ClassicalBoxMasker("grabcut").predict(image, box)
    assert result.method == winner
    assert result.flags == [f"fallback_{winner}", "grabcut_failed"]
    assert result.qc_score is not None and 0.0 < result.qc_score <= 1.0
    assert result.candidate_reason is not None
    assert result.candidate_reason.startswith((f"qc={result.qc_score:.4f}>", "box_margin:ellipse:"))
    old = ClassicalBoxMasker("grabcut", qc_choice=False).predict(image, box)  # the ellipse, always
    assert old.method == "ellipse" and old.qc_score is None
    assert mask_iou(result.mask, gt) >= mask_iou(old.mask, gt)


def test_working_grabcut_keeps_its_mask() -> None:
    """A shape neither the box nor the ellipse fits (on a disk the inscribed ellipse is as good)."""
    image, gt, box = shape_image("triangle", seed=1)
    result = ClassicalBoxMasker("grabcut").predict(image, box)
    assert result.method == "grabcut" and result.flags == []
    assert mask_iou(result.mask, gt) > 0.85


def test_degenerate_method_mask_is_never_chosen() -> None:
    flat = np.full((64, 64), 100, np.uint8)  # nothing to separate: Otsu finds no foreground
    result = ClassicalBoxMasker("otsu").predict(flat, (10, 10, 30, 20))
    assert result.method in ("box_fill", "ellipse") and "degenerate_empty" in result.flags
    assert result.flags[0] == f"fallback_{result.method}" and result.mask.any()
    assert not result.mask[:10].any() and not result.mask[:, :10].any()  # still inside the box
