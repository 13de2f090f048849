from __future__ import annotations

from pathlib import Path

import numpy as np

from extractors.imaging.annotations import decode_annotation_mask
from pipelines.samples.kvasir_seg import write_kvasir_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.kvasir_seg import KvasirSegParams, KvasirSegSource


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(KvasirSegSource(KvasirSegParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_images_masks_boxes_and_the_missing_mask(tmp_path: Path) -> None:
    sample = write_kvasir_sample(tmp_path / "kv")
    items, losses = read(sample.root, with_boxes=True)
    assert sorted(x.key for x in items) == sorted(sample.ids) and not losses
    broken = next(x for x in items if x.key in sample.no_mask)
    assert [e["kind"] for e in broken.errors] == ["missing_file"]
    assert [a.label for a in broken.annotations] == ["polyp"] and broken.annotations[0].box_xywh
    for item in items:
        if item.key in sample.no_mask:
            continue
        assert item.path == f"Kvasir-SEG/images/{item.key}.jpg" and item.format == "jpg"
        mask_ann = item.annotations[0]
        truth = sample.masks[item.key]
        mask = decode_annotation_mask(mask_ann.mask, sample.root, *truth.shape)
        assert np.logical_xor(mask, truth).sum() <= 0.02 * truth.sum()  # JPEG noise only
        boxes = [a.box_xywh for a in item.annotations[1:]]
        assert boxes == [[float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
                         for x0, y0, x1, y1 in sample.boxes[item.key]]


def test_boxes_off_by_default_and_root_variants(tmp_path: Path) -> None:
    sample = write_kvasir_sample(tmp_path / "kv", broken=False)
    items, _ = read(sample.root / "Kvasir-SEG", limit=2)
    assert len(items) == 2 and all(len(x.annotations) == 1 for x in items)
    assert items[0].path.startswith("images/")
