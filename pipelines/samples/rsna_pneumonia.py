"""Write a tiny RSNA Pneumonia (stage 2) copy in its real layout: DICOMs named by patientId,
`stage_2_train_labels.csv` (one row per box, empty coordinates when Target is 0) and
`stage_2_detailed_class_info.csv`.

DICOMs carry the real tag set of the challenge's CR files, with fake identifying values planted in
the headers (`PHI_VALUES`) so tests can assert none of them reaches any output. Broken on purpose: a
truncated DICOM.
"""

from __future__ import annotations

import csv
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.samples.dicom import truncate_file, write_dicom
from pipelines.samples.phantom import add_lesion, chest_phantom, to_uint8

LABELS_HEADER = ["patientId", "x", "y", "width", "height", "Target"]
CLASSES_HEADER = ["patientId", "class"]
# (class, boxes in pixel space of a 256 image; scaled with size)
CASES: list[tuple[str, list[tuple[float, float, float, float]]]] = [
    ("Lung Opacity", [(40.0, 60.0, 60.0, 90.0), (160.0, 70.0, 55.0, 80.0)]),
    ("Normal", []),
    ("No Lung Opacity / Not Normal", []),
    ("Lung Opacity", [(150.0, 110.0, 50.0, 60.0)]),
    ("Normal", []),
    ("Lung Opacity", [(50.0, 120.0, 45.0, 50.0)]),
    ("No Lung Opacity / Not Normal", []),
]
PHI_VALUES = {
    "PatientName": "DOE^JANE^PHIPLANT",
    "PatientBirthDate": "19230417",
    "AccessionNumber": "ACC99887766",
    "InstitutionName": "ST PHIPLANT GENERAL",
    "ReferringPhysicianName": "HOUSE^GREGORY^PHIPLANT",
}


@dataclass
class RsnaSample:
    root: Path
    patient_ids: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)


def write_rsna_sample(
    root: Path, size: int = 256, broken: bool = True, seed: int = 7, repeat: int = 1,
    phi: Mapping[str, str] | None = None,
) -> RsnaSample:
    """Write the sample; `repeat` > 1 writes the cases that many times (distinct images), for benchmarks;
    `phi`: more identifying header values to plant (see `samples.dicom.write_dicom`)."""
    rng = random.Random(seed)
    images = root / "stage_2_train_images"
    images.mkdir(parents=True, exist_ok=True)
    out = RsnaSample(root)
    label_rows: list[list[object]] = []
    class_rows: list[list[object]] = []
    cases = CASES * repeat
    if broken:
        cases = [*cases, ("Lung Opacity", [(60.0, 60.0, 50.0, 50.0)])]
    scale = size / 256.0
    for i, (cls, boxes) in enumerate(cases):
        pid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        img = chest_phantom(size, seed=500 + i)
        scaled = [tuple(v * scale for v in b) for b in boxes]
        for j, box in enumerate(scaled):
            add_lesion(img, box, seed=900 + 10 * i + j)  # type: ignore[arg-type]
            label_rows.append([pid, *[f"{v:.1f}" for v in box], 1])
        if not boxes:
            label_rows.append([pid, "", "", "", "", 0])
        class_rows.append([pid, cls])
        path = write_dicom(
            images / f"{pid}.dcm",
            to_uint8(img),
            modality="CR",
            photometric="MONOCHROME2",
            patient_id=pid,
            patient_name=PHI_VALUES["PatientName"],
            birth_date=PHI_VALUES["PatientBirthDate"],
            accession=PHI_VALUES["AccessionNumber"],
            view_position="PA" if i % 2 == 0 else "AP",
            body_part="CHEST",
            pixel_spacing=(0.168, 0.168),
            extra={
                "InstitutionName": PHI_VALUES["InstitutionName"],
                "ReferringPhysicianName": PHI_VALUES["ReferringPhysicianName"],
                "PatientSex": "F" if i % 2 else "M",
                "PatientAge": f"{30 + i:03d}Y",
            },
            phi=phi,
        )
        out.patient_ids.append(pid)
        if broken and i == len(cases) - 1:
            truncate_file(path, keep_bytes=600)
            out.truncated.append(pid)
    with open(root / "stage_2_train_labels.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(LABELS_HEADER)
        w.writerows(label_rows)
    with open(root / "stage_2_detailed_class_info.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(CLASSES_HEADER)
        w.writerows(class_rows)
    return out
