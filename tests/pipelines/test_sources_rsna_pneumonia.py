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


def test_every_detailed_class_becomes_a_written_label(tmp_path: Path) -> None:
    """'Normal' and 'No Lung Opacity / Not Normal' are information, not losses: after labels.dataset and
    ontology.normalize every readable image keeps its class as a coded FINDING, none is quarantined."""
    from pipelines.stages.ingest_decode import IngestDecodeStage
    from pipelines.stages.labels_dataset import DatasetLabelsStage
    from pipelines.stages.ontology_normalize import OntologyNormalizeStage
    from tests.pipelines.stage_rows import rows_of, run_stages

    sample = write_rsna_sample(tmp_path / "rsna", size=64)
    rows = rows_of(RsnaPneumoniaSource(RsnaParams(root=sample.root)))
    out = run_stages(rows, [IngestDecodeStage, DatasetLabelsStage, OntologyNormalizeStage])
    ok = [r for r in out if r["status"] == "ok"]
    assert len(ok) == len(sample.patient_ids) - len(sample.truncated)
    assert not [q for r in ok for q in r["quarantine"]]
    codes = {f["label"]: f["code"] for r in ok for f in r["findings"]}
    assert codes == {"Lung Opacity": "pneumonia", "Normal": "no_finding",
                     "No Lung Opacity / Not Normal": "abnormal_without_opacity"}
    assert all(len(r["findings"]) == 1 for r in ok)


def test_class_file_with_one_row_per_box(tmp_path: Path) -> None:
    """The Kaggle class file repeats a patient's class once per box row: one label per image."""
    sample = write_rsna_sample(tmp_path / "rsna", broken=False)
    labels = (sample.root / "stage_2_train_labels.csv").read_text().splitlines()[1:]
    class_file = sample.root / "stage_2_detailed_class_info.csv"
    cls = dict(line.split(",", 1) for line in class_file.read_text().splitlines()[1:])
    rows = [f"{line.split(',')[0]},{cls[line.split(',')[0]]}" for line in labels]
    class_file.write_text("patientId,class\n" + "\n".join(rows) + "\n")
    items, losses = read(sample.root)
    assert len(rows) > len(items) and not losses
    assert all(len(i.labels) == 1 for i in items)
    assert items[0].labels[0].ref == "stage_2_detailed_class_info.csv:2"
