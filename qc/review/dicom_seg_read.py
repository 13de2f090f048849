"""Corrected DICOM SEGs (from Slicer, OHIF or our own export) back to corrections.

Each SEG is matched to a corpus image by its source SOP Instance UID through the export's index.json,
else through a segment's Tracking ID (the region_id it was exported with). A segment whose Tracking ID
(or Segment Description) names a corpus region supersedes it; others are regions the annotator added.
Segment labels `<code>: <name>` give the code (`unlabelled` and labels without a code keep the
original's). Masks come back at the written image's size (nearest neighbour when the DICOM differs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from qc.corpus import read_table
from qc.review.corrections import Correction
from qc.review.dicom_seg import INDEX_FILE
from schemas.errors import BadInput
from schemas.ontology import load_ontology


def seg_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.dcm") if p.is_file())


def segment_region_id(desc: Any) -> str | None:
    return str(desc.get("TrackingID") or desc.get("SegmentDescription") or "") or None


def segment_code(label: str) -> str | None:
    """`<code>: <name>` or a bare code -> the code; None when the label names no ontology node."""
    head = label.split(":", 1)[0].strip()
    if head in ("", "unlabelled"):
        return None
    if head in load_ontology() or ":" in label:
        return head  # an unknown `<code>: ...` is passed on, so the import rejects it as unknown_label
    return None  # a tool's own default name (e.g. Slicer's "Segment_1")


def source_uid(seg: Any) -> str:
    uids = seg.get_source_image_uids()
    if len(uids) != 1:
        raise BadInput("malformed_row", "a SEG must reference exactly one source image", unit="region")
    return str(uids[0][2])


def image_of(uid: str, region_ids: list[str | None], index: dict[str, Any],
             originals: dict[str, dict[str, Any]]) -> str:
    if uid in index:
        return str(index[uid]["image_id"])
    for rid in region_ids:
        if rid in originals:
            return str(originals[rid]["image_id"])
    raise BadInput("malformed_row", "a SEG cannot be matched to a corpus image (no index entry and no known "
                   "region id)", unit="region", ref=uid)


def read_seg(path: Path, index: dict[str, Any], originals: dict[str, dict[str, Any]],
             sizes: dict[str, tuple[int, int]]) -> list[Correction]:
    import highdicom as hd

    seg = hd.seg.segread(path)
    uid = source_uid(seg)
    numbers = list(seg.get_segment_numbers())
    descs = [seg.get_segment_description(n) for n in numbers]
    rids = [segment_region_id(d) for d in descs]
    image_id = image_of(uid, rids, index, originals)
    if image_id not in sizes:
        raise BadInput("malformed_row", "a SEG names an image that is not in the corpus", unit="region",
                       ref=image_id)
    height, width = sizes[image_id]
    pixels = seg.get_pixels_by_source_instance([uid], segment_numbers=numbers, ignore_spatial_locations=True,
                                               assert_missing_frames_are_empty=True, dtype=np.uint8)[0]
    out = []
    for k, (desc, rid) in enumerate(zip(descs, rids, strict=True)):
        mask = (pixels[..., k] > 0).astype(np.uint8)
        if mask.shape != (height, width):
            mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
        out.append(Correction(image_id=image_id, mask=mask, code=segment_code(str(desc.SegmentLabel)),
                              supersedes=rid))
    return out


def read_dicom_seg(path: Path, corpus_dir: Path) -> list[Correction]:
    """Every SEG under `path` (a folder, or one file) as corrections to the corpus at `corpus_dir`."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    index = json.loads((folder / INDEX_FILE).read_text())["images"] if (folder / INDEX_FILE).is_file() else {}
    originals = {r["region_id"]: r for r in read_table(corpus_dir, "regions").to_pylist()}
    images = read_table(corpus_dir, "images").select(["image_id", "height", "width"]).to_pylist()
    sizes = {r["image_id"]: (int(r["height"]), int(r["width"])) for r in images}
    files = seg_files(path)
    if not files:
        raise BadInput("missing_file", "no DICOM SEG (*.dcm) found", unit="region", ref=path.name)
    return [c for f in files for c in read_seg(f, index, originals, sizes)]
