"""RSNA Pneumonia Detection Challenge (stage 2), in the layout Kaggle ships it.

    ROOT/stage_2_train_labels.csv          patientId,x,y,width,height,Target  (one row per box;
                                           empty coordinates when Target is 0; several rows per image)
    ROOT/stage_2_detailed_class_info.csv   optional: patientId,class
    ROOT/stage_2_train_images/<patientId>.dcm

`patientId` is the challenge's per-image pseudonym; it is used as the image key and, hashed, as the
patient key for splitting (the challenge gives no other patient identifier). Boxes are "Lung Opacity"
regions, the challenge's evidence of pneumonia, in the DICOM's own pixel space.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator

from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Label, Source, SourceItem, SourceLoss, SourceParams

LABELS = "stage_2_train_labels.csv"
CLASSES = "stage_2_detailed_class_info.csv"
IMAGES = "stage_2_train_images"
BOX_LABEL = "Lung Opacity"


class RsnaParams(SourceParams):
    images_dir: str = IMAGES


@register_source
class RsnaPneumoniaSource(Source):
    name = "sources.rsna_pneumonia"
    title = "RSNA Pneumonia Detection Challenge"
    license = "RSNA Pneumonia Detection Challenge data-use terms (non-commercial research; see Kaggle)"
    citation = (
        "Shih G, Wu CC, Halabi SS, et al. Augmenting the National Institutes of Health Chest Radiograph "
        "Dataset with Expert Annotations of Possible Pneumonia. Radiology: AI 2019;1(1):e180041."
    )
    homepage = "https://www.kaggle.com/c/rsna-pneumonia-detection-challenge"
    modalities = ("CR",)
    Params = RsnaParams
    params: RsnaParams

    def read_classes(self) -> dict[str, tuple[str, str]]:
        path = self.root / CLASSES
        out: dict[str, tuple[str, str]] = {}
        if path.is_file():
            with open(path, newline="", encoding="utf-8", errors="replace") as fh:
                for lineno, row in enumerate(csv.DictReader(fh), start=2):
                    out.setdefault(row["patientId"].strip(), (row["class"].strip(), f"{CLASSES}:{lineno}"))
        return out

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        path = self.root / LABELS
        boxes: dict[str, list[Annotation]] = defaultdict(list)
        order: list[str] = []
        losses: list[SourceLoss] = []
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.DictReader(fh)
            expected = ["patientId", "x", "y", "width", "height", "Target"]
            if reader.fieldnames != expected:
                raise ValueError(f"{LABELS}: header {reader.fieldnames} != {expected}")
            for lineno, row in enumerate(reader, start=2):
                ref = f"{LABELS}:{lineno}"
                pid = (row["patientId"] or "").strip()
                if not pid or row["Target"] not in ("0", "1"):
                    losses.append(SourceLoss(self.name, "image", ref, "malformed_row", "bad patientId or Target"))
                    continue
                if pid not in boxes:
                    order.append(pid)
                    boxes[pid] = []
                if row["Target"] == "1":
                    try:
                        xywh = [float(row[k]) for k in ("x", "y", "width", "height")]
                    except ValueError:
                        losses.append(SourceLoss(self.name, "annotation", ref, "malformed_row", "bad box"))
                        continue
                    boxes[pid].append(Annotation(label=BOX_LABEL, ref=ref, box_xywh=xywh))
        yield from losses
        classes = self.read_classes()
        for pid in order:
            yield self.make_item(pid, boxes[pid], classes.get(pid))

    def make_item(self, pid: str, boxes: list[Annotation], cls: tuple[str, str] | None) -> SourceItem:
        rel = f"{self.params.images_dir}/{pid}.dcm"
        labels = [Label(label=cls[0], ref=cls[1])] if cls else []
        return SourceItem(
            source=self.name,
            key=pid,
            input_ref=rel,
            path=rel,
            format="dicom",
            root=str(self.root),
            patient=pid,
            study=pid,
            modality="CR",
            body_part="CHEST",
            license=self.license,
            labels=labels,
            annotations=boxes,
            meta={},
        )
