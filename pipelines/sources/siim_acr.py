"""SIIM-ACR Pneumothorax Segmentation, in the layout of the challenge download:

    ROOT/train-rle.csv        "ImageId, EncodedPixels"  (note the leading space; stage 2's
                              stage_2_train.csv has none); `-1` = no pneumothorax; one row per
                              pneumothorax component, so several rows per image
    ROOT/dicom-images-train/<StudyInstanceUID>/<SeriesInstanceUID>/<ImageId>.dcm
    ROOT/dicom-images-test/...                 (no labels; with `include_unlabelled`)

Each image with rows gets a `Pneumothorax` or `No Pneumothorax` label and one `siim_rle` mask
annotation per non-empty row (SIIM's relative, column-major RLE, decoded by
extractors.imaging.annotations in the DICOM's 1024×1024 pixel space). RLE text that is not pairs of
integers is an annotation error of its image; an ImageId without a DICOM is a loss.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Label, Source, SourceItem, SourceLoss, SourceParams

INDEXES = ("train-rle.csv", "stage_2_train.csv")
FOLDERS = {"dicom-images-train": None, "dicom-images-test": "test"}


class SiimAcrParams(SourceParams):
    include_unlabelled: bool = False  # also DICOMs with no RLE row (the challenge's test images)
    mask_reference_size: int | None = None  # RLE pixel space if not the image's own size (e.g. 1024)


def rle_ok(text: str) -> bool:
    parts = text.split()
    return text == "-1" or (len(parts) % 2 == 0 and len(parts) > 0 and all(p.isdigit() for p in parts))


@register_source
class SiimAcrSource(Source):
    name = "sources.siim_acr"
    title = "SIIM-ACR Pneumothorax Segmentation"
    license = "SIIM-ACR Pneumothorax Segmentation challenge data-use terms (non-commercial research)"
    citation = (
        "Zawacki A, Wu C, Shih G, et al. SIIM-ACR Pneumothorax Segmentation. Kaggle, 2019. Images from "
        "NIH ChestX-ray14 (Wang X, et al. CVPR 2017)."
    )
    homepage = "https://www.kaggle.com/c/siim-acr-pneumothorax-segmentation"
    modalities = ("CR", "DX")
    Params = SiimAcrParams
    params: SiimAcrParams

    def find_dicoms(self) -> dict[str, tuple[str, str | None]]:
        found: dict[str, tuple[str, str | None]] = {}
        for folder, split in FOLDERS.items():
            for p in sorted((self.root / folder).rglob("*.dcm")):
                found.setdefault(p.stem, (p.relative_to(self.root).as_posix(), split))
        return found

    def read_rows(self) -> tuple[str, dict[str, list[tuple[str, str]]]]:
        for name in INDEXES:
            if (self.root / name).is_file():
                break
        else:
            raise FileNotFoundError(f"none of {INDEXES} in {self.root}")
        rows: dict[str, list[tuple[str, str]]] = {}
        with open(self.root / name, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            if header[:2] != ["ImageId", "EncodedPixels"]:
                raise ValueError(f"{name}: unexpected header {header}")
            for lineno, row in enumerate(reader, start=2):
                if row:
                    rle = row[1].strip() if len(row) > 1 else ""
                    rows.setdefault(row[0].strip(), []).append((f"{name}:{lineno}", rle))
        return name, rows

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        dicoms = self.find_dicoms()
        _name, rows = self.read_rows()
        keys = list(rows)
        if self.params.include_unlabelled:
            keys += sorted(set(dicoms) - set(rows))
        for image_id in keys:
            if image_id not in dicoms:
                for ref, _rle in rows[image_id]:
                    yield SourceLoss(self.name, "annotation", ref, "missing_file", "RLE row for an absent DICOM")
                continue
            yield self.make_item(image_id, *dicoms[image_id], rows.get(image_id, []))

    def make_item(self, image_id: str, rel: str, split: str | None, rows: list[tuple[str, str]]) -> SourceItem:
        anns, errors = [], []
        for ref, rle in rows:
            if not rle_ok(rle):
                errors.append({"unit": "annotation", "ref": ref, "kind": "malformed_row",
                               "message": "bad EncodedPixels"})
            elif rle != "-1":
                mask = {"format": "siim_rle", "counts": rle}
                if self.params.mask_reference_size:
                    mask["reference_size"] = [self.params.mask_reference_size] * 2
                anns.append(Annotation(label="Pneumothorax", ref=ref, mask=mask))
        labels = []
        if rows:
            positive = bool(anns) or any(rle != "-1" for _ref, rle in rows)
            labels = [Label(label="Pneumothorax" if positive else "No Pneumothorax", ref=rows[0][0])]
        parts = rel.split("/")
        return SourceItem(source=self.name, key=image_id, input_ref=rel, path=rel, format="dicom", root=str(self.root),
                          patient=image_id, study=parts[1] if len(parts) > 3 else image_id, split=split,
                          modality="CR", body_part="CHEST", license=self.license, labels=labels, annotations=anns,
                          errors=errors)
