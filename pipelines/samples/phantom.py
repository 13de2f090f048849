"""Generated chest-radiograph-like pixels for samples and tests (no real patient data).

A seeded phantom: body outline, two lung fields, heart shadow (on the image's right half of the
mediastinum, i.e. the patient's left on a PA film), ribs, and bright lesions at given boxes. The
pixels are synthetic; the layouts that carry them are the datasets' real ones.
"""

from __future__ import annotations

import cv2
import numpy as np


def chest_phantom(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 12, np.float32)
    c = size / 2
    cv2.ellipse(img, (int(c), int(c * 1.05)), (int(size * 0.44), int(size * 0.48)), 0, 0, 360, 150, -1)
    for side in (-1, 1):
        center = (int(c + side * size * 0.2), int(c * 0.95))
        cv2.ellipse(img, center, (int(size * 0.15), int(size * 0.3)), 0, 0, 360, 55, -1)
    cv2.ellipse(img, (int(c + size * 0.06), int(c * 1.25)), (int(size * 0.13), int(size * 0.11)), 0, 0, 360, 170, -1)
    for k in range(8):
        y = int(size * (0.22 + 0.075 * k))
        cv2.ellipse(img, (int(c), y), (int(size * 0.36), int(size * 0.05)), 0, 190, 350, 95, max(1, size // 128))
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(cv2.GaussianBlur(img, (0, 0), size / 256), 0, 255)


def add_lesion(img: np.ndarray, box_xywh: tuple[float, float, float, float], seed: int) -> None:
    """Paint a bright blob that fills most of the box (so weak masks have something to find)."""
    rng = np.random.default_rng(seed)
    x, y, w, h = box_xywh
    center = (int(x + w / 2), int(y + h / 2))
    axes = (max(1, int(w * rng.uniform(0.3, 0.42))), max(1, int(h * rng.uniform(0.3, 0.42))))
    blob = np.zeros_like(img)
    cv2.ellipse(blob, center, axes, float(rng.uniform(0, 180)), 0, 360, 90, -1)
    img += cv2.GaussianBlur(blob, (0, 0), max(1.0, min(w, h) / 16))
    np.clip(img, 0, 255, out=img)


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0, 255).astype(np.uint8)


def to_uint12(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 255) * (4095 / 255)).astype(np.uint16)
