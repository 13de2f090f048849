"""Write a tiny TCIA download in the layout the NBIA Data Retriever writes: `metadata.csv` (its real
17-column header, one row per series) and one folder per series named as the retriever names them,
`./<Collection>/<Subject ID>/<MM-DD-YYYY>-NA-<Study Description>-<last 5 of the Study UID>/
<Series Number>.000000-<Series Description>-<last 5 of the Series UID>/1-001.dcm …`.

The CT slices hold generated Hounsfield units sampled from one phantom defined in patient (LPS)
coordinates (`phantom_hu`), so every series can be checked against it:

- A (LIDC-IDRI-0001): axial, rows anterior→posterior and columns right→left (the usual layout);
  file names and instance numbers shuffled against the slice positions.
- B (LIDC-IDRI-0002): the same points sampled with row and column directions reversed and slices
  stacked downward, each slice with its own RescaleSlope/Intercept: its RAS+ volume equals A's.
- C (LIDC-IDRI-0003): 4 slices, one of them truncated (broken on purpose): quarantined.
- S: a Segmentation Storage object of A (one file): not an image, skipped with a reason.

Headers carry the tags TCIA ships (geometry, rescale, window, PatientID = Subject ID) and fake
identifying values planted on purpose (`PHI_VALUES`, more through `phi`), so tests can assert none
of them reaches an output.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import CTImageStorage, SegmentationStorage, generate_uid

from pipelines.samples.dicom import truncate_file, write_dicom

HEADER = ["Series UID", "Collection", "3rd Party Analysis", "Data Description URI", "Subject ID", "Study UID",
          "Study Description", "Study Date", "Series Description", "Manufacturer", "Modality", "SOP Class Name",
          "SOP Class UID", "Number of Images", "File Size", "File Location", "Download Timestamp"]
COLLECTION = "LIDC-IDRI"
DOI = "https://doi.org/10.7937/K9/TCIA.2015.LO9QL9SX"
TCIA_UID_ROOT = "1.3.6.1.4.1.14519.5.2.1."
ROWS, COLS, N_SLICES = 40, 48, 8
PIXEL_SPACING = (0.8, 0.6)  # (row, column) mm: unequal, so a swap shows
SLICE_STEP = 2.5
ORIGIN = (-14.1, -15.6, -10.0)  # LPS mm of series A's first pixel: the grid is centred on the body
RESCALES = [(1.0, -1024.0), (0.5, -1024.0), (1.0, -1000.0)]  # series B: per slice, in turn
PHI_VALUES = {
    "PatientName": "LIDCDOE^PHIPLANT",
    "PatientBirthDate": "19340512",
    "OtherPatientIDs": "PHIPLANT-OTHER-0042",
    "AccessionNumber": "PHIACC31415",
    "InstitutionName": "PHIPLANT CANCER CENTER",
    "ReferringPhysicianName": "REFERRER^PHIPLANT",
    "private": "PHIPLANT PRIVATE NOTE",
}


@dataclass
class TciaSeries:
    uid: str
    subject: str
    study_uid: str
    folder: str  # File Location without "./"
    files: list[str]  # file names in slice order (ascending along the normal)
    hu: np.ndarray  # (slices, rows, columns) in the files' own pixel layout, slice order as `files`
    orientation: tuple[float, ...]
    positions: list[tuple[float, float, float]]  # ImagePositionPatient, slice order as `files`


@dataclass
class TciaSample:
    root: Path
    series: dict[str, TciaSeries] = field(default_factory=dict)  # "A", "B", "C", "S"
    broken: list[str] = field(default_factory=list)  # series UIDs with a truncated file
    skipped: list[str] = field(default_factory=list)  # series UIDs of non-image objects


def phantom_hu(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """HU at LPS points: air, an elliptic body, a lung on the patient's left, a bone marker at the
    right-anterior, and a central square whose value counts slices upward (100, 110, …)."""
    hu = np.full(np.broadcast(x, y, z).shape, -1000.0)
    hu[(x / 12.0) ** 2 + (y / 13.0) ** 2 <= 1.0] = 40.0
    hu[(x - 6.0) ** 2 + y**2 <= 16.0] = -700.0
    hu[(x >= -10.0) & (x <= -7.0) & (y >= -11.0) & (y <= -8.0)] = 700.0
    centre = (np.abs(x) <= 2.0) & (np.abs(y) <= 2.2)
    level = 100.0 + 10.0 * np.rint((z - ORIGIN[2]) / SLICE_STEP)
    hu[centre] = np.broadcast_to(level, hu.shape)[centre]
    return hu


def sample_grid(origin: tuple[float, float, float], row_cos: np.ndarray, col_cos: np.ndarray) -> np.ndarray:
    """HU of one slice: pixel (r, c) sits at origin + c·Δcol·row_cos + r·Δrow·col_cos (DICOM PS3.3 C.7.6.2)."""
    r, c = np.mgrid[0:ROWS, 0:COLS].astype(float)
    pts = (np.asarray(origin)[:, None, None] + c[None] * PIXEL_SPACING[1] * row_cos[:, None, None]
           + r[None] * PIXEL_SPACING[0] * col_cos[:, None, None])
    return phantom_hu(pts[0], pts[1], pts[2])


def write_tcia_sample(root: Path, broken: bool = True, seed: int = 11,
                      phi: Mapping[str, str] | None = None) -> TciaSample:
    out = TciaSample(root)
    rng = np.random.default_rng(seed)
    planted = {**PHI_VALUES, **(phi or {})}
    rows: list[list[object]] = []
    x0, y0, z0 = ORIGIN
    axial = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    a_origins = [(x0, y0, z0 + k * SLICE_STEP) for k in range(N_SLICES)]
    hu_a = np.stack([sample_grid(o, np.asarray(axial[:3]), np.asarray(axial[3:])) for o in a_origins])
    # B: the same points, rows and columns reversed, slices written downward (slice k = A's N-1-k)
    b_origins = [(-x0, -y0, a_origins[N_SLICES - 1 - k][2]) for k in range(N_SLICES)]
    hu_b = hu_a[::-1, ::-1, ::-1]
    plans = [("A", "LIDC-IDRI-0001", axial, a_origins, hu_a, False),
             ("B", "LIDC-IDRI-0002", (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0), b_origins, hu_b, True)]
    if broken:
        plans.append(("C", "LIDC-IDRI-0003", axial, a_origins[:4], hu_a[:4], False))
    for name, subject, iop, origins, hu, rescale_each in plans:
        series, row = write_series(root, name, subject, iop, origins, hu, rescale_each, rng, planted)
        out.series[name] = series
        rows.append(row)
    if broken:
        c = out.series["C"]
        truncate_file(root / c.folder / c.files[2], keep_bytes=300)
        out.broken.append(c.uid)
    seg, seg_row = write_seg(root, out.series["A"], planted)
    out.series["S"] = seg
    out.skipped.append(seg.uid)
    rows.append(seg_row)
    with open(root / "metadata.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)
    return out


def write_series(root: Path, name: str, subject: str, iop: tuple[float, ...],
                 origins: list[tuple[float, float, float]], hu: np.ndarray, rescale_each: bool,
                 rng: np.random.Generator, planted: Mapping[str, str]) -> tuple[TciaSeries, list[object]]:
    study_uid = generate_uid(prefix=TCIA_UID_ROOT, entropy_srcs=["study", subject])
    series_uid = generate_uid(prefix=TCIA_UID_ROOT, entropy_srcs=["series", subject, name])
    folder = f"{COLLECTION}/{subject}/01-01-2000-NA-CHEST-{study_uid[-5:]}/3000566.000000-NA-{series_uid[-5:]}"
    numbers = rng.permutation(len(origins)) + 1  # file number (and InstanceNumber) of each slice
    order = sorted(range(len(origins)), key=lambda k: origins[k][2])  # slice order: ascending z (normal +z)
    size = 0
    for k in rng.permutation(len(origins)):  # write order shuffled too
        slope, intercept = RESCALES[int(k) % len(RESCALES)] if rescale_each else RESCALES[0]
        stored = np.rint((hu[k] - intercept) / slope).astype(np.uint16)
        path = write_dicom(
            root / folder / f"1-{numbers[k]:03d}.dcm", stored, modality="CT", sop_class="CT",
            patient_id=subject, patient_name="", study_uid=study_uid, series_uid=series_uid, body_part="CHEST",
            pixel_spacing=PIXEL_SPACING, rescale=(slope, intercept), window=(-600.0, 1500.0),
            sop_uid=generate_uid(prefix=TCIA_UID_ROOT, entropy_srcs=["sop", series_uid, str(k)]),
            extra={"ImageOrientationPatient": [f"{v:g}" for v in iop],
                   "ImagePositionPatient": [f"{v:.4f}" for v in origins[k]],
                   "SliceThickness": SLICE_STEP, "InstanceNumber": int(numbers[k]), "SeriesNumber": 3000566,
                   "StudyDescription": "CHEST", "Manufacturer": "GE MEDICAL SYSTEMS", "PatientPosition": "FFS",
                   "KVP": 120, "StudyDate": "20000101"},
            phi=planted,
        )
        size += path.stat().st_size
    series = TciaSeries(series_uid, subject, study_uid, folder, [f"1-{numbers[k]:03d}.dcm" for k in order],
                        hu[order], iop, [origins[k] for k in order])
    return series, _row(series, "CT", "CT Image Storage", CTImageStorage, len(origins), size)


def write_seg(root: Path, ref: TciaSeries, planted: Mapping[str, str]) -> tuple[TciaSeries, list[object]]:
    """A one-file Segmentation Storage object beside series A (not an image volume)."""
    uid = generate_uid(prefix=TCIA_UID_ROOT, entropy_srcs=["seg", ref.uid])
    folder = f"{ref.folder.rsplit('/', 1)[0]}/300.000000-Segmentation-{uid[-5:]}"
    path = write_dicom(root / folder / "1-1.dcm", (ref.hu[:3] > 0).astype(np.uint8), modality="SEG",
                       sop_class="CT", patient_id=ref.subject, patient_name="", study_uid=ref.study_uid,
                       series_uid=uid, extra={"SOPClassUID": SegmentationStorage, "Modality": "SEG",
                                              "SeriesNumber": 300}, phi=planted)
    ds = pydicom.dcmread(path)
    ds.file_meta.MediaStorageSOPClassUID = SegmentationStorage
    ds.save_as(path, enforce_file_format=True)
    seg = TciaSeries(uid, ref.subject, ref.study_uid, folder, ["1-1.dcm"], ref.hu[:3] > 0, ref.orientation, [])
    return seg, _row(seg, "SEG", "Segmentation Storage", SegmentationStorage, 1, path.stat().st_size)


def _row(s: TciaSeries, modality: str, sop_name: str, sop_uid: str, n: int, size: int) -> list[object]:
    return [s.uid, COLLECTION, "NO", DOI, s.subject, s.study_uid, "CHEST", "01-01-2000", "NA",
            "GE MEDICAL SYSTEMS", modality, sop_name, sop_uid, n, f"{size / 1024:.2f} KB", f"./{s.folder}",
            "2024-03-05T10:12:44.512"]
