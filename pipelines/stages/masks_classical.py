"""`masks.classical`: a CPU weak mask inside every box-only region (the fallback when no SAM/torch).

Generated masks are new REGION rows (origin `classical`) pointing at their prompt region; the
dataset's own regions are never overwritten. With `qc_choice` (default) GrabCut/Otsu compete with
the inscribed ellipse and box fill on the GT-free QC score (extractors/masks/classical.py); the
winner, its QC score and why it won are recorded (`candidate`, `qc_score`, `candidate_reason`).
"""

from __future__ import annotations

from typing import Literal

import cv2

from extractors.imaging.encode import decode_png
from extractors.masks.classical import ClassicalBoxMasker
from extractors.masks.rle import encode_mask, mask_area, mask_box_xywh
from extractors.records import short_hash
from pipelines.registry import register_stage
from pipelines.stage import Resources, Sample, Stage, StageParams
from schemas.errors import BadInput
from schemas.tables import REGION_SCHEMA, empty_row, round_score


class ClassicalParams(StageParams):
    method: Literal["grabcut", "otsu", "ellipse"] = "grabcut"
    qc_choice: bool = True  # pick the method's mask, the ellipse or box fill by QC score (else ellipse fallback)


@register_stage
class ClassicalMaskStage(Stage):
    name = "masks.classical"
    description = "weak mask inside each box-only region (GrabCut/Otsu/ellipse), CPU"
    consumes = ("image_png", "regions")
    produces = ("regions",)
    default_resources = Resources(num_cpus=1.0, batch_size=8)  # CPU-bound: 0.5 oversubscribes the cores
    Params = ClassicalParams
    params: ClassicalParams

    def setup(self) -> None:
        self.masker = ClassicalBoxMasker(method=self.params.method, qc_choice=self.params.qc_choice)

    def process_sample(self, sample: Sample) -> Sample:
        prompts = [r for r in sample["regions"] if r["origin"] == "dataset_gt" and r["rle_counts"] is None]
        if not prompts:
            return sample
        try:  # RGB order for colour, as `to_gray` expects
            image = decode_png(sample["image_png"] or b"")
        except (ValueError, cv2.error) as err:
            raise BadInput("unreadable", f"the sample's PNG cannot be decoded: {err}") from None
        out = list(sample["regions"])
        for prompt in prompts:
            box = (prompt["box_x"], prompt["box_y"], prompt["box_w"], prompt["box_h"])
            result = self.masker.predict(image, box)
            counts, h, w = encode_mask(result.mask)
            mbox = mask_box_xywh(result.mask) or box
            rec = empty_row(REGION_SCHEMA)
            rec.update(
                region_id=short_hash(prompt["region_id"], "classical", self.params.method),
                image_id=prompt["image_id"],
                source=prompt["source"],
                label=prompt["label"],
                code=prompt["code"],
                code_path=prompt["code_path"],
                origin="classical",
                box_x=mbox[0], box_y=mbox[1], box_w=mbox[2], box_h=mbox[3],
                rle_counts=counts, mask_height=h, mask_width=w, area=mask_area(result.mask),
                prompt_region_id=prompt["region_id"],
                parent_region_id=None,
                predicted_iou=round_score(result.score),
                model=f"classical:{result.method}",
                annotator=prompt["annotator"],
                qc_flags=list(result.flags),
                candidate=result.method if result.qc_score is not None else None,
                qc_score=round_score(result.qc_score),
                candidate_reason=result.candidate_reason,
            )
            out.append(rec)
        sample["regions"] = out
        return sample
