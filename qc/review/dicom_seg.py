"""DICOM SEG export (highdicom, BINARY) for 3D Slicer / OHIF, where a region's image came from DICOM.

The corpus keeps no DICOM, so the original is read from the source dataset root (`--source-root
NAME=PATH`, else the `root` the build's config gave that source) joined with the IMAGE row's
`source_path`. One SEG per source image, one segment per selected region: label `<code>: <name>`,
a generic SNOMED category/type by ontology kind, and the region_id as the segment's Tracking ID
(also in Segment Description) so a corrected SEG finds the region it supersedes. Masks are resized
(nearest neighbour) when the written image and the DICOM differ in size. `index.json` maps each
SEG's source SOP Instance UID back to the corpus image. Reading SEGs back lives in dicom_seg_read.py.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from qc.corpus import read_manifest
from qc.review.select import region_mask
from schemas.errors import ConfigError
from schemas.ontology import load_ontology

SEG_DIR = "seg"
INDEX_FILE = "index.json"
DICOM_SUFFIXES = (".dcm", ".dicom")
FIXED_DATE, FIXED_TIME = "19000101", "000000"  # no wall clock in outputs: same inputs, same bytes


@dataclass
class SegExport:
    """What a DICOM SEG export wrote and what it left out (reason -> regions)."""

    path: Path
    exported: int = 0
    resized: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def parse_source_roots(items: list[str]) -> dict[str, Path]:
    """`NAME=PATH` pairs (from --source-root) -> {source name: root}."""
    roots = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ConfigError("--source-root", f"expected NAME=PATH, got {item!r}")
        roots[name.strip()] = Path(path.strip())
    return roots


def manifest_roots(corpus_dir: Path) -> dict[str, Path]:
    """The `root` parameter each source had in the build's config, where the manifest records it."""
    sources = (read_manifest(corpus_dir).get("config") or {}).get("sources") or []
    return {s["name"]: Path(s["params"]["root"]) for s in sources
            if isinstance(s, dict) and s.get("name") and (s.get("params") or {}).get("root")}


def is_dicom_file(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(132)[128:] == b"DICM"


def locate_source(image: dict[str, Any], roots: dict[str, Path]) -> tuple[Path | None, str | None]:
    """(DICOM file, None) or (None, reason it is skipped). ConfigError when a DICOM source has no root."""
    rel = image["source_path"]
    if not rel:
        return None, "no_source_path"
    root = roots.get(image["image_source"])
    looks_dicom = Path(rel).suffix.lower() in DICOM_SUFFIXES
    if root is None:
        if looks_dicom:
            raise ConfigError("--source-root", f"regions of {image['image_source']} come from DICOM files; "
                              f"give --source-root {image['image_source']}=PATH")
        return None, "not_dicom"
    path = root / rel
    if not path.is_file():
        return None, "missing_source" if looks_dicom else "not_dicom"
    return (path, None) if looks_dicom or is_dicom_file(path) else (None, "not_dicom")


def segment_description(number: int, region: dict[str, Any]) -> Any:
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    onto, code = load_ontology(), region["code"]
    kind = onto.get(code).kind if code in onto else "finding"
    category, kind_type = {
        "anatomy": (codes.SCT.AnatomicalStructure, codes.SCT.Organ),
        "device": (codes.SCT.PhysicalObject, codes.SCT.PhysicalObject),
    }.get(kind, (codes.SCT.MorphologicallyAbnormalStructure, codes.SCT.MorphologicallyAbnormalStructure))
    label = f"{code}: {onto.get(code).name}" if code in onto else "unlabelled"
    manual = region["origin"] in ("dataset_gt", "annotator")
    algorithm = None
    if not manual:
        name, _, version = (region["model"] or region["origin"]).partition("/")
        family = codes.cid7162.ArtificialIntelligence if region["origin"].startswith("sam") \
            else codes.cid7162.HistogramAnalysis
        algorithm = hd.AlgorithmIdentificationSequence(name=name[:64], family=family, version=version or "0")
    desc = hd.seg.SegmentDescription(
        segment_number=number, segment_label=label[:64], segmented_property_category=category,
        segmented_property_type=kind_type, algorithm_type="MANUAL" if manual else "AUTOMATIC",
        algorithm_identification=algorithm, tracking_id=region["region_id"],
        tracking_uid=generate_uid(entropy_srcs=["medground-region", region["region_id"]]))
    desc.SegmentDescription = region["region_id"]
    return desc


def build_seg(source: Any, regions: list[dict[str, Any]], masks: list[np.ndarray], version: str) -> Any:
    """A BINARY Segmentation of one single-frame source image, one segment per region."""
    import highdicom as hd
    from pydicom.uid import generate_uid

    ids = [r["region_id"] for r in regions]
    seg = hd.seg.Segmentation(
        source_images=[source], pixel_array=np.stack(masks, axis=-1)[None].astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment_description(n, r) for n, r in enumerate(regions, 1)],
        series_instance_uid=generate_uid(entropy_srcs=["medground-seg-series", source.SOPInstanceUID, *ids]),
        series_number=9001, sop_instance_uid=generate_uid(entropy_srcs=["medground-seg", source.SOPInstanceUID,
                                                                        *ids]),
        instance_number=1, manufacturer="medground", manufacturer_model_name="medground review export",
        software_versions=version, device_serial_number="0", content_label="MEDGROUND_REVIEW",
        content_description="regions selected for annotator review", omit_empty_frames=False,
        content_date=FIXED_DATE, content_time=FIXED_TIME)
    pin_generated_values(seg, generate_uid(entropy_srcs=["medground-seg-dims", source.SOPInstanceUID, *ids]))
    return seg


def pin_generated_values(seg: Any, dimension_uid: str) -> None:
    """Replace what highdicom fills from the clock or a random UID, so the same export is the same bytes."""
    seg.InstanceCreationDate, seg.InstanceCreationTime = FIXED_DATE, FIXED_TIME
    for item in seg.get("ContributingEquipmentSequence") or []:
        item.ContributionDateTime = FIXED_DATE + FIXED_TIME
    for item in [*(seg.get("DimensionOrganizationSequence") or []), *(seg.get("DimensionIndexSequence") or [])]:
        item.DimensionOrganizationUID = dimension_uid


def fit_mask(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    if mask.shape == (rows, cols):
        return mask.astype(np.uint8)
    return cv2.resize(mask.astype(np.uint8), (cols, rows), interpolation=cv2.INTER_NEAREST)


def export_dicom_seg(corpus_dir: Path, regions: list[dict[str, Any]], out: Path,
                     source_roots: dict[str, Path] | None = None) -> SegExport:
    import pydicom
    from pydicom.errors import InvalidDicomError

    roots = {**manifest_roots(Path(corpus_dir)), **(source_roots or {})}
    version = str((read_manifest(Path(corpus_dir)).get("versions") or {}).get("code") or "0")
    result = SegExport(path=Path(out) / INDEX_FILE)
    by_image: dict[str, list[dict[str, Any]]] = {}
    for r in regions:
        by_image.setdefault(r["image_id"], []).append(r)
    index: dict[str, Any] = {}
    for image_id, rs in sorted(by_image.items()):
        path, reason = locate_source(rs[0], roots)
        source = None
        if path is not None:
            try:
                source = pydicom.dcmread(path)
            except (InvalidDicomError, OSError, ValueError):
                reason = "unreadable_source"
        if source is not None and int(source.get("NumberOfFrames") or 1) > 1:
            reason = "multi_frame"
        if source is None or reason:
            result.skipped[reason or "not_dicom"] += len(rs)
            continue
        rows, cols = int(source.Rows), int(source.Columns)
        originals = [region_mask(r) for r in rs]
        masks = [fit_mask(m, rows, cols) for m in originals]
        result.resized += sum(m.shape != (rows, cols) for m in originals)
        rel = f"{SEG_DIR}/{image_id}.dcm"
        (Path(out) / SEG_DIR).mkdir(parents=True, exist_ok=True)
        build_seg(source, rs, masks, version).save_as(Path(out) / rel, enforce_file_format=True)
        index[str(source.SOPInstanceUID)] = {"image_id": image_id, "file": rel, "height": rs[0]["height"],
                                             "width": rs[0]["width"], "regions": [r["region_id"] for r in rs]}
        result.exported += len(rs)
    Path(out).mkdir(parents=True, exist_ok=True)
    result.path.write_text(json.dumps({"images": index, "skipped": dict(sorted(result.skipped.items())),
                                       "resized": result.resized}, indent=1, sort_keys=True))
    return result
