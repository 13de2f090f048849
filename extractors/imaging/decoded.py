"""`DecodedImage`: the pixels of one file after decoding, plus the few header facts stages need.

`pixels` is HxW (grayscale), HxWx3 (RGB photographs) or FxHxW (multi-frame), in the file's
output units (Hounsfield units for CT after the modality LUT). `meta` holds only allow-listed,
non-identifying header values (see `extractors.deid.DICOM_ALLOWLIST`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class DecodedImage:
    pixels: np.ndarray
    modality: str | None = None
    photometric: str | None = None  # as stored in the file (MONOCHROME1 pixels are already inverted)
    pixel_spacing: tuple[float, float] | None = None  # (row, col) in mm
    view: str | None = None
    body_part: str | None = None
    bits_stored: int | None = None
    frames: int = 1
    burned_in: bool = False
    secondary_capture: bool = False
    window: tuple[float, float] | None = None  # (center, width) in output units, when the file names one
    rescale_applied: bool = False
    voi_applied: bool = False  # a VOI LUT sequence (not a window) was applied to the pixels
    inverted: bool = False  # MONOCHROME1 was inverted to MONOCHROME2 sense
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[-2] if self.is_multiframe else self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[-1] if self.is_multiframe else self.pixels.shape[1])

    @property
    def is_multiframe(self) -> bool:
        return self.frames > 1 and self.pixels.ndim == 3 and self.pixels.shape[0] == self.frames

    def frame(self, index: int) -> np.ndarray:
        """One frame of a multi-frame image (the image itself when single-frame)."""
        if not self.is_multiframe:
            return self.pixels
        if not 0 <= index < self.frames:
            raise IndexError(f"frame {index} of {self.frames}")
        return self.pixels[index]
