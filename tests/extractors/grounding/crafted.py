"""Crafted studies for grounding tests: REGION/FINDING/IMAGE dicts built with the real schemas."""

from __future__ import annotations

from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from schemas.ontology import load_ontology
from schemas.tables import FINDING_SCHEMA, IMAGE_SCHEMA, REGION_SCHEMA, empty_row

H, W = 100, 100


def image(view: str | None = "PA", modality: str | None = "DX", image_id: str = "img0") -> dict[str, Any]:
    rec = empty_row(IMAGE_SCHEMA)
    rec.update(image_id=image_id, source="sources.test", source_key="k0", height=H, width=W,
               modality=modality, view=view, study_id="st0")
    return rec


def region(region_id: str, code: str | None, box: tuple[float, float, float, float] | None = None,
           mask: np.ndarray | None = None, origin: str = "dataset_gt", image_id: str = "img0") -> dict[str, Any]:
    rec = empty_row(REGION_SCHEMA)
    onto = load_ontology()
    rec.update(region_id=region_id, image_id=image_id, source="sources.test", label=code, code=code,
               code_path=onto.path(code) if code else [], origin=origin, qc_flags=[])
    if mask is not None:
        rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
        ys, xs = np.nonzero(mask)
        box = (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))
        rec.update(rle_counts=rle["counts"].decode("ascii"), mask_height=mask.shape[0], mask_width=mask.shape[1],
                   area=int(mask.sum()))
    if box is not None:
        rec.update(box_x=box[0], box_y=box[1], box_w=box[2], box_h=box[3])
    return rec


def finding(finding_id: str, code: str, certainty: str = "present", laterality: str = "none",
            location_codes: list[str] | None = None, sentence: str | None = None,
            phrase: str | None = None, confidence: float | None = None) -> dict[str, Any]:
    rec = empty_row(FINDING_SCHEMA)
    onto = load_ontology()
    rec.update(finding_id=finding_id, study_id="st0", report_id="rep0", source="sources.test", code=code,
               code_path=onto.path(code), certainty=certainty, laterality=laterality,
               location_codes=location_codes or [], sentence=sentence, phrase=phrase or code.replace("_", " "),
               extractor="rules", confidence=confidence, flags=[])
    return rec


def disk(cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r**2


def rect(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    m = np.zeros((H, W), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m
