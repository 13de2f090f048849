"""NIH ChestX-ray14, in the layout the NIH Clinical Center ships it.

    ROOT/Data_Entry_2017.csv (or Data_Entry_2017_v2020.csv)
    ROOT/BBox_List_2017.csv                       optional: 984 hand-drawn boxes
    ROOT/train_val_list.txt, ROOT/test_list.txt   optional: the official split
    ROOT/images/*.png  or  ROOT/images_001/images/*.png ...  (the tarballs / the Kaggle mirror)

Quirks handled: the index header `OriginalImage[Width,Height]` and the box header `Bbox [x,y,w,h],,,`
are split by their own commas, so columns are read by position and checked; labels are `|`-separated
with `No Finding`; box coordinates are floats in the 1024×1024 space of the distributed PNGs
(`box_reference_size`), so downsampled copies get their boxes scaled by ingest.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Label, Source, SourceItem, SourceLoss, SourceParams

INDEX_NAMES = ("Data_Entry_2017.csv", "Data_Entry_2017_v2020.csv")
BOX_FILE = "BBox_List_2017.csv"


class NihCxr14Params(SourceParams):
    box_reference_size: int = 1024  # the boxes' pixel space: the 1024×1024 PNGs NIH distributes
    use_official_split: bool = True


def find_images(root: Path) -> dict[str, str]:
    """Map image file name → path relative to root, over images/ and images_*/images/."""
    found: dict[str, str] = {}
    for folder in sorted([*root.glob("images"), *root.glob("images_*/images")]):
        for p in sorted(folder.glob("*.png")):
            found.setdefault(p.name, p.relative_to(root).as_posix())
    return found


def read_split(root: Path) -> dict[str, str]:
    split: dict[str, str] = {}
    for name, value in (("train_val_list.txt", "trainval"), ("test_list.txt", "test")):
        path = root / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").split():
                split[line.strip()] = value
    return split


@register_source
class NihCxr14Source(Source):
    name = "sources.nih_cxr14"
    title = "NIH ChestX-ray14"
    license = "CC0-1.0-like public release by the NIH Clinical Center (no restrictions; cite the paper)"
    citation = (
        "Wang X, Peng Y, Lu L, Lu Z, Bagheri M, Summers RM. ChestX-ray8: Hospital-scale Chest X-ray "
        "Database and Benchmarks on Weakly-Supervised Classification and Localization of Common Thorax "
        "Diseases. CVPR 2017."
    )
    homepage = "https://nihcc.app.box.com/v/ChestXray-NIHCC"
    modalities = ("DX",)
    Params = NihCxr14Params
    params: NihCxr14Params

    def index_path(self) -> Path:
        for name in INDEX_NAMES:
            if (self.root / name).is_file():
                return self.root / name
        raise FileNotFoundError(f"none of {INDEX_NAMES} in {self.root}")

    def read_boxes(self) -> tuple[dict[str, list[Annotation]], list[tuple[str, str]]]:
        boxes: dict[str, list[Annotation]] = defaultdict(list)
        bad: list[tuple[str, str]] = []
        path = self.root / BOX_FILE
        if not path.is_file():
            return boxes, bad
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            if not header or header[0] != "Image Index":
                raise ValueError(f"{BOX_FILE}: unexpected header {header[:2]}")
            for lineno, row in enumerate(reader, start=2):
                ref = f"{BOX_FILE}:{lineno}"
                try:
                    name, label = row[0].strip(), row[1].strip()
                    x, y, w, h = (float(v) for v in row[2:6])
                except (IndexError, ValueError):
                    bad.append((row[0].strip() if row else "", ref))
                    continue
                boxes[name].append(Annotation(label=label, ref=ref, box_xywh=[x, y, w, h]))
        return boxes, bad

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        index = self.index_path()
        images = find_images(self.root)
        boxes, bad_boxes = self.read_boxes()
        split = read_split(self.root) if self.params.use_official_split else {}
        bad_by_image: dict[str, list[str]] = defaultdict(list)
        for name, ref in bad_boxes:
            bad_by_image[name].append(ref)
        seen: set[str] = set()
        with open(index, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            if header[:2] != ["Image Index", "Finding Labels"]:
                raise ValueError(f"{index.name}: unexpected header {header[:2]}")
            for lineno, row in enumerate(reader, start=2):
                ref = f"{index.name}:{lineno}"
                if len(row) < 11 or not row[0].strip():
                    yield SourceLoss(self.name, "image", ref, "malformed_row", f"expected 11 columns, got {len(row)}")
                    continue
                name = row[0].strip()
                seen.add(name)
                yield self.make_item(name, row, ref, images, boxes.get(name, []), bad_by_image.get(name, []), split)
        for name in sorted(set(boxes) - seen):
            for ann in boxes[name]:
                yield SourceLoss(self.name, "annotation", ann.ref, "missing_file", "box for an image not in the index")
        for name in sorted(set(bad_by_image) - seen):
            for ref in bad_by_image[name]:
                yield SourceLoss(self.name, "annotation", ref, "malformed_row", "unparseable box row")

    def make_item(
        self,
        name: str,
        row: list[str],
        ref: str,
        images: dict[str, str],
        boxes: list[Annotation],
        bad_boxes: list[str],
        split: dict[str, str],
    ) -> SourceItem:
        labels = [Label(label=lab.strip(), ref=f"{ref}#{lab.strip()}") for lab in row[1].split("|") if lab.strip()]
        path = images.get(name)
        official = split.get(name)
        meta: dict[str, object] = {
            "box_reference_size": [self.params.box_reference_size, self.params.box_reference_size],
            "original_width": _int(row[7]),
            "original_height": _int(row[8]),
            "original_pixel_spacing": [_float(row[10]), _float(row[9])],  # (row, col) mm
            "follow_up": _int(row[2]),
        }
        return SourceItem(
            source=self.name,
            key=name,
            input_ref=path or f"images/{name}",
            path=path or f"images/{name}",
            format="png",
            root=str(self.root),
            patient=row[3].strip() or None,
            study=f"{row[3].strip()}_{row[2].strip()}",
            split="test" if official == "test" else None,
            modality="DX",
            view=row[6].strip() or None,
            body_part="CHEST",
            license=self.license,
            labels=labels,
            annotations=boxes,
            meta=meta,
            errors=[{"unit": "annotation", "ref": r, "kind": "malformed_row", "message": "unparseable box row"}
                    for r in bad_boxes],
        )


def _int(v: str) -> int | None:
    try:
        return int(float(v))
    except (ValueError, OverflowError):  # "abc", "1E310" (inf)
        return None


def _float(v: str) -> float | None:
    try:
        x = float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None
