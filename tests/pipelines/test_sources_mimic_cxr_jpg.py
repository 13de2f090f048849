from __future__ import annotations

from pathlib import Path

from pipelines.samples.mimic_cxr_jpg import CASES, write_mimic_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.mimic_cxr_jpg import MimicCxrJpgParams, MimicCxrJpgSource


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(MimicCxrJpgSource(MimicCxrJpgParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_layout_splits_views_and_missing_jpeg(tmp_path: Path) -> None:
    sample = write_mimic_sample(tmp_path / "mimic")
    items, losses = read(sample.root)
    assert [x.key for x in items] == sample.dicom_ids
    assert [(lo.kind, lo.unit) for lo in losses] == [("missing_file", "image")]
    assert sample.missing[0] in losses[0].ref
    first = items[0]
    assert first.path == f"files/p10/p10000032/s50414267/{first.key}.jpg"
    assert (first.patient, first.study, first.view, first.format) == ("10000032", "50414267", "PA", "jpg")
    assert [x.split for x in items] == ["train", "train", "val", "test", "test"]


def test_study_labels_with_certainty_and_report_on_every_view(tmp_path: Path) -> None:
    sample = write_mimic_sample(tmp_path / "mimic")
    items, _ = read(sample.root)
    pa, lat = items[0], items[1]
    assert {(lab.label, lab.certainty) for lab in pa.labels} == {("Pleural Effusion", "present"),
                                                                 ("Cardiomegaly", "uncertain")}
    assert pa.labels == lat.labels and pa.report == lat.report
    assert pa.report["ref"] == "files/p10/p10000032/s50414267.txt"
    assert "FINDINGS:" in pa.report["text"] and CASES[0][5] in pa.report["text"]
    assert ("Edema", "absent") in {(lab.label, lab.certainty) for lab in items[2].labels}
    assert pa.labels[0].ref.startswith("mimic-cxr-2.0.0-chexpert.csv.gz:2#")


def test_limit_no_split_and_reports_elsewhere(tmp_path: Path) -> None:
    sample = write_mimic_sample(tmp_path / "mimic", broken=False)
    items, _ = read(sample.root, limit=2, use_official_split=False, reports_root=tmp_path)
    assert len(items) == 2 and all(x.split is None and x.report is None for x in items)
