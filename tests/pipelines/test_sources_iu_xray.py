from __future__ import annotations

from pathlib import Path

from pipelines.samples.iu_xray import write_iu_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.iu_xray import IuXrayParams, IuXraySource


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(IuXraySource(IuXrayParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_images_reports_labels_and_the_broken_xml(tmp_path: Path) -> None:
    sample = write_iu_sample(tmp_path / "iu")
    items, losses = read(sample.root)
    assert [x.key for x in items] == sample.images  # numeric file order: 1, 2, 10
    assert [(lo.unit, lo.kind, lo.ref) for lo in losses] == [("report", "malformed_row", "ecgen-radiology/11.xml")]
    a, b = items[0], items[1]
    assert a.path == "NLMCXR_png/CXR1_1_IM-0001-3001.png" and a.study == "CXR1" == b.study
    assert a.report == b.report and a.report["ref"] == "ecgen-radiology/1.xml"
    text = a.report["text"]
    assert text.index("FINDINGS: The cardiac") < text.index("IMPRESSION: Normal chest x-XXXX.")
    assert [lab.label for lab in a.labels] == ["normal"]
    assert [lab.label for lab in items[2].labels] == ["Cardiomegaly", "Pulmonary Artery"]
    assert [lab.label for lab in items[3].labels] == ["Pleural Effusion", "Opacity"]


def test_missing_png_and_automatic_terms(tmp_path: Path) -> None:
    sample = write_iu_sample(tmp_path / "iu", broken=False)
    (sample.root / "NLMCXR_png" / "CXR2_IM-0652-1001.png").unlink()
    items, losses = read(sample.root, include_automatic_mesh=True)
    assert [(lo.unit, lo.ref) for lo in losses] == [("image", "ecgen-radiology/2.xml#CXR2_IM-0652-1001")]
    assert items[0].labels[-1].label == "Lung" and len(items) == 4
