"""Binary masks as COCO compressed RLE (pycocotools) and the box/mask geometry every stage shares.

A mask is a 2D boolean array (H×W). Its stored form is the compressed RLE `counts` string plus
`height` and `width` (the REGION columns `rle_counts`, `mask_height`, `mask_width`); boxes are xywh
in pixels, with a pixel's box covering [x, x+1).
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils

Box = tuple[float, float, float, float]


def _as_bool_2d(mask: np.ndarray) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"a mask must be 2D, got shape {arr.shape}")
    return arr.astype(bool, copy=False)


def encode_mask(mask: np.ndarray) -> tuple[str, int, int]:
    """Mask → (compressed RLE counts, height, width)."""
    arr = _as_bool_2d(mask)
    rle = mask_utils.encode(np.asfortranarray(arr.astype(np.uint8)))
    return rle["counts"].decode("ascii"), int(arr.shape[0]), int(arr.shape[1])


def decode_mask(counts: str, height: int, width: int) -> np.ndarray:
    """Compressed RLE counts → boolean mask of shape (height, width)."""
    rle = {"size": [int(height), int(width)], "counts": counts.encode("ascii")}
    return mask_utils.decode(rle).astype(bool)


def mask_area(mask: np.ndarray) -> int:
    return int(np.count_nonzero(mask))


def mask_box_xywh(mask: np.ndarray) -> Box | None:
    """Tight box of the mask's pixels (xywh), or None for an empty mask."""
    arr = _as_bool_2d(mask)
    rows = np.flatnonzero(arr.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(arr.any(axis=0))
    x0, y0 = int(cols[0]), int(rows[0])
    return float(x0), float(y0), float(cols[-1] + 1 - x0), float(rows[-1] + 1 - y0)


def box_iou(a_xywh: Box, b_xywh: Box) -> float:
    """Intersection over union of two xywh boxes (0.0 when both are empty)."""
    ax, ay, aw, ah = a_xywh
    bx, by, bw, bh = b_xywh
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = max(0.0, aw) * max(0.0, ah) + max(0.0, bw) * max(0.0, bh) - inter
    return float(inter / union) if union > 0 else 0.0


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks of the same shape (0.0 when both are empty)."""
    aa, bb = _as_bool_2d(a), _as_bool_2d(b)
    union = int(np.count_nonzero(aa | bb))
    return float(np.count_nonzero(aa & bb) / union) if union else 0.0


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two masks of the same shape (1.0 when both are empty)."""
    aa, bb = _as_bool_2d(a), _as_bool_2d(b)
    if aa.shape != bb.shape:
        raise ValueError(f"mask shapes differ: {aa.shape} vs {bb.shape}")
    total = int(np.count_nonzero(aa)) + int(np.count_nonzero(bb))
    return float(2 * np.count_nonzero(aa & bb) / total) if total else 1.0


def box_inside(box_xywh: Box, height: int, width: int, tol: float = 0.5) -> bool:
    """True when the box has positive size and lies within the image, `tol` pixels of slack."""
    x, y, w, h = (float(v) for v in box_xywh)
    if not all(np.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        return False
    return x >= -tol and y >= -tol and x + w <= width + tol and y + h <= height + tol


def clip_box(box_xywh: Box, height: int, width: int) -> Box | None:
    """The part of the box inside the image, or None when nothing of it is."""
    x, y, w, h = (float(v) for v in box_xywh)
    x0, y0 = min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))
    x1, y1 = min(max(x + w, 0.0), float(width)), min(max(y + h, 0.0), float(height))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0


def box_pixel_slices(box_xywh: Box, height: int, width: int) -> tuple[slice, slice] | None:
    """Row/column slices of the pixels whose centres lie in the box (clipped to the image).

    A box thinner than a pixel along an axis keeps the one pixel holding its centre, so every box
    that overlaps the image gets at least one pixel, and every selected pixel overlaps the box.
    """
    clipped = clip_box(box_xywh, height, width)
    if clipped is None:
        return None
    x, y, w, h = clipped
    return _axis_slice(y, h, height), _axis_slice(x, w, width)


def _axis_slice(start: float, size: float, limit: int) -> slice:
    first, last = int(np.ceil(start - 0.5)), int(np.floor(start + size - 0.5))
    if last < first:
        first = last = int(np.floor(start + size / 2))
    first, last = max(0, first), min(limit - 1, last)
    return slice(first, last + 1)
