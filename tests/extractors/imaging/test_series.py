from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import EnhancedCTImageStorage, SegmentationStorage, generate_uid

from extractors.imaging.series import (
    _load_series,
    load_series,
    read_series_slice,
    read_slice_header,
    series_geometry,
    unsupported_reason,
)
from extractors.imaging.volume import slice_affine
from pipelines.samples.dicom import truncate_file, write_dicom
from schemas.errors import BadInput

ROWS, COLS = 6, 5
SPACING = (0.9, 0.7)  # (row, column) mm
ORIENTATIONS = {  # ImageOrientationPatient and the unit step between slices (LPS)
    "axial": ([1, 0, 0, 0, 1, 0], (0.0, 0.0, 2.0)),
    "axial_flipped": ([-1, 0, 0, 0, -1, 0], (0.0, 0.0, -2.0)),
    "sagittal": ([0, 1, 0, 0, 0, -1], (-3.0, 0.0, 0.0)),
    "coronal": ([1, 0, 0, 0, 0, -1], (0.0, 1.5, 0.0)),
    "tilted": ([1, 0, 0, 0, 1, 0], (0.0, 0.4, 2.0)),  # gantry tilt: the step leans in-plane
}


def write_series(folder: Path, iop: Sequence[float], positions: Sequence[Sequence[float]],
                 rescales: Sequence[tuple[float, float]] | None = None, shapes: Sequence[tuple[int, int]] | None = None,
                 uid: str = "1.2.826.0.1.3680043.8.498.1") -> list[np.ndarray]:
    """One CT file per position, named in reverse order; stored value = 1000·k + 10·r + c (k = position
    index). Returns each file's output values (after its rescale)."""
    out = []
    for k, pos in enumerate(positions):
        rows, cols = shapes[k] if shapes else (ROWS, COLS)
        r, c = np.mgrid[0:rows, 0:cols]
        stored = (1000 * k + 10 * r + c).astype(np.uint16)
        slope, intercept = rescales[k] if rescales else (1.0, -1024.0)
        write_dicom(folder / f"1-{len(positions) - k:03d}.dcm", stored, modality="CT", patient_id="P1",
                    series_uid=uid, pixel_spacing=SPACING, rescale=(slope, intercept),
                    sop_uid=generate_uid(entropy_srcs=[uid, str(k)]),
                    extra={"ImageOrientationPatient": [f"{v:g}" for v in iop],
                           "ImagePositionPatient": [f"{v:.4f}" for v in pos], "SliceThickness": 2.0})
        out.append(stored * slope + intercept)
    return out


def positions_of(step: Sequence[float], n: int, origin: Sequence[float] = (-10.0, -20.0, 5.0)) -> list[list[float]]:
    return [[o + k * s for o, s in zip(origin, step, strict=True)] for k in range(n)]


def headers_of(folder: Path) -> list:
    return [read_slice_header(p) for p in sorted(folder.glob("*.dcm"))]


@pytest.mark.parametrize("name", sorted(ORIENTATIONS))
def test_every_pixel_sits_where_the_ras_affine_says(tmp_path: Path, name: str) -> None:
    iop, step = ORIENTATIONS[name]
    positions = positions_of(step, 4)
    values = write_series(tmp_path, iop, positions)
    vol = load_series(tmp_path)
    assert vol.voxels.shape == series_geometry(headers_of(tmp_path)).shape
    inv = np.linalg.inv(vol.affine)
    row_cos, col_cos = np.asarray(iop[:3], float), np.asarray(iop[3:], float)
    for k, pos in enumerate(positions):
        for r in range(ROWS):
            for c in range(COLS):
                lps = np.asarray(pos) + c * SPACING[1] * row_cos + r * SPACING[0] * col_cos
                ras = np.array([-lps[0], -lps[1], lps[2], 1.0])
                i, j, m = np.rint(inv @ ras)[:3].astype(int)
                assert vol.voxels[i, j, m] == values[k][r, c], (k, r, c)


def test_files_sort_along_the_normal_and_slices_come_out_radiological(tmp_path: Path) -> None:
    iop, step = ORIENTATIONS["axial"]
    values = write_series(tmp_path, iop, positions_of(step, 4))
    geom = series_geometry(headers_of(tmp_path))
    assert geom.files == ("1-004.dcm", "1-003.dcm", "1-002.dcm", "1-001.dcm")  # by position, not by name
    assert geom.shape == (COLS, ROWS, 4) and geom.zooms == pytest.approx((0.7, 0.9, 2.0))
    assert [geom.file_of("z", k) for k in range(4)] == list(geom.files) and geom.file_of("x", 0) is None
    for k in range(4):  # axial DICOM (rows anterior→posterior, columns right→left) is already radiological
        sl, spacing = read_series_slice(tmp_path, {"series_dir": ".", "slice_axis": "z", "slice_index": k})
        np.testing.assert_array_equal(sl.pixels, values[k])
        assert spacing == pytest.approx((0.9, 0.7)) and sl.modality == "CT" and sl.pixel_spacing == spacing
        corner = slice_affine(load_series(tmp_path).affine, "z", k, geom.shape) @ [0, 0, 1]
        assert corner[:3] == pytest.approx([10.0, 20.0, 5.0 + 2.0 * k])  # LPS (-10, -20, z) → RAS


def test_flipped_acquisition_gives_the_same_canonical_slices(tmp_path: Path) -> None:
    iop, step = ORIENTATIONS["axial_flipped"]
    values = write_series(tmp_path, iop, positions_of(step, 3))  # stacked downward
    for k in range(3):
        sl, _ = read_series_slice(tmp_path, {"series_dir": ".", "slice_axis": "z", "slice_index": 2 - k})
        np.testing.assert_array_equal(sl.pixels, values[k][::-1, ::-1])


def test_modality_lut_is_applied_per_slice(tmp_path: Path) -> None:
    iop, step = ORIENTATIONS["axial"]
    rescales = [(1.0, -1024.0), (2.0, -2048.0), (0.5, 0.0)]
    values = write_series(tmp_path, iop, positions_of(step, 3), rescales=rescales)
    vol = load_series(tmp_path)
    for k in range(3):
        sl, _ = read_series_slice(tmp_path, {"series_dir": ".", "slice_axis": "z", "slice_index": k})
        np.testing.assert_array_equal(sl.pixels, values[k])
    assert vol.voxels.dtype == np.float32
    assert load_series(tmp_path) is vol  # read once, then cached


def test_x_and_y_slices_and_their_spacing(tmp_path: Path) -> None:
    iop, step = ORIENTATIONS["axial"]
    write_series(tmp_path, iop, positions_of(step, 4))
    sx, spx = read_series_slice(tmp_path, {"series_dir": ".", "slice_axis": "x", "slice_index": 0})
    sy, spy = read_series_slice(tmp_path, {"series_dir": ".", "slice_axis": "y", "slice_index": 0})
    assert sx.pixels.shape == (4, ROWS) and spx == pytest.approx((2.0, 0.9))
    assert sy.pixels.shape == (4, COLS) and spy == pytest.approx((2.0, 0.7))
    with pytest.raises(BadInput) as err:
        read_series_slice(tmp_path, {"series_dir": ".", "slice_axis": "z", "slice_index": 0, "volume_shape": [1, 2, 3]})
    assert err.value.kind == "shape_mismatch"


@pytest.mark.parametrize(("case", "kind", "words"), [
    ("gap", "unreadable", "missing slice"),
    ("uneven", "unreadable", "uneven"),
    ("duplicate", "unreadable", "same position"),
    ("mixed_orientation", "unreadable", "different orientations"),
    ("sizes", "shape_mismatch", "differ in size"),
    ("off_line", "unreadable", "one line"),
])
def test_bad_series_are_refused_with_a_reason(tmp_path: Path, case: str, kind: str, words: str) -> None:
    iop, step = ORIENTATIONS["axial"]
    positions = positions_of(step, 5)
    shapes = None
    if case == "gap":
        positions = positions[:2] + positions[3:]
    elif case == "uneven":
        positions[3][2] += 0.6
        positions[4][2] += 0.6
    elif case == "duplicate":
        positions[2] = list(positions[1])
    elif case == "sizes":
        shapes = [(ROWS, COLS)] * 4 + [(ROWS + 1, COLS)]
    elif case == "off_line":
        positions[2][0] += 3.0
    write_series(tmp_path, iop, positions, shapes=shapes)
    if case == "mixed_orientation":
        write_series(tmp_path / "x", [0, 1, 0, 0, 0, -1], [[99.0, 0.0, 0.0]])
        (tmp_path / "x" / "1-001.dcm").rename(tmp_path / "9-001.dcm")
    with pytest.raises(BadInput) as err:
        series_geometry(headers_of(tmp_path))
    assert err.value.kind == kind and words in str(err.value)
    with pytest.raises(BadInput) as err:  # ingest refuses it for the same reason
        load_series(tmp_path)
    assert words in str(err.value)


def test_unreadable_multiframe_and_missing(tmp_path: Path) -> None:
    iop, step = ORIENTATIONS["axial"]
    write_series(tmp_path / "s", iop, positions_of(step, 3))
    truncate_file(tmp_path / "s" / "1-002.dcm", keep_bytes=200)
    with pytest.raises(BadInput) as err:
        read_slice_header(tmp_path / "s" / "1-002.dcm")
    assert err.value.kind == "unreadable" and "1-002.dcm" in str(err.value)
    with pytest.raises(BadInput) as err:
        load_series(tmp_path / "s")
    assert err.value.kind == "unreadable"
    before = _load_series.cache_info()
    for _ in range(3):  # each slice of a broken series asks again: the failure is remembered, not re-read
        with pytest.raises(BadInput):
            load_series(tmp_path / "s")
    after = _load_series.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (3, 0)
    write_dicom(tmp_path / "m" / "1-1.dcm", np.zeros((3, 4, 4), np.uint16), modality="CT",
                extra={"ImageOrientationPatient": [1, 0, 0, 0, 1, 0], "ImagePositionPatient": [0, 0, 0]},
                pixel_spacing=(1.0, 1.0))
    with pytest.raises(BadInput) as err:
        series_geometry(headers_of(tmp_path / "m"))
    assert "multi-frame" in str(err.value)
    with pytest.raises(BadInput) as err:
        load_series(tmp_path / "absent")
    assert err.value.kind == "missing_file"


def test_what_is_not_sliced_says_why() -> None:
    ct, mr = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4"
    assert unsupported_reason("CT", ct, ("CT", "MR", "PT")) is None
    assert "non-image object (SEG)" in (unsupported_reason("SEG", SegmentationStorage, ("CT",)) or "")
    assert "multi-frame" in (unsupported_reason("CT", EnhancedCTImageStorage, ("CT",)) or "")
    assert "modality MR is not sliced" in (unsupported_reason("MR", mr, ("CT",)) or "")
    assert "not a single-frame" in (unsupported_reason("DX", "1.2.840.10008.5.1.4.1.1.1.1", ("CT",)) or "")
    assert "unknown" in (unsupported_reason("OT", "1.2.3.4", ("CT",)) or "")
    free_text = unsupported_reason("DOE^JOHN", ct, ("CT",)) or ""  # a header value is never echoed
    assert "modality other" in free_text and "DOE" not in free_text
