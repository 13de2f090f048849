from __future__ import annotations

import shutil
from pathlib import Path

from pipelines.samples.rsna_pneumonia import write_rsna_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.rsna_pneumonia import RsnaParams, RsnaPneumoniaSource


def read(root: Path) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(RsnaPneumoniaSource(RsnaParams(root=root)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_sample_rows_group_boxes_per_image(tmp_path: Path) -> None:
    sample = write_rsna_sample(tmp_path / "rsna")
    items, losses = read(sample.root)
    assert [i.key for i in items] == sample.patient_ids
    assert [len(i.annotations) for i in items][:2] == [2, 0]
    assert items[0].annotations[0].label == "Lung Opacity"
    assert items[0].labels[0].label == "Lung Opacity"
    assert items[1].labels[0].label == "Normal"
    assert all(i.format == "dicom" and i.path.startswith("stage_2_train_images/") for i in items)
    assert losses == []


def test_real_label_file(shared_datasets: Path, tmp_path: Path) -> None:
    root = tmp_path / "rsna"
    root.mkdir()
    shutil.copy(shared_datasets / "layouts/rsna_stage_2_train_labels.head300.csv",
                root / "stage_2_train_labels.csv")
    items, losses = read(root)
    lines = (root / "stage_2_train_labels.csv").read_text().splitlines()[1:]
    positives = sum(1 for line in lines if line.endswith(",1"))
    assert sum(len(i.annotations) for i in items) == positives
    assert len(items) == len({line.split(",")[0] for line in lines})
    assert not losses
