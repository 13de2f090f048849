"""Diffuse-target guard: box fill where the box holds no visible boundary and no model is confident.

Issue 16's hidden set: diffuse chest-film regions scored 0.422 with LiteMedSAM against 0.636 for
filling the box. Such a target has no edge inside its box for any candidate to follow, and the
model says so with a low predicted IoU. The guard keeps the floor (box fill) when both hold:

- contrast: the 5th-95th percentile spread of the grey box crop, smoothed by a Gaussian of 5% of
  the box's long side (noise removed, shading kept), as a fraction of 255, below `CONTRAST_BELOW`;
- confidence: the highest predicted IoU among the model candidates below `PRED_IOU_BELOW`.

Modality-agnostic (no HU, no CT rule). The thresholds are guesses, not fits: nothing here has a
diffuse target with ground truth. They were set from the BTCV tune half so that the guard leaves CT
organs alone (the lowest highest-predicted-IoU of a tune box is 0.699; the median box contrast is
0.054, so contrast alone would not separate them); `bench/masks_quality.py` is unchanged with it
(no box of either half guarded: tune 0.843, report 0.814). Its behaviour is tested on synthetic
low-contrast images only (tests/extractors/masks/test_guard.py: unit tests, not accuracy).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from extractors.masks.candidates import Candidate, box_slices
from extractors.masks.classical import to_gray

CONTRAST_BELOW = 0.10
PRED_IOU_BELOW = 0.60


def box_contrast(image: np.ndarray, box: np.ndarray) -> float:
    """5th-95th percentile spread of the smoothed grey crop of `box` (xyxy), as a fraction of 255."""
    gray = to_gray(np.asarray(image))
    sl = box_slices(box, gray.shape[0], gray.shape[1])
    crop = gray[sl].astype(np.float32)
    sigma = max(1.0, 0.05 * max(crop.shape))
    smooth = cv2.GaussianBlur(crop, (0, 0), sigma)
    lo, hi = np.percentile(smooth, [5, 95])
    return float(hi - lo) / 255.0


def diffuse_reason(image: np.ndarray, box: np.ndarray, cands: list[Candidate]) -> str:
    """Why the guard keeps box fill here ("diffuse:contrast=0.031<0.1,pred_iou=0.52<0.6"), or ""."""
    preds = [c.predicted_iou for c in cands if c.predicted_iou is not None and not math.isnan(c.predicted_iou)]
    if not preds or max(preds) >= PRED_IOU_BELOW:
        return ""
    contrast = box_contrast(image, box)
    if contrast >= CONTRAST_BELOW:
        return ""
    return f"diffuse:contrast={contrast:.3f}<{CONTRAST_BELOW},pred_iou={max(preds):.3f}<{PRED_IOU_BELOW}"
