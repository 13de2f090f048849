"""Write a tiny MS-CXR copy: `MS_CXR_Local_Alignment_v1.1.0.csv` with its real header
(dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height,split) next to a MIMIC-CXR-JPG
sample (pipelines.samples.mimic_cxr_jpg) whose lesions sit in the boxes. Broken on purpose: a row for
an image absent from MIMIC-CXR-JPG.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.samples.mimic_cxr_jpg import CASES, MimicSample, write_mimic_sample

HEADER = ["dicom_id", "category_name", "label_text", "path", "x", "y", "w", "h", "image_width", "image_height",
          "split"]
PHRASES = {"50414267": ("Pleural Effusion", "small left pleural effusion"),
           "57375967": ("Pneumonia", "right lower lobe opacity concerning for pneumonia")}


@dataclass
class MsCxrSample:
    root: Path
    mimic: MimicSample
    rows: list[list[object]] = field(default_factory=list)
    orphan: list[str] = field(default_factory=list)


def write_ms_cxr_sample(root: Path, size: int = 256, broken: bool = True) -> MsCxrSample:
    mimic = write_mimic_sample(root / "mimic-cxr-jpg", size=size, broken=False)
    out = MsCxrSample(root / "ms-cxr", mimic)
    out.root.mkdir(parents=True, exist_ok=True)
    split_names = {"train": "train", "validate": "val", "test": "test"}
    for subject, study, split, _views, _labs, _text, boxes in CASES:
        if study not in PHRASES:
            continue
        dicom_id = mimic.by_study[study][0]
        cat, phrase = PHRASES[study]
        path = f"files/p{subject[:2]}/p{subject}/s{study}/{dicom_id}.jpg"
        for x, y, w, h in boxes:
            out.rows.append([dicom_id, cat, phrase, path, int(x), int(y), int(w), int(h), size, size,
                             split_names[split]])
    if broken:
        out.rows.append(["0badc0de-00000000-00000000-00000000-00000000", "Edema", "mild pulmonary edema",
                         "files/p19/p19999999/s59999999/0badc0de-00000000-00000000-00000000-00000000.jpg",
                         10, 10, 50, 50, size, size, "test"])
        out.orphan.append(str(out.rows[-1][0]))
    with open(out.root / "MS_CXR_Local_Alignment_v1.1.0.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(out.rows)
    return out
