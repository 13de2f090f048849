"""Write small, valid DICOM files for samples and tests (pydicom; generated pixels, fake identities).

`write_dicom` builds the tag set public chest-film challenges ship (RSNA Pneumonia, SIIM-ACR: CR/DX
or Secondary Capture with patient, study, series and image modules), plus CT/MR images with a
rescale and a window. Identifying values (name, birth date, accession, anything in `extra`) are
written on purpose, so tests can assert they never reach an output; `phi` plants more of them (any
header keyword, and `private` for a value in a private element) after everything else. UIDs are derived from the
inputs (`generate_uid(entropy_srcs=...)`) and pydicom adds no timestamps: the same call writes the
same bytes. `compress_jpeg=True` writes JPEG Baseline (8-bit grayscale only): pydicom 3 has no
JPEG Baseline encoder, so frames are encoded with Pillow and encapsulated.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)

SOP_CLASSES: dict[str, str] = {
    "CR Image Storage": ComputedRadiographyImageStorage,
    "Digital X-Ray Image Storage - For Presentation": DigitalXRayImageStorageForPresentation,
    "CT Image Storage": CTImageStorage,
    "MR Image Storage": MRImageStorage,
    "Secondary Capture Image Storage": SecondaryCaptureImageStorage,
}
SOP_ALIASES = {"CR": "CR Image Storage", "DX": "Digital X-Ray Image Storage - For Presentation",
               "CT": "CT Image Storage", "MR": "MR Image Storage", "SC": "Secondary Capture Image Storage"}
JPEG_QUALITY = 95
PRIVATE_GROUP = 0x0011
PRIVATE_CREATOR = "MEDGROUND PHI TEST"
PRIVATE_KEY = "private"  # `phi` key whose value goes into a private LO element (0011,xx10)


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    modality: str = "CR",
    photometric: str = "MONOCHROME2",
    sop_class: str | None = None,
    patient_id: str = "ANON",
    patient_name: str = "ANON^PATIENT",
    birth_date: str = "",
    accession: str = "",
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    view_position: str | None = None,
    body_part: str | None = None,
    pixel_spacing: tuple[float, float] | None = None,
    imager_pixel_spacing: tuple[float, float] | None = None,
    window: tuple[float, float] | Sequence[tuple[float, float]] | None = None,
    rescale: tuple[float, float] | None = None,
    burned_in: bool | None = None,
    compress_jpeg: bool = False,
    extra: dict[str, Any] | None = None,
    phi: Mapping[str, str] | None = None,
) -> Path:
    """Write `pixels` (HxW, or FxHxW multi-frame; uint8, uint16 or int16) as a DICOM file at `path`."""
    path = Path(path)
    arr = np.ascontiguousarray(pixels)
    if arr.ndim not in (2, 3) or arr.dtype not in (np.uint8, np.uint16, np.int16):
        raise ValueError(f"pixels must be HxW or FxHxW uint8/uint16/int16, got {arr.shape} {arr.dtype}")
    sop_name = SOP_ALIASES.get(sop_class or modality, sop_class or "Secondary Capture Image Storage")
    if sop_name not in SOP_CLASSES:
        raise ValueError(f"unknown SOP class {sop_class!r} (allowed: {', '.join([*SOP_CLASSES, *SOP_ALIASES])})")
    study_uid = study_uid or generate_uid(entropy_srcs=["study", patient_id, accession])
    series_uid = series_uid or generate_uid(entropy_srcs=["series", study_uid, modality, view_position or ""])
    digest = hashlib.sha256(arr.tobytes()).hexdigest()
    sop_uid = sop_uid or generate_uid(entropy_srcs=["sop", series_uid, str(arr.shape), digest])

    ds = Dataset()
    ds.file_meta = _file_meta(SOP_CLASSES[sop_name], sop_uid, JPEGBaseline8Bit if compress_jpeg else None)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = SOP_CLASSES[sop_name]
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate, ds.StudyTime = "19010101", "000000.00"  # as the challenges' anonymiser left them
    ds.AccessionNumber = accession
    ds.Modality = modality
    ds.ConversionType = "WSD"
    ds.ReferringPhysicianName = ""
    ds.SeriesDescription = f"view: {view_position}" if view_position else ""
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = birth_date
    ds.PatientSex = ""
    ds.PatientAge = ""
    if body_part:
        ds.BodyPartExamined = body_part
    if view_position:
        ds.ViewPosition = view_position
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = ""
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.PatientOrientation = ""
    if burned_in is not None:
        ds.BurnedInAnnotation = "YES" if burned_in else "NO"
    if pixel_spacing:
        ds.PixelSpacing = [_ds(v) for v in pixel_spacing]
    if imager_pixel_spacing:
        ds.ImagerPixelSpacing = [_ds(v) for v in imager_pixel_spacing]
    if rescale is not None:
        ds.RescaleSlope, ds.RescaleIntercept = _ds(rescale[0]), _ds(rescale[1])
        ds.RescaleType = "HU" if modality == "CT" else "US"
    if window is not None:
        windows = [window] if np.isscalar(window[0]) else list(window)  # type: ignore[index]
        ds.WindowCenter = [_ds(float(w[0])) for w in windows]  # type: ignore[index]
        ds.WindowWidth = [_ds(float(w[1])) for w in windows]  # type: ignore[index]
    for keyword, value in sorted((extra or {}).items()):
        setattr(ds, keyword, value)
    plant_phi(ds, phi or {})
    _set_pixels(ds, arr, photometric, compress_jpeg)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def plant_phi(ds: Dataset, phi: Mapping[str, str]) -> None:
    """Write identifying values on purpose: header keywords, and `private` into a private element."""
    for keyword, value in sorted(phi.items()):
        if keyword == PRIVATE_KEY:
            ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True).add_new(0x10, "LO", value)
        else:
            setattr(ds, keyword, value)


def truncate_file(path: Path, keep_bytes: int) -> Path:
    """Cut a file to its first `keep_bytes` bytes (a broken download)."""
    path = Path(path)
    data = path.read_bytes()
    path.write_bytes(data[: max(0, int(keep_bytes))])
    return path


def _file_meta(sop_class: str, sop_uid: str, syntax: str | None) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = syntax or ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "MEDGROUND_1"
    return meta


def _set_pixels(ds: Dataset, arr: np.ndarray, photometric: str, compress_jpeg: bool) -> None:
    frames = arr.shape[0] if arr.ndim == 3 else 1
    bits = 8 if arr.dtype == np.uint8 else 16
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = int(arr.shape[-2]), int(arr.shape[-1])
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.BitsAllocated = bits
    ds.BitsStored = bits if arr.dtype != np.uint16 else min(16, max(12, int(arr.max()).bit_length()))
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if arr.dtype == np.int16 else 0
    if not compress_jpeg:
        ds.PixelData = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        return
    if arr.dtype != np.uint8:
        raise ValueError("JPEG Baseline compression takes 8-bit pixels only")
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    ds.PixelData = encapsulate([_jpeg(f) for f in (arr if arr.ndim == 3 else [arr])])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True


def _jpeg(frame: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame)).save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=False)
    return buf.getvalue()


def _ds(value: float) -> str:
    """A decimal string short enough for DICOM's DS (16 characters)."""
    return f"{float(value):.10g}"[:16]
