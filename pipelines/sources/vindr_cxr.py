"""VinDr-CXR, in both of its releases' layouts:

    Kaggle (VinBigData):  ROOT/train.csv   image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max
                          ROOT/train/<image_id>.dicom, ROOT/test/<image_id>.dicom (test: no labels)
    PhysioNet (v1.0.0):   ROOT/annotations/annotations_{train,test}.csv
                              image_id,rad_id,class_name,x_min,y_min,x_max,y_max
                          ROOT/train/<image_id>.dicom, ROOT/test/<image_id>.dicom

Several radiologists read each image (three in train, a consensus in test): every row is kept with its
`rad_id` as the annotator, as a label and, when it has coordinates, as a box (xyxy → xywh, in the
DICOM's pixel space). `No finding` rows carry no box. The PhysioNet test set is the official test split;
the Kaggle train set and the PhysioNet train set are "trainval". An image id whose DICOM is absent is
a loss; a row with unparseable coordinates is an annotation error of its image.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Label, Source, SourceItem, SourceLoss, SourceParams

INDEXES = [("train.csv", "train", "trainval"), ("annotations/annotations_train.csv", "train", "trainval"),
           ("annotations/annotations_test.csv", "test", "test")]
NO_FINDING = "No finding"


class VindrCxrParams(SourceParams):
    include_no_finding_labels: bool = True  # keep the per-radiologist "No finding" labels


@register_source
class VindrCxrSource(Source):
    name = "sources.vindr_cxr"
    title = "VinDr-CXR"
    license = "PhysioNet Restricted Health Data License 1.5.0 (VinDr-CXR); Kaggle competition rules for the Kaggle copy"
    citation = (
        "Nguyen HQ, Lam K, Le LT, et al. VinDr-CXR: An open dataset of chest X-rays with radiologist's "
        "annotations. Scientific Data 2022;9:429."
    )
    homepage = "https://physionet.org/content/vindr-cxr/"
    modalities = ("DX",)
    Params = VindrCxrParams
    params: VindrCxrParams

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        for index, folder, split in INDEXES:
            if not (self.root / index).is_file():
                continue
            yield from self.iter_index(index, folder, split)

    def iter_index(self, index: str, folder: str, split: str) -> Iterator[SourceItem | SourceLoss]:
        groups: dict[str, list[tuple[str, dict[str, str]]]] = {}
        with open(self.root / index, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.DictReader(fh)
            needed = {"image_id", "class_name", "rad_id", "x_min", "y_min", "x_max", "y_max"}
            if not needed <= set(reader.fieldnames or []):
                raise ValueError(f"{index}: header {reader.fieldnames} lacks {sorted(needed)}")
            for lineno, row in enumerate(reader, start=2):
                ref = f"{index}:{lineno}"
                image_id = (row.get("image_id") or "").strip()
                if not image_id or not (row.get("class_name") or "").strip():
                    yield SourceLoss(self.name, "annotation", ref, "malformed_row", "row lacks image_id or class_name")
                    continue
                groups.setdefault(image_id, []).append((ref, row))
        for image_id, rows in groups.items():
            rel = f"{folder}/{image_id}.dicom"
            if not (self.root / rel).is_file():
                for ref, _row in rows:
                    yield SourceLoss(self.name, "annotation", ref, "missing_file", "row for an absent DICOM")
                continue
            yield self.make_item(image_id, rel, split, rows)

    def make_item(self, image_id: str, rel: str, split: str, rows: list[tuple[str, dict[str, str]]]) -> SourceItem:
        labels, anns, errors = [], [], []
        for ref, row in rows:
            name, rad = row["class_name"].strip(), (row.get("rad_id") or "").strip() or None
            if name != NO_FINDING or self.params.include_no_finding_labels:
                labels.append(Label(label=name, ref=ref, annotator=rad))
            coords = [(row.get(k) or "").strip() for k in ("x_min", "y_min", "x_max", "y_max")]
            if not any(coords):
                continue
            try:
                x0, y0, x1, y1 = (float(v) for v in coords)
            except ValueError:
                errors.append({"unit": "annotation", "ref": ref, "kind": "malformed_row", "message": "bad coordinates"})
                continue
            anns.append(Annotation(label=name, ref=ref, box_xywh=[x0, y0, x1 - x0, y1 - y0], annotator=rad))
        return SourceItem(source=self.name, key=image_id, input_ref=rel, path=rel, format="dicom", root=str(self.root),
                          patient=image_id, study=image_id, split=split, modality="DX", body_part="CHEST",
                          license=self.license, labels=labels, annotations=anns, errors=errors)
