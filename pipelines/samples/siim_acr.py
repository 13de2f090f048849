"""Write a tiny SIIM-ACR Pneumothorax copy in its real layout: `train-rle.csv` with the header
"ImageId, EncodedPixels" (leading space), `-1` rows, several rows for an image with two components,
and DICOMs at `dicom-images-train/<StudyUID>/<SeriesUID>/<ImageId>.dcm` (SOP instance UID = ImageId),
JPEG Baseline compressed like the challenge's CR files. Broken on purpose: a row for an absent DICOM
and one with malformed EncodedPixels.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from extractors.imaging.annotations import encode_siim_rle
from pipelines.samples.dicom import write_dicom
from pipelines.samples.phantom import chest_phantom, to_uint8

# per image: pneumothorax components as ellipses (center, axes) on a 256 image
CASES = [[((60, 60), (22, 40))], [], [((200, 70), (18, 30)), ((190, 190), (15, 20))], []]
PHI = {"PatientName": "SMITH^JOHN^PHIPLANT", "PatientBirthDate": "19600202"}


@dataclass
class SiimSample:
    root: Path
    image_ids: list[str] = field(default_factory=list)
    masks: dict[str, list[np.ndarray]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    bad_rows: list[str] = field(default_factory=list)


def write_siim_sample(root: Path, size: int = 256, broken: bool = True,
                      phi: Mapping[str, str] | None = None) -> SiimSample:
    """`phi`: more identifying header values to plant (see `samples.dicom.write_dicom`)."""
    out = SiimSample(root)
    rows: list[list[str]] = []
    for i, comps in enumerate(CASES):
        image_id = f"1.2.276.0.7230010.3.1.4.8323329.{1000 + i}.1517875{200 + i}.{900000 + i}"
        study = f"1.2.276.0.7230010.3.1.2.8323329.{1000 + i}.1517875{200 + i}.{800000 + i}"
        series = f"1.2.276.0.7230010.3.1.3.8323329.{1000 + i}.1517875{200 + i}.{700000 + i}"
        img = chest_phantom(size, seed=100 + i)
        masks = []
        for center, axes in comps:
            m = np.zeros((size, size), np.uint8)
            cv2.ellipse(m, center, axes, 0, 0, 360, 1, -1)
            masks.append(m.astype(bool))
            img[m.astype(bool)] *= 0.4  # pneumothorax: darker, no lung markings
            rows.append([image_id, " " + encode_siim_rle(m.astype(bool))])
        if not comps:
            rows.append([image_id, " -1"])
        write_dicom(root / "dicom-images-train" / study / series / f"{image_id}.dcm", to_uint8(img), modality="CR",
                    patient_id=f"{i:08d}", patient_name=PHI["PatientName"], birth_date=PHI["PatientBirthDate"],
                    study_uid=study, series_uid=series, sop_uid=image_id, view_position="PA", body_part="CHEST",
                    pixel_spacing=(0.168, 0.168), compress_jpeg=True, phi=phi)
        out.image_ids.append(image_id)
        out.masks[image_id] = masks
    if broken:
        absent = "1.2.276.0.7230010.3.1.4.8323329.9999.1517875999.999999"
        rows.append([absent, " 100 5 20 5"])
        out.missing.append(absent)
        rows.append([out.image_ids[1], " 12 x 4"])
        out.bad_rows.append(f"train-rle.csv:{len(rows) + 1}")
    with open(root / "train-rle.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["ImageId", " EncodedPixels"])
        w.writerows(rows)
    return out
