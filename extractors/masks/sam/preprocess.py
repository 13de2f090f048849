"""Image preprocessing as MedSAM does it, up to the float tensor the encoder eats (numpy + OpenCV).

1. Intensity to uint8 (`medsam_uint8`, for raw arrays only — pipeline PNGs are already 8-bit):
   CT: window (level/width, default soft tissue 40/400) then rescale to [0, 255]; MR and other
   non-8-bit data: clip to the 0.5–99.5th percentiles of the non-zero pixels, then rescale.
2. Three channels (grey repeated, alpha dropped).
3. Resize the long side to the encoder size (INTER_AREA when shrinking, as MedSAM's
   `resize_longest_side`; linear when enlarging), normalise, pad bottom/right with zeros.
   Normalisation: LiteMedSAM min-max to [0, 1]; SAM ViT-B/L/H the ImageNet pixel mean/std.
"""

from __future__ import annotations

from typing import Any, Literal

import cv2
import numpy as np

from extractors.masks.sam.frame import ModelFrame

Normalisation = Literal["minmax", "sam_pixel"]
SAM_PIXEL_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
SAM_PIXEL_STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)
CT_SOFT_TISSUE = (40.0, 400.0)


def medsam_uint8(
    pixels: np.ndarray, modality: str | None = None, window: tuple[float, float] = CT_SOFT_TISSUE
) -> np.ndarray:
    """Raw intensities → uint8 the way MedSAM's CT/MR preprocessing does. uint8 input is returned as is."""
    arr = np.asarray(pixels)
    if arr.dtype == np.uint8:
        return arr
    arr = arr.astype(np.float64)
    if modality == "CT":
        level, width = window
        lo, hi = level - width / 2.0, level + width / 2.0
    else:
        nonzero = arr[arr > 0]
        ref = nonzero if nonzero.size else arr.ravel()
        lo, hi = float(np.percentile(ref, 0.5)), float(np.percentile(ref, 99.5))
    clipped = np.clip(arr, lo, hi)
    span = max(hi - lo, 1e-8)
    out = (clipped - lo) / span * 255.0
    if modality != "CT":
        out[arr == 0] = 0.0  # MedSAM keeps the zero background of MR volumes at zero
    return np.round(out).astype(np.uint8)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """HxW, HxWx1, HxWx3 or HxWx4 uint8 → HxWx3 uint8."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {img.dtype}; map intensities first")
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim == 3 and img.shape[2] == 1:
        return np.repeat(img, 3, axis=2)
    if img.ndim == 3 and img.shape[2] in (3, 4):
        return np.ascontiguousarray(img[:, :, :3])
    raise ValueError(f"unsupported image shape {img.shape}")


def resized_uint8(rgb: np.ndarray, frame: ModelFrame) -> np.ndarray:
    """HxWx3 uint8 → the long side resized to the encoder size, still uint8 (what travels to the GPU)."""
    if rgb.shape[:2] != (frame.height, frame.width):
        raise ValueError("image does not match its frame")
    if (frame.new_height, frame.new_width) == rgb.shape[:2]:
        return rgb
    shrink = frame.new_height < frame.height or frame.new_width < frame.width
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(rgb, (frame.new_width, frame.new_height), interpolation=interp)


def model_inputs_on_device(
    images: list[np.ndarray], frames: list[ModelFrame], normalisation: Normalisation, device: Any
) -> Any:
    """Like stacking `model_input` for each image, but resizes on the CPU in uint8, ships the batch
    in one copy (4x fewer bytes than float32), and normalises and zero-pads it on the device, so a
    GPU encoder is not kept waiting by per-pixel float work on the CPU."""
    import torch

    size = frames[0].size
    batch = np.zeros((len(images), size, size, 3), dtype=np.uint8)
    lo = np.zeros(len(images), dtype=np.float32)
    hi = np.ones(len(images), dtype=np.float32)
    valid = np.zeros((len(images), 1, size, size), dtype=bool)
    for i, (rgb, frame) in enumerate(zip(images, frames, strict=True)):
        resized = resized_uint8(rgb, frame)
        batch[i, : frame.new_height, : frame.new_width] = resized
        lo[i], hi[i] = float(resized.min()), float(resized.max())
        valid[i, :, : frame.new_height, : frame.new_width] = True
    x = torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float()
    if normalisation == "minmax":
        lo_t = torch.from_numpy(lo).to(device)[:, None, None, None]
        span = torch.clamp(torch.from_numpy(hi).to(device)[:, None, None, None] - lo_t, min=1e-8)
        x = (x - lo_t) / span
    else:
        mean = torch.as_tensor(SAM_PIXEL_MEAN, device=device)[None, :, None, None]
        std = torch.as_tensor(SAM_PIXEL_STD, device=device)[None, :, None, None]
        x = (x - mean) / std
    return x * torch.from_numpy(valid).to(device)


def model_input(rgb: np.ndarray, frame: ModelFrame, normalisation: Normalisation) -> np.ndarray:
    """HxWx3 uint8 → 3xSxS float32: resized long side, normalised, zero-padded bottom/right."""
    if rgb.shape[:2] != (frame.height, frame.width):
        raise ValueError("image does not match its frame")
    shrink = frame.new_height < frame.height or frame.new_width < frame.width
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (frame.new_width, frame.new_height), interpolation=interp).astype(np.float32)
    if normalisation == "minmax":
        lo, hi = float(resized.min()), float(resized.max())
        resized = (resized - lo) / max(hi - lo, 1e-8)
    else:
        resized = (resized - SAM_PIXEL_MEAN) / SAM_PIXEL_STD
    out = np.zeros((3, frame.size, frame.size), dtype=np.float32)
    out[:, : frame.new_height, : frame.new_width] = resized.transpose(2, 0, 1)
    return out
