from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pydicom

from pipelines.samples.vindr_cxr import PHI, write_vindr_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.vindr_cxr import VindrCxrParams, VindrCxrSource


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(VindrCxrSource(VindrCxrParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_radiologists_boxes_and_broken_rows(tmp_path: Path) -> None:
    sample = write_vindr_sample(tmp_path / "vindr")
    items, losses = read(sample.root)
    assert [x.key for x in items] == sample.image_ids
    assert [(lo.kind, lo.unit) for lo in losses] == [("missing_file", "annotation")]
    first = items[0]
    assert first.path == f"train/{first.key}.dicom" and first.format == "dicom" and first.split == "trainval"
    assert [(a.label, a.annotator) for a in first.annotations] == [
        ("Cardiomegaly", "R8"), ("Cardiomegaly", "R9"), ("Aortic enlargement", "R10")]
    assert first.annotations[0].box_xywh == [90.0, 150.0, 110.0, 50.0]  # xyxy 90,150,200,200
    assert [e["ref"] for e in first.errors] == ["train.csv:3"] and len(first.labels) == 4
    assert items[1].annotations == [] and [lab.annotator for lab in items[1].labels] == ["R1", "R2", "R3"]
    assert pydicom.dcmread(sample.root / items[2].path).PhotometricInterpretation == "MONOCHROME1"
    assert str(pydicom.dcmread(sample.root / first.path).PatientName) == PHI["PatientName"]


def test_real_kaggle_rows(shared_datasets: Path, tmp_path: Path) -> None:
    root = tmp_path / "vindr"
    (root / "train").mkdir(parents=True)
    shutil.copy(shared_datasets / "layouts/vindr_cxr_kaggle_train.head300.csv", root / "train.csv")
    with open(root / "train.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for image_id in {r["image_id"] for r in rows}:
        (root / "train" / f"{image_id}.dicom").write_bytes(b"")  # the source only lists files
    items, losses = read(root)
    assert not losses and not any(x.errors for x in items)
    assert len(items) == len({r["image_id"] for r in rows})
    assert sum(len(x.labels) for x in items) == len(rows)
    boxed = [r for r in rows if r["x_min"]]
    assert sum(len(x.annotations) for x in items) == len(boxed)
    by_ref = {a.ref: a for x in items for a in x.annotations}
    r = boxed[0]
    line = rows.index(r) + 2
    a = by_ref[f"train.csv:{line}"]
    x0, y0, x1, y1 = (float(r[k]) for k in ("x_min", "y_min", "x_max", "y_max"))
    assert a.box_xywh == [x0, y0, x1 - x0, y1 - y0] and a.annotator == r["rad_id"] and a.label == r["class_name"]
    assert all(a.box_xywh[2] > 0 and a.box_xywh[3] > 0 for a in by_ref.values())
