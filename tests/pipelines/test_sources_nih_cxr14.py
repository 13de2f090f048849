from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.nih_cxr14 import NihCxr14Params, NihCxr14Source


def items_of(root: Path) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(NihCxr14Source(NihCxr14Params(root=root)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_sample_layout_is_read_with_labels_boxes_and_split(tmp_path: Path) -> None:
    sample = write_nih_sample(tmp_path / "nih")
    items, losses = items_of(sample.root)
    assert len(items) == len(sample.images) + len(sample.missing)
    by_key = {i.key: i for i in items}
    it = by_key["00000003_000.png"]
    assert [lab.label for lab in it.labels] == ["Atelectasis", "Effusion"]
    assert it.annotations[0].box_xywh == pytest.approx([225.08, 547.02, 86.78, 79.19])
    assert it.meta["box_reference_size"] == [1024, 1024]
    assert it.view == "AP" and it.patient == "3" and it.path == "images/00000003_000.png"
    assert by_key["00000006_000.png"].split == "test" and by_key["00000001_000.png"].split is None
    assert losses == []


def test_real_header_quirks_parse(shared_datasets: Path, tmp_path: Path) -> None:
    """The real index (v2020 name, 400 rows) and all 984 real boxes, with two real PNGs."""
    root = tmp_path / "nih"
    (root / "images").mkdir(parents=True)
    shutil.copy(shared_datasets / "layouts/nih_cxr14_Data_Entry_2017_v2020.head400.csv",
                root / "Data_Entry_2017_v2020.csv")
    shutil.copy(shared_datasets / "layouts/nih_cxr14_BBox_List_2017.csv", root / "BBox_List_2017.csv")
    for name in ("00000001_000.png", "00027426_000.png"):
        shutil.copy(shared_datasets / "images" / name, root / "images" / name)
    items, losses = items_of(root)
    assert len(items) == 400
    first = items[0]
    assert first.key == "00000001_000.png" and [lab.label for lab in first.labels] == ["Cardiomegaly"]
    assert first.meta["original_width"] == 2682 and first.meta["original_height"] == 2749
    assert first.meta["original_pixel_spacing"] == pytest.approx([0.143, 0.143])
    n_boxes_on_items = sum(len(i.annotations) for i in items)
    # every one of the 984 boxes is either attached to an indexed image or reported as a loss
    assert n_boxes_on_items + sum(1 for x in losses if x.unit == "annotation") == 984
    assert {x.kind for x in losses} <= {"missing_file"}


def test_malformed_rows_are_losses_not_crashes(tmp_path: Path) -> None:
    sample = write_nih_sample(tmp_path / "nih")
    with open(sample.root / "Data_Entry_2017.csv", "a") as fh:
        fh.write("broken_row_without_columns\n")
    with open(sample.root / "BBox_List_2017.csv", "a") as fh:
        fh.write("00000001_000.png,Cardiomegaly,notanumber,1,2,3\n")
    items, losses = items_of(sample.root)
    assert [x.kind for x in losses] == ["malformed_row"]
    first = next(i for i in items if i.key == "00000001_000.png")
    assert first.errors and first.errors[0]["kind"] == "malformed_row"


def test_overflowing_numbers_are_malformed_not_crashes(tmp_path: Path) -> None:
    """Found by the fuzzer: '1E310' parses as inf, and int(inf) raised OverflowError out of the source."""
    sample = write_nih_sample(tmp_path / "nih")
    with open(sample.root / "Data_Entry_2017.csv", "a") as fh:
        fh.write("0,,,,,,,,1E310,,\n")
    items, _ = items_of(sample.root)
    odd = next(i for i in items if i.key == "0")
    assert odd.meta["original_height"] is None and odd.meta["original_pixel_spacing"] == [None, None]


def test_limit_is_applied_once_for_every_source(tmp_path: Path) -> None:
    """`limit` samples the first images; rows past the sample are not read, so their boxes are not
    reported as orphan losses."""
    sample = write_nih_sample(tmp_path / "nih")
    recs = list(NihCxr14Source(NihCxr14Params(root=sample.root, limit=3)).items())
    assert [r.key for r in recs if isinstance(r, SourceItem)] == sample.images[:3]
    assert not [r for r in recs if isinstance(r, SourceLoss)]
