"""Read one DICOM file into a `DecodedImage` with pydicom 3.

Order of operations (PS3.4 grayscale pipeline): stored values → modality LUT (Rescale
Slope/Intercept or a Modality LUT Sequence) → VOI LUT Sequence when the file has one (its first
LUT) → MONOCHROME1 inverted so that larger always means brighter. A window (Window Center/Width;
the first one when there are several) is not applied here: it is returned in output units, so that
`intensity.to_uint8` can apply it or a preset. Compressed transfer syntaxes decode through
pydicom's pixel backends (pylibjpeg, Pillow). Multi-frame files come back as FxHxW.

Errors raise `BadInput("missing_file" | "unreadable")` whose messages never quote a header value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from extractors.deid import allowlisted_meta
from extractors.imaging.decoded import DecodedImage
from schemas.errors import BadInput

SECONDARY_CAPTURE_UIDS = frozenset({
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage
    "1.2.840.10008.5.1.4.1.1.7.1",  # Multi-frame Single Bit SC
    "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
    "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
    "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color SC
})


def read_dicom(path: Path) -> DecodedImage:
    path = Path(path)
    if not path.is_file():
        raise BadInput("missing_file", "the DICOM file does not exist")
    try:
        ds = pydicom.dcmread(path)
        for _elem in ds.iterall():  # convert every raw element now: a corrupt VR/value fails here, not later
            pass
    except Exception as err:  # InvalidDicomError, EOFError, struct errors on truncated headers…
        raise BadInput("unreadable", f"not a readable DICOM file ({type(err).__name__})") from None
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise BadInput("unreadable", "the DICOM file has no pixel data")
    try:
        stored = ds.pixel_array
    except Exception as err:  # truncated pixel data, missing decoder, inconsistent geometry
        raise BadInput("unreadable", f"the DICOM pixel data cannot be decoded ({type(err).__name__})") from None
    photometric = str(ds.get("PhotometricInterpretation", "") or "").upper() or None
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    try:
        pixels, rescaled, voi, window, inverted = _to_output_values(ds, stored, photometric)
    except Exception as err:
        raise BadInput("unreadable", f"the DICOM LUTs cannot be applied ({type(err).__name__})") from None
    return DecodedImage(
        pixels=pixels,
        modality=_text(ds, "Modality"),
        photometric=photometric,
        pixel_spacing=pixel_spacing(ds),
        view=_text(ds, "ViewPosition"),
        body_part=_text(ds, "BodyPartExamined"),
        bits_stored=int(ds.BitsStored) if "BitsStored" in ds else None,
        frames=frames,
        burned_in=_text(ds, "BurnedInAnnotation") == "YES",
        secondary_capture=str(ds.get("SOPClassUID", "")) in SECONDARY_CAPTURE_UIDS,
        window=window,
        rescale_applied=rescaled,
        voi_applied=voi,
        inverted=inverted,
        meta=allowlisted_meta(ds),
    )


def _to_output_values(
    ds: Any, stored: np.ndarray, photometric: str | None
) -> tuple[np.ndarray, bool, bool, tuple[float, float] | None, bool]:
    grayscale = photometric in ("MONOCHROME1", "MONOCHROME2")
    if not grayscale:
        return stored, False, False, None, False
    rescaled = "RescaleSlope" in ds or "RescaleIntercept" in ds or "ModalityLUTSequence" in ds
    values = apply_modality_lut(stored, ds) if rescaled else stored
    voi = "VOILUTSequence" in ds
    window = None
    if voi:
        values = apply_voi_lut(values, ds, index=0, prefer_lut=True)
    else:
        window = first_window(ds)
    inverted = photometric == "MONOCHROME1"
    if inverted:
        lo, hi = _value_range(ds, values, exact=not voi and "ModalityLUTSequence" not in ds)
        values = _reflect(values, lo + hi)
        if window is not None:
            window = (lo + hi - window[0], window[1])
    return values, rescaled, voi, window, inverted


def _value_range(ds: Any, values: np.ndarray, exact: bool) -> tuple[float, float]:
    """Range of possible output values: from BitsStored through the linear rescale when known, else the data."""
    bits = int(ds.get("BitsStored", 0) or 0)
    if not exact or bits <= 0:
        return float(values.min()), float(values.max())
    if int(ds.get("PixelRepresentation", 0) or 0):
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    else:
        lo, hi = 0, 2**bits - 1
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    a, b = lo * slope + intercept, hi * slope + intercept
    return min(a, b), max(a, b)


def _reflect(values: np.ndarray, total: float) -> np.ndarray:
    """`total - values`, kept in the input's integer dtype when the result fits."""
    out = total - values.astype(np.float64)
    if np.issubdtype(values.dtype, np.integer) and float(total).is_integer():
        info = np.iinfo(values.dtype)
        if out.size == 0 or (out.min() >= info.min and out.max() <= info.max):
            return out.astype(values.dtype)
    return out


def first_window(ds: Any) -> tuple[float, float] | None:
    """(center, width) of the file's first VOI window, or None when absent or unusable."""
    if "WindowCenter" not in ds or "WindowWidth" not in ds:
        return None
    center, width = ds.WindowCenter, ds.WindowWidth
    try:
        c = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        w = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
    except (TypeError, ValueError, IndexError):
        return None
    if not np.isfinite(c) or not np.isfinite(w) or w < 1:
        return None
    return c, w


def pixel_spacing(ds: Any) -> tuple[float, float] | None:
    """(row, col) spacing in mm: PixelSpacing, else ImagerPixelSpacing, else the multi-frame shared group."""
    for source in (ds, *_shared_pixel_measures(ds)):
        for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
            value = source.get(keyword)
            if value is not None and len(value) == 2:
                try:
                    row, col = float(value[0]), float(value[1])
                except (TypeError, ValueError):
                    continue
                if row > 0 and col > 0:
                    return row, col
    return None


def _shared_pixel_measures(ds: Any) -> list[Any]:
    groups = ds.get("SharedFunctionalGroupsSequence")
    if not groups:
        return []
    measures = groups[0].get("PixelMeasuresSequence")
    return list(measures) if measures else []


def _text(ds: Any, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    text = str(value).strip().upper()
    return text or None
