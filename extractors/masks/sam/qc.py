"""Quality checks of one generated mask, recorded on its region (numpy + OpenCV, no torch).

Per mask: predicted IoU and stability score (from the model), area fraction of the image,
connected components (after a morphological clean-up of islands and holes smaller than the
minimum area, as segment-anything's `remove_small_regions`), the IoU of the mask's box with its
prompt box, and the Dice against a ground-truth mask when the dataset has one.

Fallback: a prompted mask that loses to simply filling its prompt box is replaced by the box fill
and flagged `fallback_box_fill` (plus the reason). With ground truth the comparison is exact (Dice
of each against it); without, the model's own predicted IoU is compared with the IoU the box fill
would get if the mask were right (mask pixels inside the box / box area); an empty mask always
falls back. Thresholds default to segment-anything's automatic generator (0.88 / 0.95) and IMIS's
minimum region of 0.05% of the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class QcThresholds:
    pred_iou: float = 0.88
    stability: float = 0.95
    min_area_frac: float = 0.0005
    box_iou: float = 0.5  # mask box vs prompt box below this → box_mismatch


@dataclass(frozen=True)
class RegionQc:
    mask: np.ndarray  # the mask to write (cleaned, or the box fill on fallback)
    predicted_iou: float
    stability: float
    area_fraction: float
    components: int
    box_iou: float | None
    dice_vs_gt: float | None
    flags: tuple[str, ...]

    @property
    def fallback(self) -> bool:
        return "fallback_box_fill" in self.flags


def dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int(np.logical_or(a, b).sum())
    return 1.0 if union == 0 else int(np.logical_and(a, b).sum()) / union


def box_fill(box: np.ndarray, height: int, width: int) -> np.ndarray:
    """The mask of an xyxy (exclusive) box: every pixel the box touches."""
    x0, y0 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    x1, y1 = min(width, math.ceil(box[2])), min(height, math.ceil(box[3]))
    out = np.zeros((height, width), dtype=bool)
    out[y0:y1, x0:x1] = True
    return out


def mask_box_xyxy(mask: np.ndarray) -> np.ndarray | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float64)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return 0.0 if union <= 0 else float(inter / union)


def clean_mask(mask: np.ndarray, min_area: int) -> tuple[np.ndarray, bool]:
    """Fill holes and drop islands smaller than `min_area` pixels (keeps the largest island)."""
    out = mask.astype(bool)
    changed = False
    _, labels, stats, _ = cv2.connectedComponentsWithStats((~out).astype(np.uint8), connectivity=8)
    holes = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] < min_area) + 1
    if len(holes):
        out, changed = out | np.isin(labels, holes), True
    n, labels, stats, _ = cv2.connectedComponentsWithStats(out.astype(np.uint8), connectivity=8)
    sizes = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(sizes >= min_area) + 1
    if len(keep) == 0 and n > 1:
        keep = np.array([int(np.argmax(sizes)) + 1])
    if len(keep) < n - 1:
        out, changed = np.isin(labels, keep), True
    return out, changed


def count_components(mask: np.ndarray) -> int:
    n, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return int(n - 1)


def assess_region(
    mask: np.ndarray,
    predicted_iou: float,
    stability: float,
    prompt_box: np.ndarray | None,
    gt: np.ndarray | None = None,
    thresholds: QcThresholds = QcThresholds(),
    allow_fallback: bool = True,
) -> RegionQc:
    """Clean `mask`, measure it, flag it, and fall back to the box fill where the box would win."""
    h, w = mask.shape
    min_area = max(1, math.ceil(thresholds.min_area_frac * h * w))
    cleaned, changed = clean_mask(mask, min_area)
    flags: list[str] = ["cleaned"] if changed else []
    final = cleaned
    if prompt_box is not None and allow_fallback:
        fill = box_fill(prompt_box, h, w)
        reason = _fallback_reason(cleaned, fill, predicted_iou, gt)
        if reason:
            final = fill
            flags += ["fallback_box_fill", reason]
    area = int(final.sum())
    mbox = mask_box_xyxy(final)
    biou = box_iou(mbox, prompt_box) if (mbox is not None and prompt_box is not None) else None
    flags += _score_flags(predicted_iou, stability, area / (h * w), thresholds)
    ncomp = count_components(final)
    if area == 0:
        flags.append("empty")
    if ncomp > 1:
        flags.append("multi_component")
    if biou is not None and biou < thresholds.box_iou:
        flags.append("box_mismatch")
    return RegionQc(
        mask=final,
        predicted_iou=float(predicted_iou),
        stability=float(stability),
        area_fraction=area / (h * w),
        components=ncomp,
        box_iou=biou,
        dice_vs_gt=dice(final, gt.astype(bool)) if gt is not None else None,
        flags=tuple(flags),
    )


def _fallback_reason(mask: np.ndarray, fill: np.ndarray, predicted_iou: float, gt: np.ndarray | None) -> str:
    if not mask.any():
        return "empty_mask"
    if gt is not None:
        g = gt.astype(bool)
        return "loses_to_box_vs_gt" if dice(fill, g) > dice(mask, g) else ""
    fill_area = int(fill.sum())
    est_box_iou = int(np.logical_and(mask, fill).sum()) / fill_area if fill_area else 0.0
    return "loses_to_box_estimated" if predicted_iou < est_box_iou else ""


def _score_flags(pred: float, stab: float, area_frac: float, t: QcThresholds) -> list[str]:
    flags = []
    if pred < t.pred_iou:
        flags.append("low_predicted_iou")
    if stab < t.stability:
        flags.append("unstable")
    if area_frac < t.min_area_frac:
        flags.append("tiny")
    return flags
