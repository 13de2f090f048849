"""DICOM SEG review export/import (qc/review/dicom_seg.py, dicom_seg_read.py) with real DICOM files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
import typer
from pydicom.pixels import pack_bits
from pydicom.uid import SegmentationStorage
from typer.testing import CliRunner

from pipelines.cli.qc import register
from pipelines.samples.dicom import write_dicom
from qc.audits.masks import decode
from qc.corpus import read_table
from qc.review import export_review, import_review
from qc.review.dicom_seg import parse_source_roots
from schemas.errors import BadInput, ConfigError

CLASSICAL = "r.origin = 'classical'"
SIZES = {"rsna-a.dcm": 128, "rsna-b.dcm": 64}  # rsna-a is twice the written PNG: masks are resized


def write_sources(root: Path) -> dict[str, str]:
    """The RSNA originals the corpus factory's images point at; file -> SOPInstanceUID."""
    uids = {}
    for name, size in SIZES.items():
        pixels = (np.arange(size * size) % 251).reshape(size, size).astype(np.uint8)
        path = write_dicom(root / name, pixels, modality="CR", patient_id=name, view_position="PA")
        uids[name] = str(pydicom.dcmread(path).SOPInstanceUID)
    return uids


@pytest.fixture
def dicom_corpus(make_corpus: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    root = tmp_path / "rsna"
    uids = write_sources(root)
    return make_corpus(dicom_root=root), root, uids


def regions(corpus: Path) -> dict[str, dict]:
    return {r["region_id"]: r for r in read_table(corpus, "regions").to_pylist()}


def test_export_writes_binary_segs_on_the_source_geometry(dicom_corpus: tuple, tmp_path: Path) -> None:
    corpus, _, uids = dicom_corpus
    result = export_review(corpus, CLASSICAL, "dicom-seg", tmp_path / "seg")
    assert (result.selected, result.exported, result.resized) == (6, 2, 1)
    assert dict(result.skipped) == {"not_dicom": 4}  # the NIH PNGs
    index = json.loads(result.path.read_text())["images"]
    assert {v["image_id"] for v in index.values()} == {"img04", "img05"}
    for source, uid in uids.items():
        entry = index[uid]
        ds = pydicom.dcmread(tmp_path / "seg" / entry["file"])
        assert ds.SOPClassUID == SegmentationStorage and ds.SegmentationType == "BINARY"
        assert (ds.Rows, ds.Columns) == (SIZES[source], SIZES[source])
        assert ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == uid
        segment = ds.SegmentSequence[0]
        assert segment.SegmentLabel.startswith("pneumonia: ") and segment.TrackingID == entry["regions"][0]
        assert segment.SegmentedPropertyTypeCodeSequence[0].CodeValue == "49755003"
        assert segment.SegmentAlgorithmType == "AUTOMATIC"
        frame = ds.pixel_array
        original = decode(regions(corpus)[entry["regions"][0]]["rle_counts"], 64, 64)
        scale = SIZES[source] // 64
        assert frame.shape == (SIZES[source], SIZES[source]) and frame.sum() == original.sum() * scale**2


def test_export_is_deterministic(dicom_corpus: tuple, tmp_path: Path) -> None:
    corpus = dicom_corpus[0]
    export_review(corpus, CLASSICAL, "dicom-seg", tmp_path / "a")
    export_review(corpus, CLASSICAL, "dicom-seg", tmp_path / "b")
    for path in sorted((tmp_path / "a").rglob("*.*")):
        assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()


def edit_seg(path: Path, change: Callable[[np.ndarray], None], label: str | None = None) -> np.ndarray:
    """Edit a SEG as a viewer would: change its (only) frame's pixels and optionally the segment label."""
    ds = pydicom.dcmread(path)
    frame = ds.pixel_array.copy()
    change(frame)
    ds.PixelData = pack_bits(frame)
    if label is not None:
        ds.SegmentSequence[0].SegmentLabel = label
    ds.save_as(path)
    return frame


def test_round_trip_supersedes_with_masks_on_the_corpus_geometry(dicom_corpus: tuple, tmp_path: Path) -> None:
    corpus, _, uids = dicom_corpus
    before = regions(corpus)
    index = json.loads(export_review(corpus, CLASSICAL, "dicom-seg", tmp_path / "seg").path.read_text())["images"]
    big = index[uids["rsna-a.dcm"]]  # 128 x 128 SEG of a 64 x 64 corpus image

    def erase_top(frame: np.ndarray) -> None:
        frame[:70] = 0

    edited = edit_seg(tmp_path / "seg" / big["file"], erase_top, label="pneumothorax: Pneumothorax")
    part, n = import_review(corpus, "dicom-seg", tmp_path / "seg", annotator="rad4")
    assert n == 2 and part.parent == corpus / "tables/regions"
    new = {r["supersedes"]: r for r in regions(corpus).values() if r["origin"] == "annotator"}
    assert set(new) == {"r04cl", "r05cl"} and set(before) <= set(regions(corpus))  # superseded, not deleted
    assert new["r05cl"]["rle_counts"] == before["r05cl"]["rle_counts"]  # same-size SEG: exact
    corrected = decode(new["r04cl"]["rle_counts"], 64, 64)
    assert np.array_equal(corrected, edited[::2, ::2])  # resized back with nearest neighbour
    assert corrected.sum() < decode(before["r04cl"]["rle_counts"], 64, 64).sum()
    assert new["r04cl"]["code"] == "pneumothorax" and new["r05cl"]["code"] == "pneumonia"
    assert new["r04cl"]["annotator"] == "rad4" and new["r04cl"]["image_id"] == "img04"


def test_import_without_index_matches_by_tracking_id(dicom_corpus: tuple, tmp_path: Path) -> None:
    corpus = dicom_corpus[0]
    export_review(corpus, "r.region_id = 'r04cl'", "dicom-seg", tmp_path / "seg")
    (tmp_path / "seg/index.json").unlink()
    _, n = import_review(corpus, "dicom-seg", tmp_path / "seg/seg/img04.dcm", annotator="rad5")
    assert n == 1
    new = [r for r in regions(corpus).values() if r["origin"] == "annotator"]
    assert [(r["supersedes"], r["image_id"]) for r in new] == [("r04cl", "img04")]


def test_unknown_label_in_a_seg_is_rejected(dicom_corpus: tuple, tmp_path: Path) -> None:
    corpus = dicom_corpus[0]
    export_review(corpus, "r.region_id = 'r05cl'", "dicom-seg", tmp_path / "seg")
    edit_seg(tmp_path / "seg/seg/img05.dcm", lambda frame: None, label="not_a_code: whatever")
    with pytest.raises(BadInput):
        import_review(corpus, "dicom-seg", tmp_path / "seg", annotator="x")


def test_dicom_sources_need_a_root(make_corpus: Callable[..., Path], tmp_path: Path) -> None:
    corpus = make_corpus()  # the build's config names no root for the RSNA source
    with pytest.raises(ConfigError, match=r"--source-root sources\.rsna_pneumonia=PATH"):
        export_review(corpus, CLASSICAL, "dicom-seg", tmp_path / "seg")
    only_png = export_review(corpus, "r.source = 'sources.nih_cxr14'", "dicom-seg", tmp_path / "png")
    assert only_png.exported == 0 and dict(only_png.skipped) == {"not_dicom": 8}
    root = tmp_path / "rsna"
    write_sources(root)
    (root / "rsna-b.dcm").unlink()
    result = export_review(corpus, CLASSICAL, "dicom-seg", tmp_path / "seg",
                           source_roots=parse_source_roots([f"sources.rsna_pneumonia={root}"]))
    assert result.exported == 1 and dict(result.skipped) == {"not_dicom": 4, "missing_source": 1}
    with pytest.raises(ConfigError, match="NAME=PATH"):
        parse_source_roots(["just-a-path"])


def test_cli_dicom_seg_export_then_import(make_corpus: Callable[..., Path], tmp_path: Path) -> None:
    corpus = make_corpus()
    root = tmp_path / "rsna"
    write_sources(root)
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    out = tmp_path / "seg"
    result = runner.invoke(app, ["review", "export", str(corpus), "--select", CLASSICAL, "--format", "dicom-seg",
                                 "--out", str(out), "--source-root", f"sources.rsna_pneumonia={root}"])
    assert result.exit_code == 0, result.output
    assert "exported 2 region(s)" in result.output and "skipped 4 region(s): not_dicom" in result.output
    assert "resized 1 mask(s)" in result.output
    result = runner.invoke(app, ["review", "import", str(corpus), "--format", "dicom-seg", "--from", str(out)])
    assert result.exit_code == 0 and "imported 2 correction(s)" in result.output
    result = runner.invoke(app, ["review", "export", str(corpus), "--select", "r.origin = 'dataset_gt'",
                                 "--format", "dicom-seg", "--out", str(out)])
    assert result.exit_code == 2 and "--source-root" in result.output
