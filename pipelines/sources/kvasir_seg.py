"""Kvasir-SEG (polyp segmentation), in the layout of its zip:

    ROOT/images/<id>.jpg     ROOT/masks/<id>.jpg     ROOT/kavsir_bboxes.json (sic)
    kavsir_bboxes.json: {"<id>": {"height": h, "width": w, "bbox": [{"label": "polyp", "xmin", "ymin",
                                                                     "xmax", "ymax"}]}}

ROOT may also be the folder holding `Kvasir-SEG/`. Masks are JPEGs (compression noise): they are read
thresholded at 127. Each image gets its mask as one `polyp` annotation and, with `with_boxes`, one
box per polyp from the JSON (xyxy → xywh). An image without a mask keeps its boxes and reports the
missing mask; a mask without an image is an orphan. The dataset has no official split.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Source, SourceItem, SourceLoss, SourceParams

BOXES = "kavsir_bboxes.json"


class KvasirSegParams(SourceParams):
    with_boxes: bool = False  # also one box per polyp from kavsir_bboxes.json
    threshold: int = 127


@register_source
class KvasirSegSource(Source):
    name = "sources.kvasir_seg"
    title = "Kvasir-SEG"
    license = "Kvasir-SEG terms: research and educational use; cite the paper"
    citation = (
        "Jha D, Smedsrud PH, Riegler MA, et al. Kvasir-SEG: A Segmented Polyp Dataset. MultiMedia Modeling "
        "(MMM) 2020, LNCS 11962:451-462."
    )
    homepage = "https://datasets.simula.no/kvasir-seg/"
    modalities = ("ES",)
    Params = KvasirSegParams
    params: KvasirSegParams

    def base(self) -> Path:
        return self.root / "Kvasir-SEG" if (self.root / "Kvasir-SEG" / "images").is_dir() else self.root

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        base = self.base()
        prefix = "" if base == self.root else "Kvasir-SEG/"
        images = {p.stem: p for p in sorted((base / "images").glob("*.jpg"))}
        masks = {p.stem: p for p in sorted((base / "masks").glob("*.jpg"))}
        boxes_path = base / BOXES
        boxes = json.loads(boxes_path.read_text(encoding="utf-8", errors="replace")) if boxes_path.is_file() else {}
        for stem in sorted(set(masks) - set(images)):
            yield SourceLoss(self.name, "annotation", f"{prefix}masks/{stem}.jpg", "missing_file", "mask without image")
        for stem in sorted(images):
            rel = f"{prefix}images/{stem}.jpg"
            anns, errors = [], []
            if stem in masks:
                anns.append(Annotation(label="polyp", ref=f"{prefix}masks/{stem}.jpg",
                                       mask={"format": "png", "path": f"{prefix}masks/{stem}.jpg",
                                             "threshold": self.params.threshold}))
            else:
                errors.append({"unit": "annotation", "ref": f"{prefix}masks/{stem}.jpg", "kind": "missing_file",
                               "message": "image has no mask"})
            entry = boxes.get(stem) or {}
            if self.params.with_boxes:
                for j, b in enumerate(entry.get("bbox", [])):
                    ref = f"{prefix}{BOXES}#{stem}[{j}]"
                    try:
                        x0, y0, x1, y1 = (float(b[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
                    except (KeyError, TypeError, ValueError):
                        errors.append({"unit": "annotation", "ref": ref, "kind": "malformed_row", "message": "bad box"})
                        continue
                    anns.append(Annotation(label=str(b.get("label", "polyp")), ref=ref,
                                           box_xywh=[x0, y0, x1 - x0, y1 - y0]))
            meta = {"original_height": entry.get("height"), "original_width": entry.get("width")} if entry else {}
            yield SourceItem(source=self.name, key=stem, input_ref=rel, path=rel, format="jpg", root=str(self.root),
                             patient=stem, study=stem, modality="ES", body_part="COLON", license=self.license,
                             annotations=anns, meta=meta, errors=errors)
