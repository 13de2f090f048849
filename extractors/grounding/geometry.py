"""Boxes and masks of REGION rows: decoding, image-half fractions, the lung field and overlaps.

Masks are COCO compressed RLE (`rle_counts`, `mask_height`, `mask_width`); a box-only region is
treated as its filled rectangle. Coordinates are pixels of the written image, boxes xywh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

# Where the lungs lie on a frontal chest film when no lung segmentation is available, as fractions
# of the image (x, y, w, h): a conservative average over PA/AP films (the apices sit ~8% below
# the top edge, the costophrenic angles ~15% above the bottom edge).
DEFAULT_LUNG_FIELD = (0.08, 0.08, 0.84, 0.77)


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def x1(self) -> float:
        return self.x + self.w

    @property
    def y1(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2.0

    @property
    def cy(self) -> float:
        return self.y + self.h / 2.0

    def union(self, other: Box) -> Box:
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        return Box(x0, y0, max(self.x1, other.x1) - x0, max(self.y1, other.y1) - y0)


def region_box(region: dict[str, Any]) -> Box | None:
    """The region's xywh box, or None when it has none (or a degenerate one)."""
    vals = [region.get(k) for k in ("box_x", "box_y", "box_w", "box_h")]
    if any(v is None for v in vals) or vals[2] <= 0 or vals[3] <= 0:
        return None
    return Box(*(float(v) for v in vals))


def region_mask(region: dict[str, Any], height: int, width: int) -> np.ndarray | None:
    """Boolean (height, width) mask: the decoded RLE, else the filled box, else None."""
    if region.get("rle_counts"):
        rle = {"size": [int(region["mask_height"]), int(region["mask_width"])],
               "counts": region["rle_counts"].encode("ascii")}
        mask = coco_mask.decode(rle).astype(bool)
        if mask.shape == (height, width):
            return mask
        return None
    box = region_box(region)
    if box is None:
        return None
    mask = np.zeros((height, width), dtype=bool)
    x0, y0 = max(0, int(np.floor(box.x))), max(0, int(np.floor(box.y)))
    x1, y1 = min(width, int(np.ceil(box.x1))), min(height, int(np.ceil(box.y1)))
    mask[y0:y1, x0:x1] = True
    return mask


def side_fractions(region: dict[str, Any], split_x: float) -> tuple[float, float] | None:
    """(fraction on the image's left of `split_x`, fraction on its right): mask pixels where the
    region has a mask, box width otherwise. None when the region has no geometry."""
    if region.get("rle_counts") and region.get("mask_width"):
        h, w = int(region["mask_height"]), int(region["mask_width"])
        mask = region_mask(region, h, w)
        if mask is not None and mask.any():
            cols = mask.sum(axis=0).astype(np.float64)
            xs = np.arange(w) + 0.5
            left = float(cols[xs < split_x].sum())
            total = float(cols.sum())
            return left / total, 1.0 - left / total
    box = region_box(region)
    if box is None:
        return None
    left = min(max(split_x - box.x, 0.0), box.w) / box.w
    return left, 1.0 - left


def lung_field(lung_boxes: list[Box], height: int, width: int) -> Box:
    """The union of the lung regions' boxes, or the default frontal-film lung field."""
    if lung_boxes:
        field = lung_boxes[0]
        for b in lung_boxes[1:]:
            field = field.union(b)
        return field
    fx, fy, fw, fh = DEFAULT_LUNG_FIELD
    return Box(fx * width, fy * height, fw * width, fh * height)


def overlap(inner: dict[str, Any], outer: dict[str, Any], height: int, width: int) -> tuple[float, float]:
    """(containment, IoU): the share of `inner`'s pixels that lie in `outer`, and their IoU."""
    a = region_mask(inner, height, width)
    b = region_mask(outer, height, width)
    if a is None or b is None:
        return 0.0, 0.0
    inter = float(np.logical_and(a, b).sum())
    area_a = float(a.sum())
    union = float(np.logical_or(a, b).sum())
    if area_a == 0 or union == 0:
        return 0.0, 0.0
    return inter / area_a, inter / union
