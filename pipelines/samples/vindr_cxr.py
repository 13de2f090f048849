"""Write a tiny VinDr-CXR copy in its Kaggle layout: `train.csv` (image_id,class_name,class_id,rad_id,
x_min,y_min,x_max,y_max; three radiologists per image, `No finding` rows with empty coordinates) and
`train/<image_id>.dicom` (DX, MONOCHROME1 on some images as the dataset has, fake identities planted
in the headers). Broken on purpose: rows for an image whose DICOM is absent, and one row with
unparseable coordinates.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.samples.dicom import write_dicom
from pipelines.samples.phantom import add_lesion, chest_phantom, to_uint12

HEADER = ["image_id", "class_name", "class_id", "rad_id", "x_min", "y_min", "x_max", "y_max"]
CLASS_IDS = {"Aortic enlargement": 0, "Cardiomegaly": 3, "Nodule/Mass": 8, "Pleural effusion": 10, "No finding": 14}
# per image: rows (class_name, rad_id, xyxy in pixels of a 256 image or None)
CASES = [
    [("Cardiomegaly", "R8", (90, 150, 200, 200)), ("Cardiomegaly", "R9", (92, 148, 198, 204)),
     ("Aortic enlargement", "R10", (120, 70, 150, 100))],
    [("No finding", "R1", None), ("No finding", "R2", None), ("No finding", "R3", None)],
    [("Nodule/Mass", "R9", (60, 80, 80, 100)), ("Pleural effusion", "R10", (170, 180, 230, 230)),
     ("No finding", "R8", None)],
]
PHI = {"PatientName": "NGUYEN^VAN^PHIPLANT", "PatientBirthDate": "19500101"}


@dataclass
class VindrSample:
    root: Path
    image_ids: list[str] = field(default_factory=list)
    rows: list[list[object]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    bad_rows: list[int] = field(default_factory=list)  # CSV line numbers


def write_vindr_sample(root: Path, size: int = 256, broken: bool = True,
                       phi: Mapping[str, str] | None = None) -> VindrSample:
    """`phi`: more identifying header values to plant (see `samples.dicom.write_dicom`)."""
    out = VindrSample(root)
    cases = [*CASES, [("Cardiomegaly", "R8", (90, 150, 200, 200))]] if broken else CASES
    for i, rows in enumerate(cases):
        image_id = hashlib.md5(f"vindr{i}".encode()).hexdigest()  # 32 hex, like the real ids
        img = chest_phantom(size, seed=200 + i)
        for j, (name, rad, box) in enumerate(rows):
            if box:
                add_lesion(img, (box[0], box[1], box[2] - box[0], box[3] - box[1]), seed=j)
            coords = [f"{v:.1f}" for v in box] if box else ["", "", "", ""]
            out.rows.append([image_id, name, CLASS_IDS[name], rad, *coords])
        if broken and i == len(cases) - 1:
            out.missing.append(image_id)
            continue
        pixels = to_uint12(img)
        mono1 = i == 2
        write_dicom(root / "train" / f"{image_id}.dicom", (4095 - pixels) if mono1 else pixels, modality="DX",
                    photometric="MONOCHROME1" if mono1 else "MONOCHROME2", patient_id=image_id,
                    patient_name=PHI["PatientName"], birth_date=PHI["PatientBirthDate"], body_part="CHEST",
                    pixel_spacing=(0.14, 0.14), phi=phi)
        out.image_ids.append(image_id)
    if broken:
        out.rows.insert(1, [out.image_ids[0], "Cardiomegaly", 3, "R10", "91.0", "abc", "199.0", "201.0"])
        out.bad_rows.append(3)
    with open(root / "train.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(out.rows)
    return out
