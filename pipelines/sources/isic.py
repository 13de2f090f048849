"""ISIC skin-lesion challenges (2016-2018 segmentation tasks), in the layouts of their zips:

    ROOT/ISIC-2017_Training_Data/ISIC_0000000.jpg            (+ ISIC_0000000_superpixels.png: ignored)
    ROOT/ISIC-2017_Training_Part1_GroundTruth/ISIC_0000000_segmentation.png
    ROOT/ISIC-2017_Training_Part3_GroundTruth.csv             image_id,melanoma,seborrheic_keratosis
    ROOT/ISIC2018_Task1-2_Training_Input/ISIC_0000000.jpg, ISIC2018_Task1_Training_GroundTruth/...png
    ROOT/ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv  image,MEL,NV,BCC,...

Images are found anywhere under ROOT by their `ISIC_<7 digits>.jpg` name, masks by
`ISIC_<7 digits>_segmentation.png`; the split comes from the folder name (Training / Validation /
Test). Diagnoses from any `*GroundTruth*.csv`: 2017 columns give `melanoma` / `seborrheic_keratosis`
(neither: `nevus`), 2018+ one-hot columns give the column name (MEL, NV, ...). The mask is one
`lesion` annotation. A ground-truth row for an absent image is reported as a loss.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Label, Source, SourceItem, SourceLoss, SourceParams

IMAGE = re.compile(r"^ISIC_\d{7}\.jpg$")
MASK = re.compile(r"^(ISIC_\d{7})_segmentation\.png$")


class IsicParams(SourceParams):
    require_mask: bool = False  # only images that have a segmentation


def split_of(rel: str) -> str | None:
    low = rel.lower()
    for word, split in (("training", "train"), ("validation", "val"), ("test", "test")):
        if word in low:
            return split
    return None


@register_source
class IsicSource(Source):
    name = "sources.isic"
    title = "ISIC Skin Lesion Analysis Challenges (segmentation)"
    license = "CC-BY-NC-4.0 (ISIC Archive challenge data)"
    citation = (
        "Codella N, Rotemberg V, Tschandl P, et al. Skin Lesion Analysis Toward Melanoma Detection 2018: A "
        "Challenge Hosted by the ISIC. arXiv:1902.03368. Codella N, et al. ISBI 2018 (ISIC 2017)."
    )
    homepage = "https://challenge.isic-archive.com/data/"
    modalities = ("XC",)
    Params = IsicParams
    params: IsicParams

    def read_diagnoses(self) -> dict[str, list[Label]]:
        out: dict[str, list[Label]] = {}
        for path in sorted(self.root.rglob("*GroundTruth*.csv")):
            rel = path.relative_to(self.root).as_posix()
            with open(path, newline="", encoding="utf-8", errors="replace") as fh:
                reader = csv.DictReader(fh)
                cols = reader.fieldnames or []
                for lineno, row in enumerate(reader, start=2):
                    key = (row.get("image_id") or row.get("image") or "").strip()
                    ref = f"{rel}:{lineno}"
                    if "melanoma" in cols:
                        names = [c for c in ("melanoma", "seborrheic_keratosis") if _one(row.get(c))] or ["nevus"]
                    else:
                        names = [c for c in cols if c not in ("image", "image_id") and _one(row.get(c))]
                    out.setdefault(key, []).extend(Label(label=n, ref=f"{ref}#{n}") for n in names)
        return out

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        images: dict[str, str] = {}
        masks: dict[str, str] = {}
        for p in sorted(self.root.rglob("ISIC_*")):
            rel = p.relative_to(self.root).as_posix()
            if IMAGE.match(p.name):
                images.setdefault(p.stem, rel)
            elif m := MASK.match(p.name):
                masks.setdefault(m.group(1), rel)
        labels = self.read_diagnoses()
        for key in sorted(set(labels) - set(images)):
            for lab in labels[key]:
                yield SourceLoss(self.name, "annotation", lab.ref, "missing_file", "ground-truth row, no image")
        for key in sorted(set(masks) - set(images)):
            yield SourceLoss(self.name, "annotation", masks[key], "missing_file", "mask without image")
        for key in sorted(images):
            if self.params.require_mask and key not in masks:
                continue
            anns = [Annotation(label="lesion", ref=masks[key], mask={"format": "png", "path": masks[key], "value": 255})
                    ] if key in masks else []
            yield SourceItem(source=self.name, key=key, input_ref=images[key], path=images[key], format="jpg",
                             root=str(self.root), patient=key, study=key, split=split_of(images[key]),
                             modality="XC", body_part="SKIN", license=self.license,
                             labels=labels.get(key, []), annotations=anns)


def _one(v: str | None) -> bool:
    try:
        return float(v or 0) == 1.0
    except ValueError:
        return False
