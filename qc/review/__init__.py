"""Annotator review: export selected regions (Label Studio, COCO for CVAT, DICOM SEG for Slicer/OHIF)
and import corrections back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qc.review.coco import COCO_FILE, export_coco, read_coco
from qc.review.corrections import Correction, import_corrections
from qc.review.dicom_seg import export_dicom_seg
from qc.review.dicom_seg_read import read_dicom_seg
from qc.review.labelstudio import TASKS_FILE, export_labelstudio, read_labelstudio
from qc.review.select import select_regions
from schemas.errors import ConfigError

FORMATS = ("coco", "dicom-seg", "labelstudio")
READERS: dict[str, Callable[[Path, Path], list[Correction]]] = {
    "labelstudio": lambda path, _corpus: read_labelstudio(path),
    "coco": lambda path, _corpus: read_coco(path),
    "dicom-seg": read_dicom_seg,
}
DEFAULT_FILES = {"labelstudio": TASKS_FILE, "coco": COCO_FILE}  # read from a folder holding an export


@dataclass
class ReviewExport:
    """The written file, regions selected, regions written, and those left out (reason -> regions)."""

    path: Path
    selected: int
    exported: int
    resized: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def export_review(corpus_dir: Path, where: str, fmt: str, out: Path, *, ls_shape: str = "brush",
                  source_roots: dict[str, Path] | None = None) -> ReviewExport:
    """Select regions with `where` and write them in `fmt` under `out`."""
    if fmt not in FORMATS:
        raise ConfigError("--format", f"unknown format {fmt!r}", list(FORMATS))
    corpus_dir, out = Path(corpus_dir), Path(out)
    regions = select_regions(corpus_dir, where)
    if fmt == "dicom-seg":
        seg = export_dicom_seg(corpus_dir, regions, out, source_roots)
        return ReviewExport(seg.path, len(regions), seg.exported, seg.resized, seg.skipped)
    if fmt == "labelstudio":
        return ReviewExport(export_labelstudio(corpus_dir, regions, out, ls_shape), len(regions), len(regions))
    return ReviewExport(export_coco(corpus_dir, regions, out), len(regions), len(regions))


def import_review(corpus_dir: Path, fmt: str, path: Path, annotator: str) -> tuple[Path, int]:
    """Read corrections in `fmt` from `path` into new annotator REGION rows; (parquet part, rows)."""
    if fmt not in READERS:
        raise ConfigError("--format", f"unknown format {fmt!r}", list(FORMATS))
    path = Path(path)
    if path.is_dir() and fmt in DEFAULT_FILES:
        path = path / DEFAULT_FILES[fmt]
    corrections = READERS[fmt](path, Path(corpus_dir))
    return import_corrections(Path(corpus_dir), corrections, annotator), len(corrections)


__all__ = ["FORMATS", "READERS", "Correction", "ReviewExport", "export_review", "import_review"]
