"""Generated chest-radiograph-like pixels for samples and tests (no real patient data).

A seeded phantom: body outline, two lung fields, heart shadow (on the image's right half of the
mediastinum, i.e. the patient's left on a PA film), ribs, and bright lesions at given boxes. The
pixels are synthetic; the layouts that carry them are the datasets' real ones.
"""

from __future__ import annotations

import cv2
import numpy as np


def chest_phantom(size: int, seed: int) -> np.ndarray:
    """A seeded phantom whose anatomy (body, lungs, heart: position, size, tilt, density) varies with
    the seed like patients do, so two phantoms are not near duplicates to a perceptual hash (identical
    geometry gave identical pHashes; with this variation 80 seeds are >= 8 bits apart, measured)."""
    rng = np.random.default_rng(seed)
    geo = np.random.default_rng(seed + 104729)

    def j(spread: float) -> float:
        return 1 + 1.5 * geo.uniform(-spread, spread)

    img = np.full((size, size), 12, np.float32)
    c = size / 2
    cx, cy = c * j(0.06), c * 1.05 * j(0.05)
    body = (int(size * 0.44 * j(0.1)), int(size * 0.48 * j(0.06)))
    cv2.ellipse(img, (int(cx), int(cy)), body, 1.5 * geo.uniform(-6, 6), 0, 360, 150 * j(0.15), -1)
    for side in (-1, 1):
        center = (int(cx + side * size * 0.2 * j(0.15)), int(c * 0.95 * j(0.08)))
        axes = (int(size * 0.15 * j(0.2)), int(size * 0.3 * j(0.15)))
        cv2.ellipse(img, center, axes, 1.5 * geo.uniform(-10, 10), 0, 360, 55 * j(0.3), -1)
    heart = (int(cx + size * 0.06 * j(0.5)), int(c * 1.25 * j(0.06)))
    cv2.ellipse(img, heart, (int(size * 0.13 * j(0.3)), int(size * 0.11 * j(0.3))), 0, 0, 360, 170, -1)
    for k in range(8):
        y = int(size * (0.22 + 0.075 * k))
        cv2.ellipse(img, (int(cx), y), (int(size * 0.36), int(size * 0.05)), 0, 190, 350, 95, max(1, size // 128))
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
