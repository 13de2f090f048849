from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from extractors.imaging.annotations import decode_annotation_mask
from pipelines.samples.isic import write_isic_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.isic import IsicParams, IsicSource


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(IsicSource(IsicParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_2017_layout_labels_masks_splits_and_orphan_row(tmp_path: Path) -> None:
    sample = write_isic_sample(tmp_path / "isic")
    items, losses = read(sample.root)
    assert [x.key for x in items] == sample.ids  # superpixel PNGs are not images
    assert [x.split for x in items] == ["train", "train", "train", "val"]
    assert [[lab.label for lab in x.labels] for x in items] == [
        ["nevus"], ["melanoma"], ["seborrheic_keratosis"], ["melanoma"]]
    assert [(lo.kind, lo.ref) for lo in losses] == [
        ("missing_file", "ISIC-2017_Training_Part3_GroundTruth.csv:5#nevus")]
    for x in items:
        (ann,) = x.annotations
        truth = sample.masks[x.key]
        assert ann.label == "lesion"
        np.testing.assert_array_equal(decode_annotation_mask(ann.mask, sample.root, *truth.shape), truth)


def test_2018_one_hot_columns(tmp_path: Path) -> None:
    sample = write_isic_sample(tmp_path / "isic", broken=False)
    for p in sample.root.glob("*Part3_GroundTruth.csv"):
        p.unlink()
    gt = sample.root / "ISIC2018_Task3_Training_GroundTruth"
    gt.mkdir()
    with open(gt / "ISIC2018_Task3_Training_GroundTruth.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"])
        w.writerow(["ISIC_0000001", "0.0", "0.0", "1.0", "0.0", "0.0", "0.0", "0.0"])
    items, losses = read(sample.root, limit=2)
    assert not losses and [lab.label for lab in items[1].labels] == ["BCC"] and items[0].labels == []
