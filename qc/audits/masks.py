"""Mask audits: area fraction, components, model scores, Dice vs GT, box–mask consistency, containment.

Masks are decoded from their COCO RLE with pycocotools, one region at a time (memory stays flat).
"""

from __future__ import annotations

import cv2
import duckdb
import numpy as np
import pyarrow as pa
from pycocotools import mask as mask_utils

from qc.corpus import query

BOX_IOU_MIN = 0.9  # a region's box and its mask's tight box must agree this well
CONTAINMENT_MIN = 0.95  # share of a child mask that must lie inside its parent's mask

MASK_STATS = pa.schema([
    ("region_id", pa.string()), ("image_id", pa.string()), ("source", pa.string()), ("origin", pa.string()),
    ("code", pa.string()), ("area", pa.int64()), ("area_fraction", pa.float64()), ("components", pa.int32()),
    ("predicted_iou", pa.float32()), ("stability_score", pa.float32()), ("dice_vs_gt", pa.float32()),
    ("qc_score", pa.float32()), ("candidate", pa.string()),
    ("box_iou", pa.float64()), ("box_consistent", pa.bool_()), ("inside_parent", pa.float64()),
    ("shape_ok", pa.bool_()),
])


def decode(counts: str, height: int, width: int) -> np.ndarray:
    return mask_utils.decode({"size": [int(height), int(width)], "counts": counts.encode()})


def tight_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def components(mask: np.ndarray) -> int:
    n, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return int(n - 1)


def region_stats(r: dict, parent_mask: np.ndarray | None) -> dict:
    out = {k: r[k] for k in ("region_id", "image_id", "source", "origin", "code", "predicted_iou",
                             "stability_score", "dice_vs_gt")}
    out.update(qc_score=r.get("qc_score"), candidate=r.get("candidate"))  # absent in corpora before 1.0 + issue 16
    out.update(area=r["area"], area_fraction=None, components=None, box_iou=None, box_consistent=None,
               inside_parent=None, shape_ok=None)
    if r["rle_counts"] is None:
        if r["height"] and r["width"] and r["box_w"] is not None:
            out["area_fraction"] = r["box_w"] * r["box_h"] / (r["height"] * r["width"])
        return out
    mask = decode(r["rle_counts"], r["mask_height"], r["mask_width"])
    area = int(mask.sum())
    out.update(area=area, area_fraction=area / mask.size, components=components(mask),
               shape_ok=(r["mask_height"], r["mask_width"]) == (r["height"], r["width"]))
    tight = tight_box(mask)
    if tight is not None and r["box_w"] is not None:
        iou = box_iou(tight, (r["box_x"], r["box_y"], r["box_w"], r["box_h"]))
        out.update(box_iou=iou, box_consistent=iou >= BOX_IOU_MIN)
    if parent_mask is not None and parent_mask.shape == mask.shape and area:
        out["inside_parent"] = float((mask & parent_mask).sum()) / area
    return out


def mask_stats(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """One row per region; masks decoded from RLE. Box-only regions get an area fraction of their box."""
    regions = query(con, """
        SELECT r.*, i.height, i.width FROM regions r LEFT JOIN images i USING (image_id)
        ORDER BY r.image_id, r.region_id""").to_pylist()
    by_id = {r["region_id"]: r for r in regions}
    rows = []
    for r in regions:
        parent = by_id.get(r["parent_region_id"]) if r["parent_region_id"] else None
        parent_mask = None
        if parent is not None and parent["rle_counts"] is not None:
            parent_mask = decode(parent["rle_counts"], parent["mask_height"], parent["mask_width"])
        rows.append(region_stats(r, parent_mask))
    return pa.Table.from_pylist(rows, schema=MASK_STATS)


def mask_summary(con: duckdb.DuckDBPyConnection, stats: pa.Table) -> dict[str, float]:
    """Rates the gates read: inconsistent boxes, masks outside their parent, wrong mask shapes."""
    con.register("_mask_stats", stats)
    row = con.execute(f"""
        SELECT count(*) FILTER (WHERE box_consistent IS NOT NULL),
               count(*) FILTER (WHERE NOT box_consistent),
               count(*) FILTER (WHERE inside_parent < {CONTAINMENT_MIN}),
               count(*) FILTER (WHERE NOT shape_ok),
               avg(dice_vs_gt), avg(predicted_iou)
        FROM _mask_stats""").fetchall()[0]
    checked = row[0] or 0
    return {
        "box_mask_checked": checked,
        "box_mask_inconsistent": row[1],
        "box_mask_inconsistent_rate": (row[1] / checked) if checked else 0.0,
        "containment_violations": row[2],
        "mask_shape_mismatches": row[3],
        "mean_dice_vs_gt": float(row[4]) if row[4] is not None else None,
        "mean_predicted_iou": float(row[5]) if row[5] is not None else None,
    }
