"""REGION rows for SAM masks: a new region per mask (origin sam_box | sam_points | sam_auto) with its
RLE, box, scores (rounded to `schemas.tables.SCORE_DECIMALS`), model provenance (name, version,
licence, checkpoint sha256) and QC flags."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from extractors.masks import rle
from extractors.masks.sam.qc import RegionQc, mask_box_xyxy
from schemas.tables import REGION_SCHEMA, empty_row, round_score


def region_key(*parts: object) -> str:
    """Deterministic region id from its provenance (same inputs → same id on every run)."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def sam_region(
    *,
    region_id: str,
    image_id: str,
    source: str,
    origin: str,
    mask: np.ndarray,
    predicted_iou: float,
    stability: float,
    model_tag: str,
    model_sha256: str | None,
    flags: tuple[str, ...] | list[str],
    prompt: dict[str, Any] | None = None,
    dice_vs_gt: float | None = None,
) -> dict[str, Any]:
    counts, h, w = rle.encode_mask(mask)
    box = mask_box_xyxy(mask)
    rec = empty_row(REGION_SCHEMA)
    rec.update(
        region_id=region_id,
        image_id=image_id,
        source=source,
        origin=origin,
        rle_counts=counts,
        mask_height=h,
        mask_width=w,
        area=int(mask.sum()),
        predicted_iou=round_score(predicted_iou),
        stability_score=round_score(stability),
        dice_vs_gt=round_score(dice_vs_gt),
        model=model_tag,
        model_sha256=model_sha256,
        qc_flags=sorted(set(flags)),
    )
    if box is not None:
        rec.update(box_x=box[0], box_y=box[1], box_w=box[2] - box[0], box_h=box[3] - box[1])
    if prompt is not None:
        rec.update(
            label=prompt.get("label"),
            code=prompt.get("code"),
            code_path=list(prompt.get("code_path") or []),
            prompt_region_id=prompt["region_id"],
            annotator=prompt.get("annotator"),
        )
    return rec


def prompted_region(
    prompt: dict[str, Any], origin: str, qc: RegionQc, model_tag: str, model_sha256: str | None
) -> dict[str, Any]:
    """The mask generated from one dataset region's box or points."""
    return sam_region(
        region_id=region_key(prompt["region_id"], origin, model_tag),
        image_id=prompt["image_id"],
        source=prompt["source"],
        origin=origin,
        mask=qc.mask,
        predicted_iou=qc.predicted_iou,
        stability=qc.stability,
        model_tag=model_tag,
        model_sha256=model_sha256,
        flags=qc.flags,
        prompt=prompt,
        dice_vs_gt=qc.dice_vs_gt,
    )
