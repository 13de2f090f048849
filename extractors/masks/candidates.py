"""Candidate masks inside one box prompt, and their GT-free features (numpy + OpenCV, no torch).

A candidate is a named full-size bool mask clipped to the prompt box. `classical_candidates` makes
the model-free ones (box fill, inscribed ellipse, GrabCut, Otsu-in-box, each of the last two also
with all its connected components kept, for boxes that hold several parts); model candidates
(LiteMedSAM's single and multimask outputs, jittered boxes) are added by the caller. `features`
measures each candidate without ground truth: its own model scores, how tightly it fills the
prompt box (a tight box touches the object on all four sides), and how much the other candidates
agree with it (mean IoU with the rest, the ensemble's vote). Choosing among them is
`extractors.masks.select`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from extractors.masks.classical import (
    ClassicalBoxMasker,
    ellipse_crop,
    holes_filled,
    largest_filled,
    otsu_crop,
    to_gray,
)

BOX_FILL = "box_fill"
ELLIPSE = "ellipse"
MODEL_FREE = (BOX_FILL, ELLIPSE)  # shapes, not evidence: not voters in the agreement


@dataclass
class Candidate:
    name: str
    mask: np.ndarray  # bool, full image size, inside the prompt box
    predicted_iou: float | None = None  # the model's own estimate (SAM candidates only)
    stability: float | None = None
    feats: dict[str, float] = field(default_factory=dict)


def box_slices(box: np.ndarray, height: int, width: int) -> tuple[slice, slice]:
    """Pixel rows/columns an xyxy (x1/y1 exclusive) box covers, clipped to the image."""
    x0, y0 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    x1, y1 = min(width, math.ceil(box[2])), min(height, math.ceil(box[3]))
    return slice(y0, max(y0 + 1, y1)), slice(x0, max(x0 + 1, x1))


def in_box(mask: np.ndarray, box: np.ndarray) -> np.ndarray:
    """`mask` with everything outside the box cleared."""
    out = np.zeros(mask.shape, bool)
    sl = box_slices(box, *mask.shape)
    out[sl] = mask[sl]
    return out


def classical_candidates(image_u8: np.ndarray, box: np.ndarray) -> list[Candidate]:
    """Box fill, ellipse, GrabCut and Otsu (largest part / all parts) inside `box` (xyxy)."""
    h, w = image_u8.shape[:2]
    return crop_candidates(image_u8, box_slices(box, h, w))


def crop_candidates(image_u8: np.ndarray, sl: tuple[slice, slice],
                    grabcut: np.ndarray | bool | None = True) -> list[Candidate]:
    """`classical_candidates` on the pixel rows/columns `sl`. `grabcut`: True runs GrabCut here;
    a bool crop is a GrabCut result already computed (its raw foreground); None or False: no GrabCut
    candidates (it failed)."""
    h, w = image_u8.shape[:2]
    crop_shape = (sl[0].stop - sl[0].start, sl[1].stop - sl[1].start)
    out = [Candidate(BOX_FILL, _full(np.ones(crop_shape, bool), sl, h, w)),
           Candidate(ELLIPSE, _full(ellipse_crop(crop_shape), sl, h, w))]
    gray = to_gray(np.asarray(image_u8))
    otsu_all = otsu_crop(gray[sl], largest=False)
    out.append(Candidate("otsu", _full(_largest_part(otsu_all), sl, h, w)))
    out.append(Candidate("otsu_parts", _full(otsu_all, sl, h, w)))
    gc: np.ndarray | None = None
    if grabcut is True:
        try:
            gc = ClassicalBoxMasker("grabcut").grabcut_crop(np.asarray(image_u8), sl)
        except cv2.error:
            gc = None
    elif isinstance(grabcut, np.ndarray):
        gc = grabcut
    if gc is not None and gc.any():
        out.append(Candidate("grabcut", _full(_largest_part(gc), sl, h, w)))
        out.append(Candidate("grabcut_parts", _full(holes_filled(gc), sl, h, w)))
    return out


def features(cands: list[Candidate], box: np.ndarray) -> None:
    """Fill each candidate's `feats`: fill (area / box area), tight (IoU of its own box with the
    prompt box), agree (mean IoU with the voting candidates other than itself), parts."""
    h, w = cands[0].mask.shape
    sl = box_slices(box, h, w)
    crops = [c.mask[sl] for c in cands]
    box_area = max(1, crops[0].size)
    voters = [i for i, c in enumerate(cands) if c.name not in MODEL_FREE]
    for i, c in enumerate(cands):
        m = crops[i]
        others = [j for j in voters if j != i]
        agree = float(np.mean([_iou(m, crops[j]) for j in others])) if others else 0.0
        c.feats = {
            "fill": float(m.sum()) / box_area,
            "tight": _tightness(m),
            "agree": agree,
            "parts": float(_parts(m)),
            "pred_iou": float(c.predicted_iou) if c.predicted_iou is not None else float("nan"),
            "stability": float(c.stability) if c.stability is not None else float("nan"),
        }


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int(np.logical_or(a, b).sum())
    return 0.0 if union == 0 else int(np.logical_and(a, b).sum()) / union


def _tightness(crop: np.ndarray) -> float:
    """IoU of the mask's own bounding box with the crop (1 when it touches all four sides)."""
    ys, xs = np.nonzero(crop)
    if len(xs) == 0:
        return 0.0
    inner = (xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1)
    return float(inner) / crop.size


def _parts(mask: np.ndarray) -> int:
    n, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return int(n - 1)


def _full(crop: np.ndarray, sl: tuple[slice, slice], h: int, w: int) -> np.ndarray:
    out = np.zeros((h, w), bool)
    out[sl] = crop
    return out


def _largest_part(fg: np.ndarray) -> np.ndarray:
    return largest_filled(fg).astype(bool)
