"""Dense automatic masks for images without annotations, as segment-anything's
`SamAutomaticMaskGenerator` makes them (one crop layer), over any SAM-family backbone.

Prompt grid: for models that take points (SAM ViT-B/L/H), a regular grid of single foreground
points, each giving SAM's three candidate masks. LiteMedSAM was trained with boxes only (its point
masks come out empty), so for it the grid is one of boxes: at each scale f in `box_scales`, boxes of
f·W × f·H on a half-overlapping lattice.

Candidates are decoded in batches against the image's one embedding and kept when their predicted
IoU and stability pass the thresholds (0.88 / 0.95, SAM's own); duplicates are removed by
non-maximum suppression on their boxes (IoU 0.7); small holes and islands are cleaned and masks
under the minimum area (0.05% of the image, IMIS) dropped. Every kept mask carries its scores; the
result is sorted by predicted IoU (then position), so it is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from segment_anything.utils.amg import build_point_grid
from torchvision.ops import nms

from extractors.masks.sam.predictor import BatchedSamPredictor, EncodedImage, MaskBatch
from extractors.masks.sam.qc import QcThresholds, clean_mask, count_components, mask_box_xyxy


@dataclass(frozen=True)
class AutoMask:
    mask: np.ndarray  # (H, W) bool, original frame
    box: np.ndarray  # xyxy, x1/y1 exclusive
    predicted_iou: float
    stability: float
    anchor: tuple[float, float]  # centre of the grid point/box that prompted it (original pixels)
    components: int
    cleaned: bool


class AutoMaskGenerator:
    def __init__(
        self,
        predictor: BatchedSamPredictor,
        points_per_side: int = 16,
        thresholds: QcThresholds = QcThresholds(),
        box_nms_thresh: float = 0.7,
        max_masks: int = 100,
        box_scales: tuple[float, ...] = (0.125, 0.25, 0.5),
    ) -> None:
        self.predictor = predictor
        self.points_per_side = points_per_side
        self.thresholds = thresholds
        self.box_nms_thresh = box_nms_thresh
        self.max_masks = max_masks
        self.box_scales = box_scales

    def grid_points(self, height: int, width: int) -> np.ndarray:
        """(P, 2) xy grid in original pixels, as SAM scales its unit grid to the image."""
        return build_point_grid(self.points_per_side) * np.array([width, height], dtype=np.float64)

    def grid_boxes(self, height: int, width: int) -> np.ndarray:
        """(B, 4) xyxy (exclusive) boxes: per scale f, f·W × f·H boxes at a stride of half a box."""
        out = []
        for f in self.box_scales:
            n = max(1, round(2 / f) - 1)
            for cy in np.linspace(f / 2, 1 - f / 2, n):
                for cx in np.linspace(f / 2, 1 - f / 2, n):
                    out.append([(cx - f / 2) * width, (cy - f / 2) * height,
                                (cx + f / 2) * width, (cy + f / 2) * height])
        return np.array(out, dtype=np.float64).reshape(-1, 4)

    def generate(self, enc: EncodedImage) -> list[AutoMask]:
        h, w = enc.frame.height, enc.frame.width
        cands = list(self._candidates(enc))
        if not cands:
            return []
        boxes = np.stack([mask_box_xyxy(c[0]) for c in cands])  # type: ignore[misc]
        scores = torch.tensor([c[1] for c in cands], dtype=torch.float32)
        kept = nms(torch.from_numpy(boxes).float(), scores, self.box_nms_thresh).tolist()
        min_area = max(1, math.ceil(self.thresholds.min_area_frac * h * w))
        out: list[AutoMask] = []
        for idx in kept:
            mask, pred, stab, anchor = cands[idx]
            cleaned, changed = clean_mask(mask, min_area)
            box = mask_box_xyxy(cleaned)
            if box is None or cleaned.sum() < min_area:
                continue
            out.append(AutoMask(cleaned, box, pred, stab, anchor, count_components(cleaned), changed))
        out.sort(key=lambda m: (-m.predicted_iou, m.anchor[1], m.anchor[0]))
        return out[: self.max_masks]

    def _candidates(self, enc: EncodedImage) -> Iterator[tuple[np.ndarray, float, float, tuple[float, float]]]:
        h, w = enc.frame.height, enc.frame.width
        if self.predictor.backbone.accepts_points:
            anchors = self.grid_points(h, w)
            labels = np.ones((len(anchors), 1), dtype=np.int64)
            batches = self.predictor.iter_point_batches(enc, anchors[:, None, :], labels)
        else:
            boxes = self.grid_boxes(h, w)
            anchors = (boxes[:, :2] + boxes[:, 2:]) / 2
            batches = self.predictor.iter_box_batches(enc, boxes)
        t = self.thresholds
        for start, batch in _with_offsets(batches):
            keep = (batch.predicted_iou >= t.pred_iou) & (batch.stability >= t.stability)
            for i, k in zip(*np.nonzero(keep), strict=True):
                if batch.masks[i, k].any():
                    a = anchors[start + i]
                    yield (batch.masks[i, k], float(batch.predicted_iou[i, k]), float(batch.stability[i, k]),
                           (float(a[0]), float(a[1])))


def _with_offsets(batches: Iterator[MaskBatch]) -> Iterator[tuple[int, MaskBatch]]:
    start = 0
    for batch in batches:
        yield start, batch
        start += len(batch.masks)
