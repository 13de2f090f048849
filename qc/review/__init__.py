"""Annotator review: export selected regions (Label Studio, COCO for CVAT) and import corrections back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from qc.review.coco import export_coco, read_coco
from qc.review.corrections import Correction, import_corrections
from qc.review.labelstudio import export_labelstudio, read_labelstudio
from qc.review.select import select_regions
from schemas.errors import ConfigError

EXPORTERS: dict[str, Callable[[Path, list[dict[str, Any]], Path], Path]] = {
    "labelstudio": export_labelstudio,
    "coco": export_coco,
}
READERS: dict[str, Callable[[Path], list[Correction]]] = {
    "labelstudio": read_labelstudio,
    "coco": read_coco,
}
FORMATS = ("labelstudio", "coco", "dicom-seg")


def export_review(corpus_dir: Path, where: str, fmt: str, out: Path) -> tuple[Path, int]:
    """Select regions with `where` and write them in `fmt` under `out`; (written file, regions)."""
    if fmt not in EXPORTERS:
        raise ConfigError("--format", f"unknown or unavailable format {fmt!r}", sorted(EXPORTERS))
    regions = select_regions(Path(corpus_dir), where)
    return EXPORTERS[fmt](Path(corpus_dir), regions, Path(out)), len(regions)


def import_review(corpus_dir: Path, fmt: str, path: Path, annotator: str) -> tuple[Path, int]:
    """Read corrections in `fmt` from `path` into new annotator REGION rows; (parquet part, rows)."""
    if fmt not in READERS:
        raise ConfigError("--format", f"unknown or unavailable format {fmt!r}", sorted(READERS))
    corrections = READERS[fmt](Path(path))
    return import_corrections(Path(corpus_dir), corrections, annotator), len(corrections)


__all__ = ["EXPORTERS", "FORMATS", "READERS", "Correction", "export_review", "import_review"]
