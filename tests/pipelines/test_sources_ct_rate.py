from __future__ import annotations

from pathlib import Path

import numpy as np

from extractors.imaging.annotations import decode_annotation_mask
from extractors.imaging.volume import load_canonical, read_nifti_slice
from pipelines.samples.ct_rate import SHAPE, write_ct_rate_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.ct_rate import CtRateParams, CtRateSource


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(CtRateSource(CtRateParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_volumes_splits_patients_and_truncated(tmp_path: Path) -> None:
    sample = write_ct_rate_sample(tmp_path / "ctrate")
    items, losses = read(sample.root)
    assert len(items) == 4 * SHAPE[2]
    broken = "dataset/valid/valid_2/valid_2_a/valid_2_a_1.nii.gz"
    assert [(lo.kind, lo.ref) for lo in losses] == [("unreadable", broken)]
    by_vol = {x.meta["volume_key"]: x for x in items}
    assert by_vol["train_1_a_2"].patient == "train_1" and by_vol["train_1_a_2"].study == "train_1_a"
    assert {x.split for x in items if x.meta["volume_key"].startswith("valid")} == {"val"}
    assert all(x.meta["rescale"] == [1.0, -1024.0] for x in items)


def test_report_and_labels_once_per_volume(tmp_path: Path) -> None:
    sample = write_ct_rate_sample(tmp_path / "ctrate", broken=False)
    items, _ = read(sample.root)
    anchors = [x for x in items if x.meta["volume_anchor"]]
    assert len(anchors) == len(sample.volumes) == sum(1 for x in items if x.report)
    a = next(x for x in anchors if x.meta["volume_key"] == "train_1_a_1")
    assert a.meta["slice_index"] == SHAPE[2] // 2
    assert "FINDINGS: A 6 mm nodule" in a.report["text"] and a.report["ref"].startswith("radiology_text_reports/")
    present = sorted(lab.label for lab in a.labels if lab.certainty == "present")
    assert present == ["Lung nodule", "Pleural effusion"] and len(a.labels) == 18


def test_finding_masks_phrases_and_hu(tmp_path: Path) -> None:
    sample = write_ct_rate_sample(tmp_path / "ctrate", broken=False)
    items, _ = read(sample.root, skip_empty_slices=True)
    masked = [x for x in items if x.meta["volume_key"] == "train_1_a_1"]
    written = sample.masks["train_1_a_1"]
    assert [x.meta["slice_index"] for x in masked] == [k for k in range(SHAPE[2]) if written[:, :, k].any()]
    nodule = [a for x in masked for a in x.annotations if a.label == "Lung nodule"]
    assert nodule and nodule[0].phrase == "A 6 mm nodule in the right upper lobe."
    total = 0
    for x in masked:
        for ann in x.annotations:
            if ann.label == "Lung nodule":
                total += int(decode_annotation_mask(ann.mask, sample.root, SHAPE[1], SHAPE[0]).sum())
    assert total == int(written[..., 0].sum())
    sl, _ = read_nifti_slice(sample.root / masked[0].path, masked[0].meta)
    hu, _ = load_canonical(sample.root / masked[0].path)
    assert float(sl.pixels.min()) < -900 and float(sl.pixels.max()) < 400  # HU after the CSV's intercept
    assert np.allclose(np.sort(sl.pixels.ravel()), np.sort(hu[:, :, masked[0].meta["slice_index"]].ravel() - 1024.0))
