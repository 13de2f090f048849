"""Map decoded pixel values to 8 bits, and say how (the IMAGE `intensity` column).

In order of precedence:
- an explicit window (center, width) — the file's own VOI window — with DICOM's linear VOI function
  (PS3.3 C.11.2.1.2.1): `window:40/400`;
- a named CT preset (Hounsfield units, Radiopaedia's usual values): `preset:lung:-600/1500`;
  `render_decoded` asks for it only for pixels in real HU (`carries_hu`), never for 8-bit files;
- MR beyond 8 bits: the 0.5–99.5 percentiles of the non-zero voxels stretched to 0–255:
  `percentile:0.5-99.5` (an 8-bit MR PNG/JPEG is already rendered: stretching it again would clip
  its top and bottom 0.5%, as a second HU window would a CT PNG; MedSAM's `medsam_uint8` keeps
  8-bit input too);
- 8-bit input is kept as it is: `identity`;
- anything else: its minimum–maximum stretched to 0–255: `minmax`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schemas.errors import ConfigError

# (center, width) in HU
CT_PRESETS: dict[str, tuple[float, float]] = {
    "soft_tissue": (40.0, 400.0),
    "lung": (-600.0, 1500.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "abdomen": (50.0, 400.0),
    "liver": (30.0, 150.0),
    "mediastinum": (50.0, 350.0),
}
MR_PERCENTILES = (0.5, 99.5)


def to_uint8(
    pixels: np.ndarray,
    *,
    modality: str | None,
    window: tuple[float, float] | None = None,
    preset: str | None = None,
) -> tuple[np.ndarray, str]:
    """Pixels (any shape, any numeric dtype) → (uint8 array of the same shape, description)."""
    arr = np.asarray(pixels)
    if window is not None:
        center, width = float(window[0]), float(window[1])
        return apply_window(arr, center, width), f"window:{center:g}/{width:g}"
    if preset is not None:
        if preset not in CT_PRESETS:
            raise ConfigError("ct_window", f"unknown CT window preset {preset!r}", sorted(CT_PRESETS))
        center, width = CT_PRESETS[preset]
        return apply_window(arr, center, width), f"preset:{preset}:{center:g}/{width:g}"
    if (modality or "").upper() == "MR" and arr.dtype != np.uint8:
        lo_q, hi_q = MR_PERCENTILES
        nonzero = arr[arr != 0]
        if nonzero.size == 0:
            return np.zeros(arr.shape, np.uint8), f"percentile:{lo_q:g}-{hi_q:g}"
        lo, hi = np.percentile(nonzero.astype(np.float64), [lo_q, hi_q])
        return _stretch(arr, float(lo), float(hi)), f"percentile:{lo_q:g}-{hi_q:g}"
    if arr.dtype == np.uint8:
        return arr.copy(), "identity"
    if arr.size == 0:
        return np.zeros(arr.shape, np.uint8), "minmax"
    return _stretch(arr, float(arr.min()), float(arr.max())), "minmax"


def apply_window(pixels: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM linear VOI function to 0–255: x ≤ c−½−(w−1)/2 → 0, x > c−½+(w−1)/2 → 255, linear between."""
    if width < 1:
        raise ValueError("a window width must be at least 1")
    x = np.asarray(pixels, dtype=np.float64)
    y = ((x - (center - 0.5)) / (width - 1) + 0.5) * 255.0 if width > 1 else np.where(x > center - 0.5, 255.0, 0.0)
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)


def _stretch(pixels: np.ndarray, lo: float, hi: float) -> np.ndarray:
    x = np.asarray(pixels, dtype=np.float64)
    if hi <= lo:
        return np.zeros(x.shape, np.uint8)
    y = (x - lo) / (hi - lo) * 255.0
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)


def render_decoded(decoded: Any, meta: dict[str, Any], modality: str | None, ct_window: str) -> tuple[np.ndarray, str]:
    """The 8-bit image ingest writes for a decoded file or slice (and the pre-scan pHashes): the item's
    frame of a multi-frame file, the file's own window, else the CT preset (the item's `window_preset`
    before `ct_window`) when the pixels are in Hounsfield units (`carries_hu`), else `to_uint8`'s
    defaults (8-bit kept as it is); alpha dropped. Returns (pixels, intensity)."""
    pixels = decoded.pixels
    if pixels.ndim == 3 and pixels.shape[-1] not in (3, 4):
        pixels = pixels[int(meta.get("frame", 0))]
    modality = decoded.modality or modality
    hu = modality == "CT" and not decoded.window and carries_hu(decoded, pixels)
    preset = (meta.get("window_preset") or ct_window) if hu else None
    u8, intensity = to_uint8(pixels, modality=modality, window=decoded.window, preset=preset)
    return (u8[..., :3] if u8.ndim == 3 else u8), intensity


def carries_hu(decoded: Any, pixels: np.ndarray) -> bool:
    """Whether CT pixels are real Hounsfield units a HU window applies to: not 8-bit (an 8-bit
    PNG/JPEG marked CT is already windowed: a second window squeezes 0–254 into 102–255 and clips
    the top), and from a DICOM whose modality LUT/rescale was applied or from a volume slice
    (NIfTI, DICOM series: scaled by their slope/intercept). A raster file has no rescale."""
    if np.asarray(pixels).dtype == np.uint8:
        return False
    return bool(getattr(decoded, "rescale_applied", True))
