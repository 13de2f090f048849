from __future__ import annotations

from pathlib import Path

import numpy as np

from extractors.imaging.annotations import decode_annotation_mask
from extractors.imaging.volume import read_nifti_slice
from pipelines.registry import get_source
from pipelines.samples.msd import SHAPE, write_msd_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.msd import MsdParams, MsdSource


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(MsdSource(MsdParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_one_item_per_axial_slice_and_the_missing_case(tmp_path: Path) -> None:
    sample = write_msd_sample(tmp_path / "msd")
    items, losses = read(sample.root, task="Task03_Liver")
    assert len(items) == 2 * SHAPE[2]  # RAS z = the written slice axis
    assert [x.meta["slice_index"] for x in items[: SHAPE[2]]] == list(range(SHAPE[2]))
    assert {x.split for x in items} == {"trainval"}
    assert all(x.format == "nifti" and x.modality == "CT" and x.meta["window_preset"] == "soft_tissue"
               for x in items)
    assert [(lo.kind, lo.unit) for lo in losses] == [("missing_file", "image")]
    assert losses[0].ref.endswith("#training[2]")
    assert get_source("sources.msd") is MsdSource


def test_labels_per_slice_match_the_label_volume(tmp_path: Path) -> None:
    sample = write_msd_sample(tmp_path / "msd")
    items, _ = read(sample.root, task="Task03_Liver", skip_empty_slices=True)
    seg = sample.labels["Task03_Liver/liver_0"]
    expected = [k for k in range(SHAPE[2]) if seg[:, :, k].any()]
    liver0 = [x for x in items if x.key.startswith("Task03_Liver/liver_0_")]
    assert [x.meta["slice_index"] for x in liver0] == expected
    for item in liver0:
        k = item.meta["slice_index"]
        assert sorted(a.label for a in item.annotations) == [f"Task03_Liver:{v}" for v in sorted(
            set(np.unique(seg[:, :, k]).tolist()) - {0})]
        ann = item.annotations[0]
        img, _ = read_nifti_slice(sample.root / item.path, item.meta)
        mask = decode_annotation_mask(ann.mask, sample.root, *img.pixels.shape)
        # same voxel count as the written label volume's slice (reorientation only permutes)
        assert int(mask.sum()) == int((seg[:, :, k] == ann.mask["values"][0]).sum())


def test_all_axes_and_4d_channel(tmp_path: Path) -> None:
    sample = write_msd_sample(tmp_path / "msd", broken=False)
    items, losses = read(sample.root, task="Task01_BrainTumour", axis="all", channel=2)
    assert not losses
    assert len(items) == sum(SHAPE)
    assert {x.meta["slice_axis"] for x in items} == {"x", "y", "z"}
    assert all(x.modality == "MR" and x.meta["sequence"] == "t1gd" and x.meta["window_preset"] is None
               for x in items)
    sl, spacing = read_nifti_slice(sample.root / items[0].path, items[0].meta)
    assert sl.pixels.shape == (SHAPE[2], SHAPE[1])  # x slice: rows = z (superior first), cols = y
    assert spacing == (3.0, 1.5)


def test_every_task_and_limit(tmp_path: Path) -> None:
    sample = write_msd_sample(tmp_path / "msd")
    items, _ = read(sample.root, limit=5)
    assert len(items) == 5
    items, _ = read(sample.root, include_test=True)
    assert {x.meta["volume_key"] for x in items} == {
        "Task01_BrainTumour/BRATS_001", "Task03_Liver/liver_0", "Task03_Liver/liver_1", "Task03_Liver/liver_130"}
    assert {x.split for x in items if "130" in x.key} == {"test"}
