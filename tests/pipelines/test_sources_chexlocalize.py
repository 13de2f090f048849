from __future__ import annotations

from pathlib import Path

import numpy as np

from extractors.imaging.annotations import decode_annotation_mask
from pipelines.samples.chexlocalize import write_chexlocalize_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.chexlocalize import ChexlocalizeParams, ChexlocalizeSource


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(ChexlocalizeSource(ChexlocalizeParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_masks_labels_splits_and_the_absent_image(tmp_path: Path) -> None:
    sample = write_chexlocalize_sample(tmp_path / "cl")
    items, losses = read(sample.root)
    assert [x.split for x in items] == ["val", "val", "test"]
    assert [(lo.kind, lo.ref) for lo in losses] == [
        ("missing_file", f"CheXlocalize/gt_segmentations_test.json#{sample.orphan[0]}")]
    first = items[0]
    assert first.path == "CheXpert/val/patient64541/study1/view1_frontal.jpg" and first.patient == "patient64541"
    assert len(first.labels) == 10
    assert [lab.label for lab in first.labels if lab.certainty == "present"] == ["Cardiomegaly"]
    assert [a.label for a in items[1].annotations] == ["Airspace Opacity", "Lung Lesion"]
    assert items[2].annotations == []
    for item in items:
        for ann in item.annotations:
            truth = sample.masks[item.key][ann.label]
            np.testing.assert_array_equal(decode_annotation_mask(ann.mask, sample.root, *truth.shape), truth)


def test_bad_rle_is_an_annotation_error(tmp_path: Path) -> None:
    sample = write_chexlocalize_sample(tmp_path / "cl", broken=False)
    path = sample.root / "CheXlocalize/gt_segmentations_val.json"
    path.write_text(path.read_text().replace('"Edema": {"size"', '"Edema": {"sise"', 1))
    items, _ = read(sample.root, limit=1)
    assert [e["kind"] for e in items[0].errors] == ["malformed_row"] and len(items[0].labels) == 9
