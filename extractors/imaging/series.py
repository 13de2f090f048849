"""DICOM series (single-frame CT, MR, PET) as volumes, sliced like NIfTI volumes.

`read_slice_header` reads what the geometry needs from one file, without its pixels. `series_geometry`
sorts a series' files along the slice normal (the cross product of ImageOrientationPatient's row and
column cosines) and checks that they make one regular volume: one SOP class, single-frame, one size,
one orientation and pixel spacing, distinct positions evenly spaced along the normal (a gap is a
missing slice) and on one line (a gantry tilt is allowed: the step may lean). Its native voxel grid is
(i = column, j = row, k = file in sorted order); the affine to patient coordinates is DICOM's LPS+
with x and y negated (RAS+, as NIfTI), reoriented to the closest canonical axes with
`volume.canonical_geometry`, so DICOM and NIfTI slices share `slice_plane`, `slice_spacing` and
`slice_affine`.

`read_series_slice` (ingest) reads the whole series once per worker (the last two are cached, as NIfTI
volumes are), applies each file's own modality LUT (RescaleSlope/Intercept, or a Modality LUT
Sequence) and returns the slice an item names. Multi-frame (enhanced) objects are refused: one file
per slice only. Errors are `BadInput`s; their messages name files (the NBIA Data Retriever names them
1-001.dcm …) and coded values (modality, SOP class name), never free-text header values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut
from pydicom.uid import UID

from extractors.imaging.volume import VolumeSlice, axis_number, canonical_geometry, slice_plane, slice_spacing
from schemas.errors import BadInput

IMAGE_SOP_CLASSES = {  # single-frame image storage classes this module slices
    "1.2.840.10008.5.1.4.1.1.2": "CT",
    "1.2.840.10008.5.1.4.1.1.4": "MR",
    "1.2.840.10008.5.1.4.1.1.128": "PT",
}
ENHANCED_SOP_CLASSES = frozenset({  # multi-frame: a whole series in one file
    "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.2.2",  # Enhanced / Legacy Converted Enhanced CT
    "1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.4.4",  # Enhanced / Legacy Converted Enhanced MR
    "1.2.840.10008.5.1.4.1.1.130", "1.2.840.10008.5.1.4.1.1.128.1",  # Enhanced / Legacy Converted Enhanced PET
})
NON_IMAGE_MODALITIES = frozenset({"SEG", "RTSTRUCT", "RTPLAN", "RTRECORD", "RTDOSE", "SR", "PR", "KO", "REG",
                                  "DOC", "RWV", "FID", "PLAN", "ANN"})
HEADER_TAGS = ["SOPClassUID", "Modality", "SeriesInstanceUID", "StudyInstanceUID", "PatientID", "Rows", "Columns",
               "NumberOfFrames", "ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing", "SliceThickness",
               "SpacingBetweenSlices", "BodyPartExamined"]
SPACING_TOLERANCE = 0.1  # a step may differ from the median step by this fraction (or 0.01 mm)
ORIENTATION_TOLERANCE = 1e-3
_CODE = re.compile(r"^[A-Z0-9_ ]{1,16}$")


@dataclass(frozen=True)
class SliceHeader:
    """The header facts of one file that geometry, grouping and skipping need."""

    name: str  # file name (no folder)
    series_uid: str
    study_uid: str
    patient_id: str  # raw: only ever hashed (by ingest) or dropped
    sop_class: str
    modality: str
    rows: int
    columns: int
    frames: int
    orientation: tuple[float, ...] | None  # ImageOrientationPatient (6)
    position: tuple[float, ...] | None  # ImagePositionPatient (3)
    pixel_spacing: tuple[float, ...] | None  # PixelSpacing (2): row, column mm
    thickness: float | None  # SpacingBetweenSlices, else SliceThickness
    body_part: str | None


@dataclass(frozen=True)
class SeriesGeometry:
    """A checked series: its files in slice order and its canonical (RAS+) voxel grid."""

    files: tuple[str, ...]  # file names sorted along the slice normal
    native_shape: tuple[int, int, int]  # (columns, rows, files)
    ornt: np.ndarray  # native → canonical axes (nibabel orientation)
    shape: tuple[int, int, int]  # canonical x, y, z
    zooms: tuple[float, float, float]  # mm along canonical x, y, z
    affine: np.ndarray  # canonical voxel → RAS+ mm

    def file_of(self, axis: str, index: int) -> str | None:
        """The file that holds slice `index` along `axis`, when that axis is the one files stack along."""
        stack, flip = int(self.ornt[2, 0]), bool(self.ornt[2, 1] < 0)
        if axis_number(axis) != stack or not 0 <= index < len(self.files):
            return None
        return self.files[len(self.files) - 1 - index if flip else index]


def code_of(value: str) -> str:
    """A coded value fit for a message or a record (a modality like `SEG`), or `other`."""
    text = str(value or "").strip().upper()
    return text if _CODE.match(text) else "other"


def modality_of(value: str) -> str | None:
    code = code_of(value)
    return None if code == "other" else code


def unsupported_reason(modality: str, sop_class: str, modalities: Sequence[str]) -> str | None:
    """Why a series is not sliced (a non-image object, a multi-frame object, an unselected modality), or None."""
    mod = code_of(modality)
    if sop_class in ENHANCED_SOP_CLASSES:
        return f"multi-frame enhanced object ({UID(sop_class).name}): only single-frame series are sliced"
    if sop_class in IMAGE_SOP_CLASSES:
        if mod in modalities:
            return None
        return f"modality {mod} is not sliced (modalities: {', '.join(modalities)})"
    if mod in NON_IMAGE_MODALITIES:
        return f"non-image object ({mod}): not an image volume, not sliced"
    name = UID(sop_class).name
    return f"SOP class {name if name != sop_class else 'unknown'} is not a single-frame CT/MR/PET image"


def read_slice_header(path: Path) -> SliceHeader:
    """The header of one file, pixels left unread."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=HEADER_TAGS)
    except Exception as err:  # InvalidDicomError, EOFError, struct errors on truncated headers…
        raise BadInput("unreadable", f"{path.name}: not a readable DICOM file ({type(err).__name__})") from None
    return header_of(ds, path.name)


def header_of(ds: Any, name: str) -> SliceHeader:
    try:
        header = SliceHeader(
            name=name,
            series_uid=str(ds.get("SeriesInstanceUID", "") or ""),
            study_uid=str(ds.get("StudyInstanceUID", "") or ""),
            patient_id=str(ds.get("PatientID", "") or ""),
            sop_class=str(ds.get("SOPClassUID", "") or ""),
            modality=str(ds.get("Modality", "") or ""),
            rows=int(ds.get("Rows", 0) or 0),
            columns=int(ds.get("Columns", 0) or 0),
            frames=int(ds.get("NumberOfFrames", 1) or 1),
            orientation=_floats(ds.get("ImageOrientationPatient"), 6),
            position=_floats(ds.get("ImagePositionPatient"), 3),
            pixel_spacing=_floats(ds.get("PixelSpacing"), 2),
            thickness=_positive(ds.get("SpacingBetweenSlices")) or _positive(ds.get("SliceThickness")),
            body_part=(str(ds.get("BodyPartExamined", "") or "").strip().upper() or None),
        )
    except Exception as err:  # a value that does not parse (bad IS/DS strings)
        raise BadInput("unreadable", f"{name}: malformed header value ({type(err).__name__})") from None
    if not header.sop_class or not header.series_uid:
        raise BadInput("unreadable", f"{name}: no SOP class or series UID (a truncated or foreign file)")
    return header


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str | bytes) or not hasattr(value, "__iter__") else list(value)
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        return None
    return out if len(out) == n and all(np.isfinite(out)) else None


def _positive(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) and v > 0 else None


def series_geometry(headers: Sequence[SliceHeader]) -> SeriesGeometry:
    """Sort and check one series' files; raise BadInput with the reason when they are not one volume."""
    if not headers:
        raise BadInput("missing_file", "the series has no file")
    first = headers[0]
    if len({h.sop_class for h in headers}) > 1:
        raise BadInput("unreadable", "files of the series have different SOP classes")
    if any(h.frames != 1 for h in headers):
        raise BadInput("unreadable", "multi-frame object: only single-frame series are sliced")
    if any((h.rows, h.columns) != (first.rows, first.columns) for h in headers) or first.rows * first.columns == 0:
        raise BadInput("shape_mismatch", "files of the series differ in size (rows × columns)")
    for h in headers:
        for value, what in ((h.orientation, "ImageOrientationPatient"), (h.position, "ImagePositionPatient"),
                            (h.pixel_spacing, "PixelSpacing")):
            if value is None:
                raise BadInput("unreadable", f"{h.name}: lacks a usable {what}")
    iop = np.asarray(first.orientation, float)
    spacing = np.asarray(first.pixel_spacing, float)
    if any(not np.allclose(np.asarray(h.orientation, float), iop, atol=ORIENTATION_TOLERANCE) for h in headers):
        raise BadInput("unreadable", "files of the series have different orientations")
    if any(not np.allclose(np.asarray(h.pixel_spacing, float), spacing, rtol=1e-4) for h in headers):
        raise BadInput("unreadable", "files of the series have different pixel spacings")
    row_cos, col_cos = iop[:3], iop[3:]
    normal = np.cross(row_cos, col_cos)
    if not np.isclose(np.linalg.norm(normal), 1.0, atol=1e-2) or spacing.min() <= 0:
        raise BadInput("unreadable", "degenerate ImageOrientationPatient or PixelSpacing")
    order = sorted(headers, key=lambda h: (float(normal @ np.asarray(h.position, float)), h.name))
    positions = np.asarray([h.position for h in order], float)
    step = _check_positions(positions, normal, first.thickness)
    d_row, d_col = float(spacing[0]), float(spacing[1])
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = row_cos * d_col, col_cos * d_row, step, positions[0]
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    native = (first.columns, first.rows, len(order))
    ornt, shape, zooms, affine = canonical_geometry(ras, native)
    return SeriesGeometry(tuple(h.name for h in order), native, ornt, shape, zooms, affine)


def _check_positions(positions: np.ndarray, normal: np.ndarray, thickness: float | None) -> np.ndarray:
    """The step between sorted slices (LPS mm); raise when positions repeat, jump or leave their line."""
    n = len(positions)
    if n == 1:
        return normal * (thickness or 1.0)
    along = positions @ normal
    gaps = np.diff(along)
    median = float(np.median(gaps))
    if median <= 1e-3 or float(gaps.min()) <= 1e-3:
        raise BadInput("unreadable", "two files of the series lie at the same position")
    tol = max(0.01, SPACING_TOLERANCE * median)
    if float(np.abs(gaps - median).max()) > tol:
        raise BadInput("unreadable", "uneven slice spacing along the normal (a missing slice?)")
    step = (positions[-1] - positions[0]) / (n - 1)
    expected = positions[0] + np.outer(np.arange(n), step)
    if float(np.linalg.norm(positions - expected, axis=1).max()) > tol:
        raise BadInput("unreadable", "slice positions do not lie on one line")
    return step


@dataclass(frozen=True)
class SeriesVolume:
    voxels: np.ndarray  # canonical x, y, z; output units (HU for CT), float32
    affine: np.ndarray
    zooms: tuple[float, float, float]
    modality: str | None
    body_part: str | None
    burned_in: bool


@lru_cache(maxsize=2)
def _load_series(folder: str, series_uid: str, stamp: tuple[int, int]) -> SeriesVolume | BadInput:
    """The volume, or why it cannot be read: a failure is cached too, or every slice of a broken
    series would read the whole series again."""
    try:
        return _read_series(Path(folder), series_uid)
    except BadInput as err:
        return err


def _read_series(folder: Path, series_uid: str) -> SeriesVolume:
    headers: list[SliceHeader] = []
    planes: dict[str, np.ndarray] = {}
    burned_in = False
    for path in dicom_files(folder):
        try:
            ds = pydicom.dcmread(path)
        except Exception as err:
            raise BadInput("unreadable", f"{path.name}: not a readable DICOM file ({type(err).__name__})") from None
        if series_uid and str(ds.get("SeriesInstanceUID", "")) != series_uid:
            continue  # another series sharing the folder
        header = header_of(ds, path.name)
        if header.frames != 1:
            raise BadInput("unreadable", "multi-frame object: only single-frame series are sliced")
        planes[path.name] = _output_values(ds, path.name).T  # (columns, rows): voxel i = column
        headers.append(header)
        burned_in |= str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES"
    geom = series_geometry(headers)
    native = np.stack([planes[name] for name in geom.files], axis=-1)
    voxels = np.ascontiguousarray(nib.orientations.apply_orientation(native, geom.ornt), dtype=np.float32)
    first = headers[0]
    return SeriesVolume(voxels, geom.affine, geom.zooms, modality_of(first.modality), first.body_part, burned_in)


def dicom_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise BadInput("missing_file", "the series folder does not exist")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".dcm" and p.is_file())


def _output_values(ds: Any, name: str) -> np.ndarray:
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if photometric != "MONOCHROME2":
        raise BadInput("unreadable", f"{name}: only MONOCHROME2 series are sliced")
    try:
        stored = ds.pixel_array
        values = apply_modality_lut(stored, ds) if ("RescaleSlope" in ds or "RescaleIntercept" in ds
                                                    or "ModalityLUTSequence" in ds) else stored
    except Exception as err:  # truncated pixel data, missing decoder, bad LUT
        raise BadInput("unreadable", f"{name}: pixel data cannot be decoded ({type(err).__name__})") from None
    if values.ndim != 2:
        raise BadInput("unreadable", f"{name}: not a single grayscale frame")
    return np.asarray(values, dtype=np.float32)


def load_series(folder: Path, series_uid: str = "") -> SeriesVolume:
    """The series in `folder` (only files of `series_uid` when given) as a canonical volume, cached."""
    if not folder.is_dir():
        raise BadInput("missing_file", "the series folder does not exist")
    st = folder.stat()
    result = _load_series(str(folder), series_uid, (st.st_mtime_ns, len(os.listdir(folder))))
    if isinstance(result, BadInput):
        raise BadInput(result.kind, str(result))
    return result


def read_series_slice(root: Path, meta: dict[str, Any]) -> tuple[VolumeSlice, tuple[float, float]]:
    """Decode the slice an item names: `series_dir` (under `root`), `series_uid`, `slice_axis`, `slice_index`;
    `volume_shape`, when given, must still match (the series did not change since it was planned)."""
    volume = load_series(Path(root) / str(meta.get("series_dir") or ""), str(meta.get("series_uid") or ""))
    expected = meta.get("volume_shape")
    if expected is not None and tuple(int(v) for v in expected) != volume.voxels.shape:
        raise BadInput("shape_mismatch", "the series' volume differs from the one planned (files changed?)")
    axis = str(meta.get("slice_axis", "z"))
    pixels = slice_plane(volume.voxels, axis, int(meta.get("slice_index", 0)))
    spacing = slice_spacing(volume.zooms, axis)
    return VolumeSlice(pixels=pixels, modality=volume.modality, pixel_spacing=spacing,
                       body_part=volume.body_part, burned_in=volume.burned_in), spacing
