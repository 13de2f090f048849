"""Write a tiny CT-RATE copy in its real layout (`dataset/{train,valid}/<p>/<p>_<s>/<p>_<s>_<r>.nii.gz`,
report, label and metadata CSVs with their real headers) plus ReXGroundingCT-style finding masks.

Volumes store raw values (HU + 1024) with RescaleIntercept -1024 in the metadata CSV, as CT-RATE's do.
Broken on purpose: a valid volume whose file is truncated.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.samples.volumes import add_ball, body_volume, truncate, write_nifti

SHAPE = (20, 20, 10)
ZOOMS = (0.75, 0.75, 1.5)
REPORT_HEADER = ["VolumeName", "ClinicalInformation_EN", "Technique_EN", "Findings_EN", "Impressions_EN"]
LABEL_COLUMNS = [
    "Medical material", "Arterial wall calcification", "Cardiomegaly", "Pericardial effusion",
    "Coronary artery wall calcification", "Hiatal hernia", "Lymphadenopathy", "Emphysema", "Atelectasis",
    "Lung nodule", "Lung opacity", "Pulmonary fibrotic sequela", "Pleural effusion",
    "Mosaic attenuation pattern", "Peribronchial thickening", "Consolidation", "Bronchiectasis",
    "Interlobular septal thickening",
]
META_HEADER = ["VolumeName", "Manufacturer", "SeriesDescription", "PatientSex", "PatientAge", "SliceThickness",
               "PixelSpacing", "Rows", "Columns", "RescaleIntercept", "RescaleSlope", "RescaleType",
               "NumberofSlices", "ZSpacing", "XYSpacing"]
FINDINGS = {
    "train_1_a_1": [("A 6 mm nodule in the right upper lobe.", "Lung nodule"),
                    ("Small left pleural effusion.", "Pleural effusion")],
}


@dataclass
class CtRateSample:
    root: Path
    volumes: dict[str, str] = field(default_factory=dict)  # VolumeName → split
    masks: dict[str, np.ndarray] = field(default_factory=dict)  # VolumeName → 4D mask as written
    hu: dict[str, np.ndarray] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)


def write_ct_rate_sample(root: Path, broken: bool = True) -> CtRateSample:
    out = CtRateSample(root)
    ds = root / "dataset"
    names = {"train": ["train_1_a_1", "train_1_a_2", "train_2_a_1"], "valid": ["valid_1_a_1"]}
    if broken:
        names["valid"].append("valid_2_a_1")
    for folder, vols in names.items():
        long_name, short_name = ("train", "train") if folder == "train" else ("validation", "valid")
        reports, labels, metas = [], [], []
        for i, vol in enumerate(vols):
            p, s = vol.split("_")[:2], vol.split("_")[2]
            path = ds / folder / "_".join(p) / f"{'_'.join(p)}_{s}" / f"{vol}.nii.gz"
            hu = body_volume(SHAPE, seed=len(out.volumes) + 90)
            write_nifti(path, np.rint(hu) + 1024, ZOOMS)
            out.volumes[vol], out.hu[vol] = folder, hu
            reports.append([vol, "Cough.", "Non-contrast chest CT.",
                            " ".join(t for t, _c in FINDINGS.get(vol, [])) or "No acute findings.",
                            "See findings."])
            labels.append([vol, *[1 if c in {cat for _t, cat in FINDINGS.get(vol, [])} else 0
                                  for c in LABEL_COLUMNS]])
            metas.append([vol, "SIEMENS", "LUNG 1.5", "M", f"0{40 + i}Y", "1.5", "[0.75, 0.75]", SHAPE[0],
                          SHAPE[1], "-1024", "1", "HU", SHAPE[2], "1.5", "[0.75, 0.75]"])
            if broken and vol == "valid_2_a_1":
                truncate(path)
                out.truncated.append(vol)
        _csv(ds / "radiology_text_reports" / f"{long_name}_reports.csv", REPORT_HEADER, reports)
        _csv(ds / "multi_abnormality_labels" / f"{short_name}_predicted_labels.csv",
             ["VolumeName", *LABEL_COLUMNS], labels)
        _csv(ds / "metadata" / f"{long_name}_metadata.csv", META_HEADER, metas)
    write_findings(root, out)
    return out


def write_findings(root: Path, out: CtRateSample) -> None:
    entries = []
    for vol, found in FINDINGS.items():
        mask = np.zeros((*SHAPE, len(found)), np.uint8)
        add_ball(mask[..., 0], (6, 7, 6), 1.8, 1)
        add_ball(mask[..., 1], (15, 12, 2), 2.5, 1)
        write_nifti(root / "ReXGroundingCT" / "segmentations" / f"{vol}.nii.gz", mask, ZOOMS, dtype=np.uint8)
        out.masks[vol] = mask
        entries.append({"name": f"{vol}.nii.gz",
                        "findings": {str(k): {"text": t, "category": c} for k, (t, c) in enumerate(found)}})
    (root / "ReXGroundingCT").mkdir(parents=True, exist_ok=True)
    (root / "ReXGroundingCT" / "dataset.json").write_text(json.dumps({"train": entries, "val": []}, indent=2))


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
