"""Overlay thumbnails for the QC report: the image from its shard, mask outlines decoded from RLE, and the
grounded phrase. Sampled per label, always including the worst-scoring region of each label."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import duckdb
import numpy as np
from PIL import Image

from qc.audits.masks import decode
from qc.corpus import query
from qc.review.select import image_pngs

THUMB = 160
OUTLINE = (230, 60, 40)

SAMPLE_SQL = """
WITH scored AS (
  SELECT r.region_id, r.image_id, r.code, r.origin, r.rle_counts, r.mask_height, r.mask_width,
         coalesce(r.dice_vs_gt, r.predicted_iou) AS score,
         coalesce(g.phrase, r.label, replace(r.code, '_', ' ')) AS phrase,
         row_number() OVER (PARTITION BY r.code ORDER BY coalesce(r.dice_vs_gt, r.predicted_iou) ASC NULLS LAST,
                            r.region_id) AS worst_rank,
         row_number() OVER (PARTITION BY r.code ORDER BY hash(r.region_id), r.region_id) AS sample_rank
  FROM regions r
  LEFT JOIN (SELECT region_id, min(phrase) AS phrase FROM groundings GROUP BY region_id) g USING (region_id)
  WHERE r.rle_counts IS NOT NULL AND r.code IS NOT NULL
)
SELECT *, worst_rank = 1 AS worst FROM scored
WHERE worst_rank = 1 OR sample_rank <= ?
ORDER BY code, worst DESC, region_id
"""


@dataclass(frozen=True)
class Thumbnail:
    region_id: str
    code: str
    phrase: str
    origin: str
    score: float | None
    worst: bool
    png: bytes


def overlay(png: bytes, mask: np.ndarray) -> bytes:
    image = np.array(Image.open(io.BytesIO(png)).convert("RGB"))
    if mask.shape != image.shape[:2]:
        mask = cv2.resize(mask, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    thickness = max(1, round(max(image.shape[:2]) / THUMB))
    cv2.drawContours(image, contours, -1, OUTLINE, thickness)
    thumb = Image.fromarray(image)
    thumb.thumbnail((THUMB, THUMB))
    buf = io.BytesIO()
    thumb.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def sample_thumbnails(con: duckdb.DuckDBPyConnection, corpus_dir: Path, per_label: int = 3,
                      max_labels: int = 16) -> list[Thumbnail]:
    """Up to `per_label` regions per code (its worst-scoring one first), drawn over their images."""
    rows = query(con, SAMPLE_SQL, [max(per_label - 1, 0)]).to_pylist()
    codes = sorted({r["code"] for r in rows})[:max_labels]
    rows = [r for r in rows if r["code"] in codes]
    pngs = image_pngs(corpus_dir, {r["image_id"] for r in rows})
    thumbs = []
    for r in rows:
        if r["image_id"] not in pngs:
            continue
        mask = decode(r["rle_counts"], r["mask_height"], r["mask_width"])
        thumbs.append(Thumbnail(r["region_id"], r["code"], r["phrase"], r["origin"], r["score"], r["worst"],
                                overlay(pngs[r["image_id"]], mask)))
    return thumbs
