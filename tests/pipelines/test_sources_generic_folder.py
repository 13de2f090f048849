from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from extractors.imaging.annotations import decode_annotation_mask
from pipelines.samples.generic_folder import write_generic_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.generic_folder import GenericFolderParams, GenericFolderSource

PARAMS: dict[str, object] = {"images": "images/*/*.png", "masks": "masks/{parent}/{stem}_mask.png",
                             "split_from_path": True, "label_map": {1: "liver", 2: "liver tumour"},
                             "modality": "CT"}


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(GenericFolderSource(GenericFolderParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_pairs_values_splits_and_the_missing_mask(tmp_path: Path) -> None:
    sample = write_generic_sample(tmp_path / "g")
    items, losses = read(sample.root, **PARAMS)
    assert [x.key for x in items] == sorted(sample.images) and not losses
    assert [x.split for x in items] == ["test", "train", "train", "train"]
    by_key = {x.key: x for x in items}
    assert [a.label for a in by_key["images/train/case_000.png"].annotations] == ["liver", "liver tumour"]
    assert [a.label for a in by_key["images/train/case_001.png"].annotations] == ["liver"]  # no value 2 there
    (broken,) = [x for x in items if x.errors]
    assert broken.key in sample.no_mask and broken.errors[0]["kind"] == "missing_file"
    for key, truth in sample.masks.items():
        for ann in by_key[key].annotations:
            got = decode_annotation_mask(ann.mask, sample.root, *truth.shape)
            np.testing.assert_array_equal(got, truth == ann.mask["value"])
    assert all(x.modality == "CT" and x.format == "png" for x in items)


def test_masks_required_and_no_masks(tmp_path: Path) -> None:
    sample = write_generic_sample(tmp_path / "g")
    items, losses = read(sample.root, **{**PARAMS, "masks_required": True})
    assert len(items) == 3 and [(lo.kind, lo.ref) for lo in losses] == [("missing_file", sample.no_mask[0])]
    items, _ = read(sample.root, images="images/*/*.png", masks=None, limit=2)
    assert len(items) == 2 and all(not x.annotations and not x.errors and x.split is None for x in items)


def test_bad_params(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        GenericFolderParams(root=tmp_path, images="images/*.nii.gz")
    with pytest.raises(ValidationError):
        GenericFolderParams(root=tmp_path, unknown_key=1)
