"""The model frame: where an original image lands in the square input of a SAM-family encoder.

SAM and MedSAM resize the long side of the image to the encoder size (1024 for SAM ViT-B/L/H, 256
for LiteMedSAM), keep the aspect ratio, and pad at the bottom/right. Prompts follow the same map:
a point or box corner `p` (pixel indices of the original image) becomes `p * new / old` per axis,
which is what segment-anything's `ResizeLongestSide.apply_coords` does. Masks go back by cropping
the padding and resizing to the original size.

Box convention at this module's edges: xyxy in original pixels with x1/y1 *exclusive* (as the
pipeline and the CLI write them). SAM was trained with inclusive corner indices (its own
`batched_mask_to_box`), so the exclusive corner is moved in by one pixel before scaling, and back
out after. Pure numpy, float64; `boxes_to_original(boxes_to_model(b)) == b` up to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ModelFrame:
    """Geometry of one image inside the encoder input (all sizes in pixels)."""

    height: int  # original image
    width: int
    new_height: int  # after resizing the long side to `size`
    new_width: int
    size: int  # the square encoder input side

    @property
    def scale_xy(self) -> np.ndarray:
        """Per-axis factor original → model, as segment-anything applies it to coordinates."""
        return np.array([self.new_width / self.width, self.new_height / self.height], dtype=np.float64)


def frame_for(height: int, width: int, size: int) -> ModelFrame:
    """The frame SAM's `ResizeLongestSide.get_preprocess_shape` gives (round half up)."""
    if height <= 0 or width <= 0:
        raise ValueError(f"image must be non-empty, got {height}x{width}")
    scale = size / max(height, width)
    new_h = int(height * scale + 0.5)
    new_w = int(width * scale + 0.5)
    return ModelFrame(height, width, max(new_h, 1), max(new_w, 1), size)


def points_to_model(points: np.ndarray, frame: ModelFrame) -> np.ndarray:
    """(..., 2) xy pixel indices of the original image → model-frame coordinates."""
    return np.asarray(points, dtype=np.float64) * frame.scale_xy


def points_to_original(points: np.ndarray, frame: ModelFrame) -> np.ndarray:
    """Inverse of `points_to_model`."""
    return np.asarray(points, dtype=np.float64) / frame.scale_xy


def boxes_to_model(boxes: np.ndarray, frame: ModelFrame) -> np.ndarray:
    """(N, 4) xyxy boxes, x1/y1 exclusive, original pixels → inclusive-corner model-frame boxes."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    b[:, 2:] -= 1.0
    corners = b.reshape(-1, 2, 2)
    return points_to_model(corners, frame).reshape(-1, 4)


def boxes_to_original(boxes: np.ndarray, frame: ModelFrame) -> np.ndarray:
    """Inverse of `boxes_to_model`: model-frame inclusive corners → original xyxy, x1/y1 exclusive."""
    b = points_to_original(np.asarray(boxes, dtype=np.float64).reshape(-1, 2, 2), frame).reshape(-1, 4)
    b[:, 2:] += 1.0
    return b


def xywh_to_xyxy(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x, y, w, h = box
    return x, y, x + w, y + h


def clip_box(box: np.ndarray, height: int, width: int) -> np.ndarray:
    """Clip an xyxy (exclusive) box to the image; a box that ends up empty raises ValueError."""
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = max(0.0, x0), min(float(width), x1)
    y0, y1 = max(0.0, y0), min(float(height), y1)
    if x1 - x0 < 1.0 or y1 - y0 < 1.0:
        raise ValueError("box has no pixel inside the image")
    return np.array([x0, y0, x1, y1], dtype=np.float64)
