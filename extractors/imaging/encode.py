"""Deterministic PNG bytes, perceptual hashes and SHA-256 digests of written images.

`encode_png` uses OpenCV's encoder with a fixed compression level and no metadata chunks (no
timestamps, no text), so the same array always gives the same bytes. Colour arrays are taken as
RGB (the order `read_raster` returns) and written as such.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import imagehash
import numpy as np
from PIL import Image

PNG_COMPRESSION = 6


def encode_png(arr: np.ndarray, compression: int = PNG_COMPRESSION) -> bytes:
    """uint8/uint16 HxW, HxWx3 (RGB) or HxWx4 (RGBA) → PNG bytes, deterministic.

    `compression` is zlib's level 0-9: 1 is about twice as fast as 6 for ~15-40% larger files."""
    image = np.ascontiguousarray(arr)
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"encode_png takes uint8 or uint16 pixels, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    elif image.ndim != 2:
        raise ValueError(f"encode_png takes HxW, HxWx3 or HxWx4 arrays, got shape {image.shape}")
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes from `encode_png` → the same array (RGB order for colour)."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError("not a PNG")
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def phash(arr: np.ndarray) -> str:
    """64-bit perceptual hash (imagehash.phash) of an 8-bit image, as 16 hex digits."""
    image = np.asarray(arr)
    if image.dtype != np.uint8:
        raise ValueError(f"phash takes uint8 pixels, got {image.dtype}")
    if image.ndim == 3:
        image = image[..., :3]
    return str(imagehash.phash(Image.fromarray(np.ascontiguousarray(image))))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
