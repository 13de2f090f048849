from __future__ import annotations

from pathlib import Path

import numpy as np

from extractors.imaging.annotations import decode_annotation_mask
from pipelines.samples.brats import SHAPE, write_brats_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.brats import BratsParams, BratsSource


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(BratsSource(BratsParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_slices_channels_and_the_truncated_case(tmp_path: Path) -> None:
    sample = write_brats_sample(tmp_path / "brats")
    items, losses = read(sample.root)
    assert len(items) == 2 * SHAPE[2]
    assert [(lo.kind, lo.ref) for lo in losses] == [
        ("unreadable", "BraTS2021_00002/BraTS2021_00002_flair.nii.gz")]
    first = items[0]
    assert first.path == "BraTS2021_00000/BraTS2021_00000_flair.nii.gz"
    assert set(first.meta["channels"]) == {"t1", "t1ce", "t2", "flair"}
    assert first.meta["channels"]["t1ce"] == "BraTS2021_00000/BraTS2021_00000_t1ce.nii.gz"
    assert first.modality == "MR" and first.patient == "BraTS2021_00000"


def test_labels_and_hierarchy_regions(tmp_path: Path) -> None:
    sample = write_brats_sample(tmp_path / "brats", broken=False)
    items, _ = read(sample.root, skip_empty_slices=True)
    seg = sample.segs["BraTS2021_00000"]
    case0 = [x for x in items if x.patient == "BraTS2021_00000"]
    assert [x.meta["slice_index"] for x in case0] == [k for k in range(SHAPE[2]) if seg[:, :, k].any()]
    middle = next(x for x in case0 if x.meta["slice_index"] == 8)
    labels = sorted(a.label for a in middle.annotations)
    assert labels == ["TC", "WT", "brats:1", "brats:2", "brats:4"]
    by_label = {a.label: decode_annotation_mask(a.mask, sample.root, SHAPE[1], SHAPE[0])
                for a in middle.annotations}
    assert int(by_label["WT"].sum()) == int((seg[:, :, 8] > 0).sum())
    assert int(by_label["TC"].sum()) == int(np.isin(seg[:, :, 8], [1, 4]).sum())
    assert not (by_label["brats:1"] & ~by_label["TC"]).any()  # child inside parent
    assert not (by_label["TC"] & ~by_label["WT"]).any()


def test_sequence_choice_and_2023_naming(tmp_path: Path) -> None:
    sample = write_brats_sample(tmp_path / "brats", broken=False)
    items, _ = read(sample.root, sequence="t1ce", limit=3)
    assert len(items) == 3 and items[0].path.endswith("_t1ce.nii.gz")
    case = sample.root / "BraTS2021_00001"
    new = sample.root / "BraTS-GLI-00001-000"
    new.mkdir()
    for old, suffix in (("t1", "t1n"), ("t1ce", "t1c"), ("t2", "t2w"), ("flair", "t2f"), ("seg", "seg")):
        (case / f"BraTS2021_00001_{old}.nii.gz").rename(new / f"BraTS-GLI-00001-000-{suffix}.nii.gz")
    case.rmdir()
    items, losses = read(sample.root, skip_empty_slices=True)
    gli = [x for x in items if x.patient == "BraTS-GLI-00001-000"]
    assert gli and not losses
    assert any(a.label == "brats2023:4" for x in gli for a in x.annotations)  # 4 is not ET in 2023 naming
