"""Write a tiny NIH ChestX-ray14 copy in its real layout (same file names, same CSV headers).

Pixels are generated (pipelines.samples.phantom) at `size`×`size`, like the downsampled copies
people use; boxes are written in the 1024×1024 space of the real PNGs, as NIH ships them. Broken on
purpose: an index row whose PNG is missing, and a box outside the image.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from pipelines.samples.phantom import add_lesion, chest_phantom, to_uint8

INDEX_HEADER = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
    "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]"
)
BOX_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,"
REF = 1024.0

# (patient, follow-up, labels, view, [(label, box in 1024 space)])
CASES: list[tuple[int, int, str, str, list[tuple[str, tuple[float, float, float, float]]]]] = [
    (1, 0, "Cardiomegaly", "PA", [("Cardiomegaly", (430.0, 520.0, 330.0, 260.0))]),
    (1, 1, "Cardiomegaly|Emphysema", "PA", []),
    (2, 0, "No Finding", "PA", []),
    (3, 0, "Atelectasis|Effusion", "AP", [("Atelectasis", (225.08, 547.02, 86.78, 79.19)),
                                          ("Effusion", (640.0, 700.0, 180.0, 150.0))]),
    (4, 0, "Nodule", "PA", [("Nodule", (300.5, 300.5, 60.0, 60.0))]),
    (5, 0, "Mass|Infiltration", "PA", [("Mass", (650.0, 330.0, 150.0, 140.0)),
                                       ("Infiltrate", (250.0, 420.0, 200.0, 220.0))]),
    (6, 0, "Pneumothorax", "PA", [("Pneumothorax", (180.0, 150.0, 190.0, 260.0))]),
    (7, 0, "No Finding", "AP", []),
    (8, 0, "Pneumonia", "PA", [("Pneumonia", (620.0, 480.0, 210.0, 200.0))]),
    (9, 0, "Edema|Consolidation", "AP", []),
    (10, 0, "Fibrosis|Pleural_Thickening", "PA", []),
    (11, 0, "Hernia", "PA", []),
]


@dataclass
class NihSample:
    root: Path
    images: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # index rows whose PNG was not written
    bad_boxes: list[str] = field(default_factory=list)  # box rows outside the image


def write_nih_sample(root: Path, size: int = 256, broken: bool = True) -> NihSample:
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    out = NihSample(root)
    index_rows, box_rows = [], []
    for patient, follow, labels, view, boxes in CASES:
        name = f"{patient:08d}_{follow:03d}.png"
        img = chest_phantom(size, seed=patient * 100 + follow)
        for i, (_, box) in enumerate(boxes):
            add_lesion(img, tuple(v * size / REF for v in box), seed=patient * 1000 + i)  # type: ignore[arg-type]
            box_rows.append([name, boxes[i][0], *[repr(v) for v in box]])
        cv2.imwrite(str(root / "images" / name), to_uint8(img), [cv2.IMWRITE_PNG_COMPRESSION, 6])
        out.images.append(name)
        gender = "M" if patient % 2 else "F"
        index_rows.append([name, labels, follow, patient, 40 + patient, gender, view, 2500, 2048, 0.143, 0.143])
    if broken:
        missing = "00000012_000.png"
        index_rows.append([missing, "Nodule", 0, 12, 61, "F", "PA", 2500, 2048, 0.143, 0.143])
        box_rows.append([missing, "Nodule", "100.0", "100.0", "50.0", "50.0"])
        out.missing.append(missing)
        box_rows.append(["00000004_000.png", "Mass", "990.0", "400.0", "200.0", "120.0"])  # x+w > 1024
        out.bad_boxes.append("00000004_000.png")
    with open(root / "Data_Entry_2017.csv", "w", newline="") as fh:
        fh.write(INDEX_HEADER + "\n")
        csv.writer(fh, lineterminator="\n").writerows(index_rows)
    with open(root / "BBox_List_2017.csv", "w", newline="") as fh:
        fh.write(BOX_HEADER + "\n")
        csv.writer(fh, lineterminator="\n").writerows(box_rows)
    test = [r[0] for r in index_rows if int(r[3]) in (6, 7)]
    (root / "test_list.txt").write_text("".join(f"{n}\n" for n in test))
    (root / "train_val_list.txt").write_text("".join(f"{r[0]}\n" for r in index_rows if r[0] not in test))
    return out
