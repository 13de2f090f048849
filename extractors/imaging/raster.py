"""Read one PNG or JPEG into a `DecodedImage` (OpenCV, 8 or 16 bit).

Grayscale comes back HxW; colour (endoscopy, dermoscopy photographs) HxWx3 in RGB order, alpha
dropped. A colour file whose three channels are identical (a radiograph saved as RGB) is grayscale.
Truncated files are refused rather than half-decoded: a PNG must end with its IEND chunk, a JPEG
with its EOI marker, which OpenCV's decoders would otherwise pad over with a warning.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from extractors.imaging.decoded import DecodedImage
from schemas.errors import BadInput

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8"


def read_raster(path: Path) -> DecodedImage:
    path = Path(path)
    if not path.is_file():
        raise BadInput("missing_file", "the image file does not exist")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise BadInput("unreadable", f"the image file cannot be read ({type(err).__name__})") from None
    check_complete(data)
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.size == 0:
        raise BadInput("unreadable", "the image file cannot be decoded")
    pixels = _rgb_or_gray(pixels)
    bits = 16 if pixels.dtype == np.uint16 else 8
    return DecodedImage(
        pixels=pixels,
        photometric="RGB" if pixels.ndim == 3 else "MONOCHROME2",
        bits_stored=bits,
        frames=1,
    )


def check_complete(data: bytes) -> None:
    """Refuse a PNG without IEND or a JPEG without EOI (truncated downloads)."""
    if data.startswith(PNG_SIGNATURE):
        if b"IEND" not in data[-64:]:
            raise BadInput("unreadable", "the PNG file is truncated (no IEND chunk)")
    elif data.startswith(JPEG_SOI):
        if b"\xff\xd9" not in data.rstrip(b"\x00")[-16:]:
            raise BadInput("unreadable", "the JPEG file is truncated (no EOI marker)")
    elif len(data) < 8:
        raise BadInput("unreadable", "the image file is empty or too short")


def _rgb_or_gray(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 2:
        return pixels
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3, 4):
        raise BadInput("unreadable", f"unsupported channel layout ({pixels.ndim} dims)")
    if pixels.shape[2] == 1:
        return pixels[..., 0]
    bgr = pixels[..., :3]
    if np.array_equal(bgr[..., 0], bgr[..., 1]) and np.array_equal(bgr[..., 1], bgr[..., 2]):
        return np.ascontiguousarray(bgr[..., 0])
    return np.ascontiguousarray(bgr[..., ::-1])
