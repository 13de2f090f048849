"""Generated endoscopy/dermoscopy-like colour images and their masks, for the 2D image+mask samples."""

from __future__ import annotations

import cv2
import numpy as np


def colour_scene(height: int, width: int, seed: int, base: tuple[int, int, int]) -> np.ndarray:
    """A smooth, noisy BGR background of roughly `base` colour."""
    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), np.float32)
    img[:] = base
    yy, xx = np.mgrid[0:height, 0:width]
    img *= (0.75 + 0.25 * np.cos(xx / width * 3.0 + seed) * np.sin(yy / height * 2.0))[..., None]
    img += rng.normal(0, 6, img.shape)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 2.0), 0, 255).astype(np.uint8)


def blob_mask(height: int, width: int, center: tuple[int, int], axes: tuple[int, int], angle: float = 0.0
              ) -> np.ndarray:
    """A filled ellipse as a uint8 0/255 mask."""
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, center, axes, angle, 0, 360, 255, -1)
    return mask


def paint(img: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> None:
    """Blend `colour` into `img` where `mask` is set."""
    sel = mask > 0
    img[sel] = (0.4 * img[sel] + 0.6 * np.asarray(colour)).astype(np.uint8)


def bbox_xyxy(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
