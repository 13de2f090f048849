from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset

from extractors.imaging.volume import (
    labels_per_slice,
    load_canonical,
    nonempty_slices,
    read_header,
    read_nifti_slice,
    series_slice_spacing,
    slice_affine,
    slice_plane,
    slice_spacing,
    sort_dicom_series,
)
from schemas.errors import BadInput

# A LPS-like (radiological DICOM) affine with permuted axes: array axis 0 = superior→inferior,
# axis 1 = right→left, axis 2 = anterior→posterior; zooms 3, 0.8, 1.5 mm.
LPS_PERMUTED = np.array([
    [0.0, -0.8, 0.0, 100.0],
    [0.0, 0.0, -1.5, 50.0],
    [-3.0, 0.0, 0.0, 200.0],
    [0.0, 0.0, 0.0, 1.0],
])


def write_volume(path: Path, affine: np.ndarray = LPS_PERMUTED, shape: tuple[int, int, int] = (5, 7, 9)) -> np.ndarray:
    data = np.arange(np.prod(shape), dtype=np.int16).reshape(shape)
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return data


def test_header_matches_canonical_without_reading_voxels(tmp_path: Path) -> None:
    write_volume(tmp_path / "v.nii.gz")
    head = read_header(tmp_path / "v.nii.gz")
    canon = nib.as_closest_canonical(nib.load(str(tmp_path / "v.nii.gz")))
    assert head.shape == canon.shape == (7, 9, 5)
    assert head.zooms == pytest.approx((0.8, 1.5, 3.0))
    np.testing.assert_allclose(head.affine, canon.affine)
    assert head.channels == 1


@pytest.mark.parametrize("axis", ["x", "y", "z"])
def test_slice_pixels_sit_where_the_affine_says(tmp_path: Path, axis: str) -> None:
    raw = write_volume(tmp_path / "v.nii.gz")
    volume, affine = load_canonical(tmp_path / "v.nii.gz")
    raw_inv = np.linalg.inv(LPS_PERMUTED)
    index = 2
    plane = slice_plane(volume, axis, index)
    a_slice = slice_affine(affine, axis, index, volume.shape)
    for r, c in [(0, 0), (plane.shape[0] - 1, 0), (1, plane.shape[1] - 2)]:
        world = a_slice @ np.array([r, c, 1.0])
        ijk = np.rint(raw_inv @ world)[:3].astype(int)  # the voxel of the file as written
        assert plane[r, c] == raw[tuple(ijk)]


def test_axial_slice_is_radiological(tmp_path: Path) -> None:
    write_volume(tmp_path / "v.nii.gz")
    volume, affine = load_canonical(tmp_path / "v.nii.gz")
    a = slice_affine(affine, "z", 1, volume.shape)
    top_left, top_right = a @ [0, 0, 1], a @ [0, volume.shape[0] - 1, 1]
    bottom_left = a @ [volume.shape[1] - 1, 0, 1]
    assert top_left[0] > top_right[0]  # patient's right (larger R) on the image's left
    assert top_left[1] > bottom_left[1]  # anterior at the top
    assert slice_spacing((0.8, 1.5, 3.0), "z") == (1.5, 0.8)
    assert slice_spacing((0.8, 1.5, 3.0), "x") == (3.0, 1.5)


def test_read_nifti_slice_spacing_and_channel(tmp_path: Path) -> None:
    data = np.zeros((4, 5, 6, 2), np.float32)
    data[..., 1] = 7.0
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 4.0, 1.0])), str(tmp_path / "m.nii.gz"))
    sl, spacing = read_nifti_slice(tmp_path / "m.nii.gz", {"slice_axis": "y", "slice_index": 3,
                                                          "channel": 1, "modality": "MR"})
    assert sl.pixels.shape == (6, 4) and float(sl.pixels.max()) == 7.0
    assert spacing == (4.0, 2.0) and sl.modality == "MR"
    with pytest.raises(BadInput):
        read_nifti_slice(tmp_path / "m.nii.gz", {"slice_axis": "z", "slice_index": 6})


def test_nonempty_and_labels_per_slice() -> None:
    mask = np.zeros((4, 4, 6), np.uint8)
    mask[1, 1, 2] = 1
    mask[2, 2, 4] = 4
    mask[0, 0, 4] = 1
    assert nonempty_slices(mask, "z") == [2, 4]
    assert nonempty_slices(mask, "x") == [0, 1, 2]
    assert labels_per_slice(mask, "z") == {2: [1], 4: [1, 4]}


def test_missing_and_broken_files_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as err:
        load_canonical(tmp_path / "absent.nii.gz")
    assert err.value.kind == "missing_file"
    (tmp_path / "bad.nii.gz").write_bytes(b"not a nifti")
    with pytest.raises(BadInput) as err:
        read_header(tmp_path / "bad.nii.gz")
    assert err.value.kind == "unreadable"


def _series_file(path: Path, z: float, iop: list[float]) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = f"1.2.3.{int(z * 10) + 1000}"
    meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.ImageOrientationPatient = iop
    ds.ImagePositionPatient = [-100.0, -100.0, z]
    ds.save_as(path, enforce_file_format=True)
    return path


def test_dicom_series_sorted_along_the_normal(tmp_path: Path) -> None:
    axial = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    zs = [30.0, -10.0, 12.5, 0.0]
    files = [_series_file(tmp_path / f"IM{i:04d}.dcm", z, axial) for i, z in enumerate(zs)]
    ordered = sort_dicom_series(files)
    assert [d for _p, d in ordered] == sorted(zs)
    assert ordered[0][0].name == "IM0001.dcm"
    assert series_slice_spacing([-10.0, 0.0, 10.0, 20.0]) == 10.0
    _series_file(tmp_path / "odd.dcm", 5.0, [0.0, 1.0, 0.0, 0.0, 0.0, -1.0])
    with pytest.raises(BadInput):
        sort_dicom_series([*files, tmp_path / "odd.dcm"])
