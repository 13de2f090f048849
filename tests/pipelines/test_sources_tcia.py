from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from extractors.deid import salted_hash
from extractors.imaging.intensity import apply_window
from extractors.imaging.series import read_series_slice
from pipelines.registry import get_source
from pipelines.samples.tcia import COLLECTION, HEADER, N_SLICES, ROWS, write_tcia_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.tcia import TciaParams, TciaSource
from pipelines.stages.ingest_decode import IngestDecodeStage
from schemas.errors import BadInput
from tests.pipelines.stage_rows import rows_of, run_stages


def read(root: Path, **kw: Any) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(TciaSource(TciaParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def of_series(items: list[SourceItem], uid: str) -> list[SourceItem]:
    return [x for x in items if x.meta["series_uid"] == uid]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return write_tcia_sample(tmp_path_factory.mktemp("tcia") / "manifest-1700000000000")


def test_one_item_per_slice_and_each_bad_series_reported(sample: Any) -> None:
    items, losses = read(sample.root)
    a, b, c, seg = (sample.series[k] for k in "ABCS")
    assert len(items) == 2 * N_SLICES and get_source("sources.tcia") is TciaSource
    assert len({x.key for x in items}) == len(items)
    assert {x.patient for x in items} == {a.subject, b.subject}
    assert {x.study for x in items} == {a.study_uid, b.study_uid}
    assert all(x.format == "dicom_series" and x.modality == "CT" and x.body_part == "CHEST" for x in items)
    by_ref = {lo.ref: lo for lo in losses}
    assert set(by_ref) == {f"{COLLECTION}/{c.uid}", f"{COLLECTION}/{seg.uid}"}
    broken = by_ref[f"{COLLECTION}/{c.uid}"]
    assert (broken.unit, broken.kind) == ("image", "unreadable") and c.files[2] in broken.message
    assert "non-image object (SEG)" in by_ref[f"{COLLECTION}/{seg.uid}"].message


def test_slice_order_comes_from_positions_not_file_names(sample: Any) -> None:
    items, _ = read(sample.root)
    a = sample.series["A"]
    axial = sorted(of_series(items, a.uid), key=lambda x: x.meta["slice_index"])
    assert [Path(x.path).name for x in axial] == a.files  # each z slice points at its own file
    assert a.files != sorted(a.files)  # the names were shuffled
    for k, item in enumerate(axial):
        sl, _ = read_series_slice(sample.root, item.meta)
        assert sl.pixels[ROWS // 2, sl.pixels.shape[1] // 2] == 100 + 10 * k  # the phantom counts slices upward


def test_flipped_lps_series_gives_the_same_ras_slices_and_affines(sample: Any) -> None:
    items, _ = read(sample.root)
    a, b = sample.series["A"], sample.series["B"]
    za = sorted(of_series(items, a.uid), key=lambda x: x.meta["slice_index"])
    zb = sorted(of_series(items, b.uid), key=lambda x: x.meta["slice_index"])
    for k, (ia, ib) in enumerate(zip(za, zb, strict=True)):
        pa, _ = read_series_slice(sample.root, ia.meta)
        pb, _ = read_series_slice(sample.root, ib.meta)
        np.testing.assert_array_equal(pa.pixels, a.hu[k])  # A's files are already radiological
        np.testing.assert_array_equal(pb.pixels, b.hu[k][::-1, ::-1])  # B's rows and columns run backwards
        np.testing.assert_allclose(ia.meta["slice_affine"], ib.meta["slice_affine"])
        for series, item in ((a, ia), (b, ib)):  # the pixel at (row, col) of the file sits at the affine's point
            m = np.asarray(item.meta["slice_affine"])
            iop = np.asarray(series.orientation)
            for r, c in ((0, 0), (ROWS - 1, 3)):
                rr, cc = (r, c) if series is a else (ROWS - 1 - r, pa.pixels.shape[1] - 1 - c)
                lps = np.asarray(series.positions[k]) + cc * 0.6 * iop[:3] + rr * 0.8 * iop[3:]
                assert m @ [r, c, 1] == pytest.approx([-lps[0], -lps[1], lps[2]])
    assert za[0].meta["orientation"] == "radiological" and za[0].meta["spacing_mm"] == pytest.approx([0.6, 0.8, 2.5])


def test_all_axes_shapes_and_spacing(sample: Any) -> None:
    items, _ = read(sample.root, axis="all")
    a = of_series(items, sample.series["A"].uid)
    shape = a[0].meta["volume_shape"]
    assert shape == [48, ROWS, N_SLICES] and len(a) == sum(shape)
    expected = {"x": ((N_SLICES, ROWS), (2.5, 0.8)), "y": ((N_SLICES, 48), (2.5, 0.6)), "z": ((ROWS, 48), (0.8, 0.6))}
    for axis, (size, spacing) in expected.items():
        item = next(x for x in a if x.meta["slice_axis"] == axis)
        sl, sp = read_series_slice(sample.root, item.meta)
        assert sl.pixels.shape == size and sp == pytest.approx(spacing)
        assert (item.path.endswith(sample.series["A"].files[0])) == (axis != "z" or item.meta["slice_index"] == 0)


def test_ingest_windows_known_hu_and_writes_no_folder_names(sample: Any) -> None:
    b = sample.series["B"]
    out = run_stages(rows_of(TciaSource(TciaParams(root=sample.root))), [IngestDecodeStage])
    assert len(out) == 2 * N_SLICES and {r["status"] for r in out} == {"ok"}
    rows_b = sorted((r for r in out if b.uid in r["sample_key"]), key=lambda r: r["image"]["slice_index"])
    for k, row in enumerate(rows_b):  # B has its own slope/intercept per slice
        png = cv2.imdecode(np.frombuffer(row["image_png"], np.uint8), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(png, apply_window(b.hu[k][::-1, ::-1], 40.0, 400.0))
        img = row["image"]
        assert img["intensity"] == "preset:soft_tissue:40/400" and img["modality"] == "CT"
        assert (img["pixel_spacing_y"], img["pixel_spacing_x"]) == pytest.approx((0.8, 0.6))
        assert img["patient_id"] == salted_hash(b.subject, "test") and img["slice_axis"] == "z"
        assert img["source_path"] == f"{COLLECTION}/{b.uid}/{b.files[k]}"
        assert b.subject not in repr(img) and "01-01-2000" not in repr(img)
    assert {b["image"]["volume_id"] for b in rows_b} == {rows_b[0]["image"]["volume_id"]}
    lung = run_stages(rows_of(TciaSource(TciaParams(root=sample.root, window_preset="lung", limit=1))),
                      [IngestDecodeStage])
    assert lung[0]["image"]["intensity"] == "preset:lung:-600/1500"  # the source's preset beats the stage default


def test_metadata_and_walk_give_the_same_items(sample: Any) -> None:
    items, losses = read(sample.root, axis="all")
    walked, walk_losses = read(sample.root, axis="all", use_metadata=False)
    assert [x.to_dict() for x in items] == [x.to_dict() for x in walked]
    assert sorted((lo.ref, lo.kind, lo.message) for lo in losses) == sorted(
        (lo.ref, lo.kind, lo.message) for lo in walk_losses)


def test_missing_files_bad_rows_filters_and_limit(tmp_path: Path) -> None:
    sample = write_tcia_sample(tmp_path / "t", broken=False)
    b = sample.series["B"]
    (sample.root / b.folder / b.files[3]).unlink()
    with open(sample.root / "metadata.csv", "a", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["", COLLECTION] + [""] * (len(HEADER) - 2))
        w.writerow(["1.2.3.4.5", COLLECTION, "NO", "", "X-1", "1.2.3", "", "", "", "", "CT", "CT Image Storage",
                    "1.2.840.10008.5.1.4.1.1.2", "3", "1 KB", "./LIDC-IDRI/X-1/absent/", ""])
    items, losses = read(sample.root)
    kinds = {lo.ref: (lo.kind, lo.message) for lo in losses}
    assert kinds[f"{COLLECTION}/{b.uid}"] == (
        "missing_file", "the series folder holds 7 of the 8 files metadata.csv lists")
    assert kinds["metadata.csv:5"][0] == "malformed_row"
    assert kinds[f"{COLLECTION}/1.2.3.4.5"][0] == "missing_file"
    assert len(items) == N_SLICES
    _, walk_losses = read(sample.root, use_metadata=False)  # without the index the gap itself is the reason
    assert "missing slice" in {lo.ref: lo.message for lo in walk_losses}[f"{COLLECTION}/{b.uid}"]
    items, losses = read(sample.root, modalities=("MR",))
    assert not items and any("modality CT is not sliced" in lo.message for lo in losses)
    assert read(sample.root, collections=["NSCLC-Radiomics"]) == ([], [])
    assert len(read(sample.root, limit=3)[0]) == 3
    with pytest.raises(ValueError):
        TciaParams(root=sample.root, modalities=("DX",))


def test_describe_names_each_collections_licence_page(sample: Any) -> None:
    desc = TciaSource(TciaParams(root=sample.root)).describe()
    assert desc["collections"] == {COLLECTION: "https://doi.org/10.7937/K9/TCIA.2015.LO9QL9SX"}
    assert "CC BY" in desc["license"] and "10.7937/K9/TCIA.2015.LO9QL9SX" in desc["license"]


def test_a_series_broken_after_planning_is_quarantined_by_ingest_and_the_run_goes_on(tmp_path: Path) -> None:
    sample = write_tcia_sample(tmp_path / "t", broken=False)
    rows = rows_of(TciaSource(TciaParams(root=sample.root)))
    a = sample.series["A"]
    path = sample.root / a.folder / a.files[4]
    path.write_bytes(path.read_bytes()[:-500])  # header intact, pixel data cut short
    out = run_stages(rows, [IngestDecodeStage])
    bad = [r for r in out if a.uid in r["sample_key"]]
    assert len(bad) == N_SLICES and {r["status"] for r in bad} == {"quarantined"}
    assert {(q["stage"], q["error_kind"]) for r in bad for q in r["quarantine"]} == {("ingest.decode", "unreadable")}
    assert all(a.files[4] in r["quarantine"][0]["message"] for r in bad)
    assert {r["status"] for r in out if a.uid not in r["sample_key"]} == {"ok"}


def test_header_rows_round_trip_exactly(sample: Any) -> None:
    """What a Ray worker sends back (JSON per header, kind and message per problem) rebuilds what the
    driver reads itself, floats and tuples included."""
    import pyarrow as pa

    from pipelines.sources.tcia_headers import header_batch, header_of_row, read_one

    paths = sorted(sample.root.rglob("*.dcm"))
    rows = header_batch(pa.table({"path": [str(p) for p in paths]})).to_pylist()
    direct = [read_one(p) for p in paths]
    back = [header_of_row(r) for r in rows]
    problems = [(type(d), d.kind, str(d)) for d in direct if isinstance(d, BadInput)]
    assert problems and problems == [(type(b), b.kind, str(b)) for b in back if isinstance(b, BadInput)]
    assert [d for d in direct if not isinstance(d, BadInput)] == [b for b in back if not isinstance(b, BadInput)]


@pytest.mark.parametrize("use_metadata", [True, False])
def test_headers_read_on_ray_give_the_same_items(sample: Any, ray_session: Any, use_metadata: bool,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    driver = read(sample.root, axis="all", use_metadata=use_metadata)

    def no_driver_reads(path: Path) -> Any:
        raise AssertionError(f"{path.name} read in the driver")

    import pipelines.sources.tcia as tcia_module
    import pipelines.sources.tcia_headers as headers_module

    monkeypatch.setattr(headers_module, "read_one", no_driver_reads)  # the Ray workers import the real one
    monkeypatch.setattr(tcia_module, "read_one", no_driver_reads)
    items, losses = read(sample.root, axis="all", use_metadata=use_metadata, headers_ray_above=0)
    assert items and [x.to_dict() for x in items] == [x.to_dict() for x in driver[0]]
    assert [(lo.ref, lo.kind, lo.message) for lo in losses] == [(lo.ref, lo.kind, lo.message) for lo in driver[1]]
    assert any(lo.kind == "unreadable" for lo in losses)  # the truncated file's problem came back from a worker


def test_headers_ray_above_is_checked_at_config(sample: Any) -> None:
    from pipelines.config import parse_config
    from schemas.errors import ConfigError

    with pytest.raises(ConfigError, match=r"sources\[0\]\.params\.headers_ray_above"):
        parse_config({"corpus": "t", "salt": "s", "stages": [{"name": "ingest.decode"}],
                      "sources": [{"name": "sources.tcia", "params": {"root": str(sample.root),
                                                                      "headers_ray_above": -1}}]})
