from __future__ import annotations

from pathlib import Path

from pipelines.samples.ms_cxr import PHRASES, write_ms_cxr_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.ms_cxr import MsCxrParams, MsCxrSource


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(MsCxrSource(MsCxrParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_phrases_boxes_splits_and_the_orphan_row(tmp_path: Path) -> None:
    sample = write_ms_cxr_sample(tmp_path)
    items, losses = read(sample.root, images_root=sample.mimic.root)
    assert len(items) == 2
    assert [(lo.kind, lo.unit, lo.ref) for lo in losses] == [
        ("missing_file", "annotation", "MS_CXR_Local_Alignment_v1.1.0.csv:4")]
    eff = items[0]
    assert eff.root == str(sample.mimic.root) and (sample.mimic.root / eff.path).is_file()
    (ann,) = eff.annotations
    assert (ann.label, ann.phrase) == PHRASES["50414267"]
    row = sample.rows[0]
    assert ann.box_xywh == [float(v) for v in row[4:8]]  # the CSV's own coordinates
    assert eff.meta["box_reference_size"] == [256, 256]
    assert (eff.patient, eff.study, eff.split) == ("10000032", "50414267", "train")
    assert items[1].split == "val" and items[1].labels[0].label == "Pneumonia"


def test_v1_0_header_without_split(tmp_path: Path) -> None:
    sample = write_ms_cxr_sample(tmp_path, broken=False)
    csv_path = sample.root / "MS_CXR_Local_Alignment_v1.1.0.csv"
    lines = [line.rsplit(",", 1)[0] for line in csv_path.read_text().splitlines()]
    csv_path.unlink()
    (sample.root / "MS_CXR_Local_Alignment_v1.0.0.csv").write_text("\n".join(lines) + "\n")
    items, losses = read(sample.root, images_root=sample.mimic.root)
    assert len(items) == 2 and not losses and all(x.split is None for x in items)
