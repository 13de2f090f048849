"""Fingerprints of one input before it is ingested: its content hash and (2D images) its perceptual hash.

The pipeline's pre-scan uses them for two things that must be known before splits are assigned:
which inputs a previous corpus version already holds (incremental runs, by content hash), and which
images are near duplicates of each other (they must share a split). The pHash is computed on the
image as ingest renders it (modality LUT, VOI window or the CT preset, 8 bits), so a DICOM and its
PNG export hash alike. Volumes (NIfTI, DICOM series) are identified by content hash and slice only:
neighbouring slices of one volume look alike by nature and share a patient (hence a split) anyway.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from extractors.imaging.encode import phash, sha256_file
from extractors.imaging.intensity import render_decoded
from schemas.errors import BadInput

PHASH_FORMATS = ("png", "jpg", "dicom")


@dataclass(frozen=True)
class Fingerprint:
    content_sha256: str | None  # None: the file is missing or unreadable (ingest will quarantine it)
    phash: str | None  # 16 hex digits; None for volumes and for images that cannot be decoded
    problem: str | None = None  # why a field is None (for the scan log; never PHI)
    masks_sha256: str | None = None  # digest of the annotation mask files' contents (None: no mask files)


def content_sha256(path: Path) -> str:
    """sha256 of a file; of a folder (a DICOM series), sha256 over its files' names and hashes."""
    if path.is_dir():
        h = hashlib.sha256()
        for member in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(f"{member.relative_to(path).as_posix()}\0{sha256_file(member)}\n".encode())
        return h.hexdigest()
    return sha256_file(path)


def image_identity(content: str, meta: dict[str, Any]) -> str:
    """What makes one output image: the file's bytes plus, for volumes and multi-frame files, which slice."""
    parts = [content]
    if meta.get("slice_index") is not None:
        parts.append(f"{meta.get('slice_axis', 'z')}{int(meta['slice_index'])}")
        if meta.get("channel"):
            parts.append(f"c{int(meta['channel'])}")
    if meta.get("frame"):
        parts.append(f"f{int(meta['frame'])}")
    return "#".join(parts)


def render_u8(fmt: str, path: Path, meta: dict[str, Any], modality: str | None, ct_window: str) -> np.ndarray:
    """The 8-bit image ingest would write (same readers, same `render_decoded`)."""
    if fmt == "dicom":
        from extractors.imaging.dicom import read_dicom

        decoded = read_dicom(path)
    else:
        from extractors.imaging.raster import read_raster

        decoded = read_raster(path)
    return render_decoded(decoded, meta, modality, ct_window)[0]


def item_phash(item: dict[str, Any], ct_window: str = "soft_tissue") -> tuple[str | None, str | None]:
    """(pHash, problem) of a 2D item's image; problems are returned, never raised."""
    if item.get("format") not in PHASH_FORMATS or not item.get("path"):
        return None, None
    try:
        u8 = render_u8(item["format"], Path(item["root"]) / item["path"], item.get("meta") or {},
                       item.get("modality"), ct_window)
        return phash(u8), None
    except BadInput as err:
        return None, err.kind
    except Exception as err:  # a decoder failure here is ingest's to quarantine, with its own reason
        return None, f"undecodable ({type(err).__name__})"


def mask_files(item: dict[str, Any]) -> list[str]:
    """Dataset-relative paths of the mask files an item's annotations point at (their content counts)."""
    paths = {str(a["mask"]["path"]) for a in item.get("annotations") or []
             if isinstance(a.get("mask"), dict) and a["mask"].get("path")}
    return sorted(paths)
