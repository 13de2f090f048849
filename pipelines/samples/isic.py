"""Write a tiny ISIC 2017 copy in its real layout: `ISIC-2017_Training_Data/ISIC_XXXXXXX.jpg` (+ the
`_superpixels.png` files the zip also holds), `ISIC-2017_Training_Part1_GroundTruth/ISIC_XXXXXXX_segmentation.png`
(0/255), `ISIC-2017_Training_Part3_GroundTruth.csv` (image_id,melanoma,seborrheic_keratosis), and one
validation image. Broken on purpose: a ground-truth row whose image is absent.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pipelines.samples.raster import blob_mask, colour_scene, paint

CASES = [  # (id, split folder stem, melanoma, seborrheic_keratosis)
    ("ISIC_0000000", "Training", 0, 0),
    ("ISIC_0000001", "Training", 1, 0),
    ("ISIC_0000002", "Training", 0, 1),
    ("ISIC_0012255", "Validation", 1, 0),
]


@dataclass
class IsicSample:
    root: Path
    ids: list[str] = field(default_factory=list)
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    orphan_rows: list[str] = field(default_factory=list)


def write_isic_sample(root: Path, broken: bool = True) -> IsicSample:
    out = IsicSample(root)
    rows: dict[str, list[list[object]]] = {}
    for i, (key, split, mel, sk) in enumerate(CASES):
        data = root / f"ISIC-2017_{split}_Data"
        truth = root / f"ISIC-2017_{split}_Part1_GroundTruth"
        data.mkdir(parents=True, exist_ok=True)
        truth.mkdir(parents=True, exist_ok=True)
        h, w = 96 + 8 * i, 128
        img = colour_scene(h, w, seed=20 + i, base=(150, 170, 210))
        mask = blob_mask(h, w, (60 + i, 45), (30, 22), angle=15.0 * i)
        paint(img, mask, (60, 70, 120))
        cv2.imwrite(str(data / f"{key}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        cv2.imwrite(str(data / f"{key}_superpixels.png"), np.zeros((h, w, 3), np.uint8))
        cv2.imwrite(str(truth / f"{key}_segmentation.png"), mask)
        rows.setdefault(split, []).append([key, f"{mel:.1f}", f"{sk:.1f}"])
        out.ids.append(key)
        out.masks[key] = mask > 0
    if broken:
        rows["Training"].append(["ISIC_0000099", "0.0", "0.0"])
        out.orphan_rows.append("ISIC_0000099")
    for split, split_rows in rows.items():
        with open(root / f"ISIC-2017_{split}_Part3_GroundTruth.csv", "w", newline="") as fh:
            wr = csv.writer(fh, lineterminator="\n")
            wr.writerow(["image_id", "melanoma", "seborrheic_keratosis"])
            wr.writerows(split_rows)
    return out
