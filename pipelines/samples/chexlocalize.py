"""Write a tiny CheXlocalize copy in its real layout: `CheXlocalize/gt_segmentations_{val,test}.json`
(COCO RLE per pathology for all ten pathologies, empty masks included) and the CheXpert images
`CheXpert/{val,test}/patientNNNNN/studyN/viewN_frontal.jpg`. Broken on purpose: segmentations for an
image that is absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from pipelines.samples.phantom import add_lesion, chest_phantom, to_uint8

PATHOLOGIES = ["Airspace Opacity", "Atelectasis", "Cardiomegaly", "Consolidation", "Edema",
               "Enlarged Cardiomediastinum", "Lung Lesion", "Pleural Effusion", "Pneumothorax", "Support Devices"]
# (split, id, size (h, w), {pathology: box xywh})
CASES = [
    ("val", "patient64541_study1_view1_frontal", (240, 200), {"Cardiomegaly": (70, 120, 80, 60)}),
    ("val", "patient64542_study1_view1_frontal", (200, 200), {"Airspace Opacity": (30, 60, 50, 70),
                                                              "Lung Lesion": (130, 60, 20, 20)}),
    ("test", "patient64741_study1_view1_frontal", (220, 220), {}),
]


@dataclass
class ChexlocalizeSample:
    root: Path
    masks: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    orphan: list[str] = field(default_factory=list)


def write_chexlocalize_sample(root: Path, broken: bool = True) -> ChexlocalizeSample:
    out = ChexlocalizeSample(root)
    data: dict[str, dict[str, object]] = {"val": {}, "test": {}}
    cases = [*CASES, ("test", "patient64799_study2_view1_frontal", (100, 100), {"Edema": (10, 10, 30, 30)})] \
        if broken else CASES
    for i, (split, img_id, (h, w), boxes) in enumerate(cases):
        img = chest_phantom(max(h, w), seed=700 + i)[:h, :w].copy()
        entry: dict[str, object] = {}
        for pathology in PATHOLOGIES:
            mask = np.zeros((h, w), np.uint8)
            if pathology in boxes:
                x, y, bw, bh = boxes[pathology]
                cv2.ellipse(mask, (x + bw // 2, y + bh // 2), (bw // 2, bh // 2), 0, 0, 360, 1, -1)
                add_lesion(img, (x, y, bw, bh), seed=800 + i)
                out.masks.setdefault(img_id, {})[pathology] = mask.astype(bool)
            rle = mask_utils.encode(np.asfortranarray(mask))
            entry[pathology] = {"size": [h, w], "counts": rle["counts"].decode("ascii")}
        data[split][img_id] = entry
        patient, study, view = img_id.split("_", 2)
        if broken and i == len(cases) - 1:
            out.orphan.append(img_id)
            continue
        folder = root / "CheXpert" / split / patient / study
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{view}.jpg"), to_uint8(img), [cv2.IMWRITE_JPEG_QUALITY, 95])
    (root / "CheXlocalize").mkdir(parents=True, exist_ok=True)
    for split, entries in data.items():
        (root / "CheXlocalize" / f"gt_segmentations_{split}.json").write_text(json.dumps(entries))
    return out
