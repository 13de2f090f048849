"""MS-CXR (phrase grounding on MIMIC-CXR), in the layout PhysioNet ships it:

    ROOT/MS_CXR_Local_Alignment_v1.0.0.csv   (or v1.1.0, which adds `split`)
        dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height[,split]
    IMAGES/files/pXX/pYYYYYYYY/sZZZZZZZZ/<dicom_id>.jpg   (MIMIC-CXR-JPG; IMAGES defaults to ROOT)

Several rows per image (one per box; a phrase with two boxes has two rows). Each box becomes an
annotation with the category as label and the radiologist's phrase (`label_text`) as the dataset
phrase, which `ground.link` turns into GROUNDING rows. Boxes are xywh in the pixel space of the
original image (`image_width` × `image_height` → `box_reference_size`). Patient and study come from
the MIMIC path; v1.1.0's `split` is the official split.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Label, Source, SourceItem, SourceLoss, SourceParams

COLUMNS = ["dicom_id", "category_name", "label_text", "path", "x", "y", "w", "h", "image_width", "image_height"]
PATH = re.compile(r"files/p\d\d/p(\d+)/s(\d+)/")


class MsCxrParams(SourceParams):
    images_root: Path | None = None  # MIMIC-CXR-JPG root (holding files/); default ROOT
    use_official_split: bool = True


@register_source
class MsCxrSource(Source):
    name = "sources.ms_cxr"
    title = "MS-CXR: phrase grounding of chest X-rays"
    license = "PhysioNet Credentialed Health Data License 1.5.0 (credentialed access; no redistribution)"
    citation = (
        "Boecking B, Usuyama N, Bannur S, et al. Making the Most of Text Semantics to Improve Biomedical "
        "Vision-Language Processing. ECCV 2022. PhysioNet, doi:10.13026/b90j-vb87."
    )
    homepage = "https://physionet.org/content/ms-cxr/"
    modalities = ("CR", "DX")
    Params = MsCxrParams
    params: MsCxrParams

    def index_path(self) -> Path:
        found = sorted(self.root.glob("MS_CXR_Local_Alignment_v*.csv"))
        if not found:
            raise FileNotFoundError(f"no MS_CXR_Local_Alignment_v*.csv in {self.root}")
        return found[-1]

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        index = self.index_path()
        images = self.params.images_root or self.root
        rows: dict[str, list[tuple[str, dict[str, str]]]] = {}
        with open(index, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.DictReader(fh)
            if (reader.fieldnames or [])[: len(COLUMNS)] != COLUMNS:
                raise ValueError(f"{index.name}: unexpected header {reader.fieldnames}")
            for lineno, row in enumerate(reader, start=2):
                rows.setdefault(row["dicom_id"].strip(), []).append((f"{index.name}:{lineno}", row))
        for dicom_id, group in rows.items():
            rel = group[0][1]["path"].strip()
            if not (images / rel).is_file():
                for ref, _row in group:
                    yield SourceLoss(self.name, "annotation", ref, "missing_file", "box for an absent image")
                continue
            yield self.make_item(dicom_id, rel, group, images)

    def make_item(self, dicom_id: str, rel: str, group: list[tuple[str, dict[str, str]]], images: Path) -> SourceItem:
        anns, labels, errors = [], [], []
        for ref, row in group:
            try:
                box = [float(row[k]) for k in ("x", "y", "w", "h")]
            except (TypeError, ValueError):
                errors.append({"unit": "annotation", "ref": ref, "kind": "malformed_row", "message": "bad box"})
                continue
            cat = row["category_name"].strip()
            anns.append(Annotation(label=cat, ref=ref, box_xywh=box, phrase=row["label_text"].strip()))
            if cat not in {lab.label for lab in labels}:
                labels.append(Label(label=cat, ref=ref))
        first = group[0][1]
        m = PATH.search(rel)
        split = (first.get("split") or "").strip() or None
        return SourceItem(
            source=self.name, key=dicom_id, input_ref=rel, path=rel, format="jpg", root=str(images),
            patient=m.group(1) if m else None, study=m.group(2) if m else None,
            split=split if self.params.use_official_split else None, modality="CR", body_part="CHEST",
            license=self.license, labels=labels, annotations=anns, errors=errors,
            meta={"box_reference_size": [_int(first["image_width"]), _int(first["image_height"])],
                  "original_width": _int(first["image_width"]), "original_height": _int(first["image_height"])},
        )


def _int(v: str | None) -> int | None:
    try:
        return int(float(v or ""))
    except (ValueError, OverflowError):  # "abc", "1E310" (inf)
        return None
