"""Build IMAGE, REPORT and dataset-GT REGION records from a decoded image and its source item.

Pure functions over plain dicts (the SourceItem as a dict): no Ray, no I/O except reading the
annotation mask files an item points to. Identifiers are deterministic hashes, so a re-run produces
the same ids; patient and study identifiers are salted hashes, never raw values.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from extractors.deid import salted_hash, scrub_text
from extractors.masks.rle import encode_mask, mask_area, mask_box_xywh
from schemas.errors import BadInput
from schemas.tables import IMAGE_SCHEMA, REGION_SCHEMA, REPORT_SCHEMA, empty_row

BOX_TOLERANCE_PX = 1.0  # a box may overhang the image by this much (rounding in the datasets' floats)


def short_hash(*parts: object, n: int = 20) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:n]


def image_record(
    item: dict[str, Any],
    *,
    image_id: str,
    height: int,
    width: int,
    salt: str,
    spacing: tuple[float, float] | None,
    intensity: str,
    bit_depth: int,
    png_sha256: str,
    phash: str,
    modality: str | None,
    view: str | None,
    body_part: str | None,
) -> dict[str, Any]:
    meta = item.get("meta") or {}
    rec = empty_row(IMAGE_SCHEMA)
    rec.update(
        image_id=image_id,
        source=item["source"],
        source_key=item["key"],
        source_path=meta["source_path"] if "source_path" in meta else item.get("path"),  # a source may hide its path
        patient_id=salted_hash(item["patient"], salt) if item.get("patient") else None,
        study_id=salted_hash(item["study"], salt) if item.get("study") else None,
        modality=item.get("modality") or modality,
        body_part=item.get("body_part") or body_part,
        view=item.get("view") or view,
        height=height,
        width=width,
        original_height=meta.get("original_height") or height,
        original_width=meta.get("original_width") or width,
        pixel_spacing_y=spacing[0] if spacing else None,
        pixel_spacing_x=spacing[1] if spacing else None,
        volume_id=short_hash(item["source"], meta["volume_key"]) if meta.get("volume_key") else None,
        slice_axis=meta.get("slice_axis"),
        slice_index=meta.get("slice_index"),
        bit_depth=bit_depth,
        intensity=intensity,
        split=None,
        license=item.get("license"),
        sha256=png_sha256,
        phash=phash,
        dup_group=item.get("dup_group"),  # set by the plan's pre-scan (near duplicates share a split)
    )
    return rec


def scale_of(item: dict[str, Any], height: int, width: int) -> tuple[float, float]:
    """(sy, sx) from the dataset's box pixel space to the written image."""
    ref = (item.get("meta") or {}).get("box_reference_size")
    if not ref:
        return 1.0, 1.0
    ref_w, ref_h = ref
    return height / float(ref_h), width / float(ref_w)


def gt_regions(
    item: dict[str, Any],
    image_id: str,
    height: int,
    width: int,
    decode_mask: Any = None,
) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    """Dataset annotations → REGION rows (origin dataset_gt). Returns (regions, losses) where each
    loss is (ref, error_kind, message)."""
    sy, sx = scale_of(item, height, width)
    regions: list[dict[str, Any]] = []
    losses: list[tuple[str, str, str]] = []
    for ann in item.get("annotations") or []:
        ref = ann["ref"]
        rec = empty_row(REGION_SCHEMA)
        rec.update(
            region_id=short_hash(image_id, ref, ann["label"]),
            image_id=image_id,
            source=item["source"],
            label=ann["label"],
            origin="dataset_gt",
            annotator=ann.get("annotator"),
            model=f"dataset:{item['source']}",
            input_ref=ref,
        )
        try:
            if ann.get("mask") is not None:
                if decode_mask is None:
                    raise BadInput("unreadable", "mask annotations need extractors.imaging.annotations")
                mask = np.asarray(decode_mask(ann["mask"], Path(item["root"]), height, width), dtype=bool)
                if mask.shape != (height, width):
                    raise BadInput("shape_mismatch", f"mask {mask.shape} vs image {(height, width)}")
                counts, h, w = encode_mask(mask)
                box = mask_box_xywh(mask)
                if box is None:
                    raise BadInput("out_of_bounds", "empty mask")
                rec.update(rle_counts=counts, mask_height=h, mask_width=w, area=mask_area(mask))
                rec.update(box_x=box[0], box_y=box[1], box_w=box[2], box_h=box[3])
            elif ann.get("box_xywh") is not None:
                x, y, w, h = ann["box_xywh"]
                x, y, w, h = x * sx, y * sy, w * sx, h * sy
                check_box(x, y, w, h, height, width)
                x0, y0 = max(0.0, x), max(0.0, y)
                x1, y1 = min(float(width), x + w), min(float(height), y + h)
                rec.update(box_x=x0, box_y=y0, box_w=x1 - x0, box_h=y1 - y0, area=round((x1 - x0) * (y1 - y0)))
            else:
                raise BadInput("malformed_row", "annotation has neither box nor mask")
        except BadInput as err:
            losses.append((ref, err.kind, str(err)))
            continue
        rec["qc_flags"] = []
        if ann.get("phrase"):
            rec["qc_flags"] = ["has_dataset_phrase"]
        regions.append(rec)
    return regions, losses


def check_box(x: float, y: float, w: float, h: float, height: int, width: int) -> None:
    if not all(np.isfinite([x, y, w, h])) or w <= 0 or h <= 0:
        raise BadInput("out_of_bounds", "box has non-positive or non-finite size")
    t = BOX_TOLERANCE_PX
    if x < -t or y < -t or x + w > width + t or y + h > height + t:
        raise BadInput("out_of_bounds", f"box outside the {width}x{height} image")


def report_records(item: dict[str, Any], salt: str) -> list[dict[str, Any]]:
    report = item.get("report")
    if not report or not report.get("text"):
        return []
    rec = empty_row(REPORT_SCHEMA)
    rec.update(
        report_id=short_hash(item["source"], item.get("study") or item["key"], "report"),
        study_id=salted_hash(item["study"], salt) if item.get("study") else None,
        source=item["source"],
        text=scrub_text(report["text"]),
        sections=[],
    )
    return [rec]
