"""Prompts from a sample's dataset regions: boxes (every GT region with a box) and interior points
(GT regions with a mask). Generated masks never replace these regions; they become new ones.

The interior point of a mask is its pixel farthest from the background (distance transform
maximum, first in raster order on ties): unlike the centroid it always lies inside the object,
also for rings and crescents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from extractors.masks import rle


@dataclass(frozen=True)
class Prompt:
    region: dict[str, Any]  # the dataset region this prompt comes from
    box: np.ndarray  # xyxy, x1/y1 exclusive, pixels of the image
    gt: np.ndarray | None  # its GT mask when the dataset has one


def gt_prompts(regions: list[dict[str, Any]], height: int, width: int, need_mask: bool = False) -> list[Prompt]:
    """Dataset-GT regions of an image as prompts, in region order. Regions without a usable box skip."""
    out: list[Prompt] = []
    for region in box_regions(regions):
        gt = region_mask(region, height, width)
        if need_mask and gt is None:
            continue
        out.append(Prompt(region, region_box(region), gt))
    return out


def box_regions(regions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dataset-GT regions with a box: the ones `gt_prompts` makes prompts of."""
    return [r for r in regions if r.get("origin") == "dataset_gt" and r.get("box_w") is not None]


def region_box(region: dict[str, Any]) -> np.ndarray:
    """The region's box as float xyxy (dataset pixel space)."""
    x, y, w, h = (float(region[k]) for k in ("box_x", "box_y", "box_w", "box_h"))
    return np.array([x, y, x + w, y + h], dtype=np.float64)


def region_mask(region: dict[str, Any], height: int, width: int) -> np.ndarray | None:
    """The region's GT mask as bool (H, W), or None for a box-only region or one of another size."""
    if region.get("rle_counts") is None:
        return None
    if (region.get("mask_height"), region.get("mask_width")) != (height, width):
        return None
    return rle.decode_mask(region["rle_counts"], height, width).astype(bool)


def interior_point(mask: np.ndarray) -> tuple[float, float]:
    """(x, y) of the mask pixel farthest from the background."""
    padded = np.pad(mask.astype(np.uint8), 1)  # the image border counts as background
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x), float(y)
