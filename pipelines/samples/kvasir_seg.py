"""Write a tiny Kvasir-SEG copy in its real layout: `Kvasir-SEG/images/<id>.jpg`, `Kvasir-SEG/masks/<id>.jpg`
(JPEG masks, 0/255 with compression noise) and `Kvasir-SEG/kavsir_bboxes.json` (the real file name and
keys). Ids look like the real ones (25 lower-case alphanumerics). Broken on purpose: an image without
its mask.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pipelines.samples.raster import bbox_xyxy, blob_mask, colour_scene, paint

CASES = [  # (height, width, [polyp ellipses: center, axes])
    (120, 140, [((50, 60), (20, 14))]),
    (110, 150, [((40, 40), (12, 10)), ((110, 70), (16, 18))]),
    (128, 128, [((64, 70), (30, 24))]),
]


@dataclass
class KvasirSample:
    root: Path
    ids: list[str] = field(default_factory=list)
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    boxes: dict[str, list[tuple[int, int, int, int]]] = field(default_factory=dict)
    no_mask: list[str] = field(default_factory=list)


def write_kvasir_sample(root: Path, broken: bool = True) -> KvasirSample:
    base = root / "Kvasir-SEG"
    (base / "images").mkdir(parents=True, exist_ok=True)
    (base / "masks").mkdir(parents=True, exist_ok=True)
    out = KvasirSample(root)
    index: dict[str, object] = {}
    rng = np.random.default_rng(3)
    cases = [*CASES, (100, 100, [((50, 50), (15, 15))])] if broken else CASES
    for i, (h, w, polyps) in enumerate(cases):
        key = "cju" + "".join(rng.choice(list("0123456789abcdefghijklmnopqrstuvwxyz"), 22))
        img = colour_scene(h, w, seed=i, base=(70, 90, 190))
        mask = np.zeros((h, w), np.uint8)
        boxes = []
        for center, axes in polyps:
            one = blob_mask(h, w, center, axes)
            paint(img, one, (120, 150, 230))
            mask |= one
            boxes.append(bbox_xyxy(one))
        cv2.imwrite(str(base / "images" / f"{key}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if broken and i == len(cases) - 1:
            out.no_mask.append(key)
        else:
            cv2.imwrite(str(base / "masks" / f"{key}.jpg"), np.dstack([mask] * 3), [cv2.IMWRITE_JPEG_QUALITY, 90])
        index[key] = {"height": h, "width": w, "bbox": [
            {"label": "polyp", "xmin": b[0], "ymin": b[1], "xmax": b[2], "ymax": b[3]} for b in boxes]}
        out.ids.append(key)
        out.masks[key] = mask > 0
        out.boxes[key] = boxes
    (base / "kavsir_bboxes.json").write_text(json.dumps(index, indent=4))
    return out
