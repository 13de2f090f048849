"""Write a tiny MIMIC-CXR-JPG copy in its real layout: `files/p10/p100000NN/sNNNNNNNN/<dicom_id>.jpg`,
`mimic-cxr-2.0.0-metadata.csv.gz` (the real 12 columns), `mimic-cxr-2.0.0-split.csv.gz`,
`mimic-cxr-2.0.0-chexpert.csv.gz` (1.0 / 0.0 / -1.0 / blank) and the MIMIC-CXR report files
`files/p10/p100000NN/sNNNNNNNN.txt` (de-identified with `___`, the way they ship). Two studies have two
views. Images carry bright lesions at `CASES` boxes (MS-CXR's sample grounds phrases on them).
Broken on purpose: a metadata row whose JPEG is absent.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from pipelines.samples.phantom import add_lesion, chest_phantom, to_uint8

META_HEADER = ["dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition", "Rows",
               "Columns", "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning",
               "ViewCodeSequence_CodeMeaning", "PatientOrientationCodeSequence_CodeMeaning"]
CHEXPERT = ["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum", "Fracture",
            "Lung Lesion", "Lung Opacity", "No Finding", "Pleural Effusion", "Pleural Other", "Pneumonia",
            "Pneumothorax", "Support Devices"]
# (subject, study, split, views, labels {col: value}, findings text, lesion boxes xywh on a 256 image)
CASES = [
    ("10000032", "50414267", "train", ["PA", "LATERAL"], {"Pleural Effusion": "1.0", "Cardiomegaly": "-1.0"},
     "Small left pleural effusion. Heart size is borderline.", [(150.0, 150.0, 60.0, 50.0)]),
    ("10000764", "57375967", "validate", ["AP"], {"Pneumonia": "1.0", "Lung Opacity": "1.0", "Edema": "0.0"},
     "Right lower lobe opacity concerning for pneumonia. No edema.", [(40.0, 140.0, 60.0, 60.0)]),
    ("10000898", "50771383", "test", ["PA", "LATERAL"], {"No Finding": "1.0"}, "No acute cardiopulmonary process.",
     []),
]
REPORT = """                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)

 INDICATION:  ___F with cough  // eval for pneumonia

 TECHNIQUE:  Chest PA and lateral

 COMPARISON:  ___

 FINDINGS:

 {findings}

 IMPRESSION:

 {impression}
"""


@dataclass
class MimicSample:
    root: Path
    dicom_ids: list[str] = field(default_factory=list)  # in metadata order, present files only
    by_study: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # metadata rows without JPEG (dicom_ids)


def write_mimic_sample(root: Path, size: int = 256, broken: bool = True) -> MimicSample:
    out = MimicSample(root)
    meta, split, labels = [], [], []
    for i, (subject, study, sp, views, labs, findings, boxes) in enumerate(CASES):
        folder = root / f"files/p{subject[:2]}/p{subject}/s{study}"
        folder.mkdir(parents=True, exist_ok=True)
        impression = findings.split(".")[0] + "."
        (folder.parent / f"s{study}.txt").write_text(REPORT.format(findings=findings, impression=impression))
        for j, view in enumerate(views):
            digest = hashlib.sha1(f"{study}/{j}".encode()).hexdigest()
            dicom_id = "-".join(digest[k:k + 8] for k in range(0, 40, 8))  # the real 5×8 hex form
            img = chest_phantom(size, seed=300 + 10 * i + j)
            if view != "LATERAL":
                for k, b in enumerate(boxes):
                    add_lesion(img, b, seed=400 + k)
            cv2.imwrite(str(folder / f"{dicom_id}.jpg"), to_uint8(img), [cv2.IMWRITE_JPEG_QUALITY, 95])
            meta.append([dicom_id, subject, study, "CHEST (PA AND LAT)", view, size, size, "21800506", "213014.531",
                         "CHEST (PA AND LAT)", "postero-anterior" if view == "PA" else view.lower(), "Erect"])
            split.append([dicom_id, study, subject, sp])
            out.dicom_ids.append(dicom_id)
            out.by_study.setdefault(study, []).append(dicom_id)
        labels.append([subject, study, *[labs.get(c, "") for c in CHEXPERT]])
    if broken:
        meta.append(["deadbeef-00000000-11111111-22222222-33333333", CASES[0][0], CASES[0][1], "CHEST (PORTABLE AP)",
                     "AP", size, size, "21800507", "080000.000", "CHEST (PORTABLE AP)", "antero-posterior", "Erect"])
        out.missing.append(meta[-1][0])
    _write(root / "mimic-cxr-2.0.0-metadata.csv.gz", META_HEADER, meta)
    _write(root / "mimic-cxr-2.0.0-split.csv.gz", ["dicom_id", "study_id", "subject_id", "split"], split)
    _write(root / "mimic-cxr-2.0.0-chexpert.csv.gz", ["subject_id", "study_id", *CHEXPERT], labels)
    return out


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(text.getvalue().encode())  # mtime=0: the same bytes every time
