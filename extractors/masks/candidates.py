"""Candidate masks inside one box prompt, and their GT-free features (numpy + OpenCV, no torch).

A candidate is a named full-size bool mask clipped to the prompt box. `classical_candidates` makes
the model-free ones (box fill, inscribed ellipse, GrabCut, Otsu-in-box, each of the last two also
with all its connected components kept, for boxes that hold several parts); model candidates
(LiteMedSAM's single and multimask outputs, jittered boxes) are added by the caller. `features`
measures each candidate without ground truth: its own model scores, how tightly it fills the
prompt box (a tight box touches the object on all four sides), and how much the other candidates
agree with it (mean IoU with the rest, the ensemble's vote). Given the image, `features` also
measures how each candidate fits the pixels (`image_features`: the classical segmentation-quality
measures, scale-free, on a window just larger than the box). Choosing among them is
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
RING = 0.1  # the ring of `image_features`' purity: this fraction of the box's long side (at least 2 px)


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


def features(cands: list[Candidate], box: np.ndarray, image: np.ndarray | None = None) -> None:
    """Fill each candidate's `feats`: fill (area / box area), tight (IoU of its own box with the
    prompt box), agree (mean IoU with the voting candidates other than itself), parts, the model's
    pred_iou and stability (NaN for model-free ones); with `image` (the array the masks cover) also
    `image_features`' purity and homog."""
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
    if image is not None:
        for c, extra in zip(cands, image_features(image, box, [c.mask for c in cands]), strict=True):
            c.feats.update(extra)


def image_features(image: np.ndarray, box: np.ndarray, masks: list[np.ndarray]) -> list[dict[str, float]]:
    """GT-free fit of each full-size bool mask to the grey pixels around it (numpy + OpenCV), both
    invariant to the image's intensity scale and offset (8-bit CT, photos alike):

    - purity: how well one intensity threshold splits the mask from a ring just outside it (the
      mask dilated by `RING` of the box's long side, at least 2 px, may leave the box: the box
      fill's ring is the context around the box): the threshold halfway between the medians of
      the mask and the ring on the Gaussian-smoothed (sigma 1 px) grey, purity the balanced
      accuracy of that split (0.5: no separation, 1: perfect; 0.5 for an empty mask or ring);
    - homog: the standard deviation of the grey inside the mask over that of the whole box (low:
      the mask holds one tissue; 1 for an empty mask).
    """
    gray = to_gray(np.asarray(image))
    h, w = gray.shape
    ys, xs = box_slices(box, h, w)
    bh, bw = ys.stop - ys.start, xs.stop - xs.start
    rad = max(2, round(RING * max(bh, bw)))
    y0, x0 = max(0, ys.start - rad - 2), max(0, xs.start - rad - 2)
    y1, x1 = min(h, ys.stop + rad + 2), min(w, xs.stop + rad + 2)
    win = gray[y0:y1, x0:x1].astype(np.float32)
    smooth = cv2.GaussianBlur(win, (0, 0), 1.0)
    box_std = float(gray[ys, xs].astype(np.float32).std()) + 1e-6
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rad + 1, 2 * rad + 1))
    out = []
    for mask in masks:
        m = mask[y0:y1, x0:x1].astype(np.uint8)
        if not m.any():
            out.append({"purity": 0.5, "homog": 1.0})
            continue
        ring = (cv2.dilate(m, kernel) > 0) & (m == 0)
        out.append({"purity": _purity(smooth[m > 0], smooth[ring]),
                    "homog": float(win[m > 0].std()) / box_std})
    return out


def _purity(inside: np.ndarray, ring: np.ndarray) -> float:
    """Balanced accuracy of the threshold halfway between the two medians (see `image_features`)."""
    if len(ring) < 2:
        return 0.5
    mi, mo = float(np.median(inside)), float(np.median(ring))
    t = (mi + mo) / 2
    if mi >= mo:
        return 0.5 * (float((inside > t).mean()) + float((ring <= t).mean()))
    return 0.5 * (float((inside < t).mean()) + float((ring >= t).mean()))


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
