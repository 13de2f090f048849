from __future__ import annotations

import csv
from pathlib import Path

import cv2
import nibabel as nib
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from extractors.imaging.annotations import decode_annotation_mask, decode_siim_rle, encode_siim_rle
from extractors.imaging.volume import load_canonical, slice_plane
from schemas.errors import BadInput


def test_siim_rle_is_relative_and_column_major() -> None:
    # 4 rows x 3 cols; column-major flat index = col * 4 + row.
    # "1 2 3 1": skip 1 → pixels 1,2 (col 0, rows 1-2); skip 3 more → pixel 6 (col 1, row 2).
    mask = decode_siim_rle("1 2 3 1", height=4, width=3)
    expected = np.zeros((4, 3), bool)
    expected[1:3, 0] = True
    expected[2, 1] = True
    np.testing.assert_array_equal(mask, expected)
    assert encode_siim_rle(expected) == "1 2 3 1"
    assert not decode_siim_rle("-1", 4, 3).any()
    assert encode_siim_rle(np.zeros((2, 2), bool)) == "-1"


def test_siim_rle_round_trip_of_a_mask_we_draw() -> None:
    mask = np.zeros((64, 48), np.uint8)
    cv2.ellipse(mask, (30, 20), (10, 14), 30, 0, 360, 1, -1)
    mask[60:, 40:] = 1  # touches the last row and column
    counts = encode_siim_rle(mask.astype(bool))
    out = decode_annotation_mask({"format": "siim_rle", "counts": counts}, Path("."), 64, 48)
    np.testing.assert_array_equal(out, mask.astype(bool))


@pytest.mark.parametrize("counts", ["1 2 3", "5 -1", "1 x", "0 13"])
def test_siim_rle_rejects_malformed(counts: str) -> None:
    with pytest.raises(BadInput):
        decode_siim_rle(counts, 4, 3)


def test_siim_rle_real_rows(shared_datasets: Path) -> None:
    path = shared_datasets / "layouts/siim_train-rle.head100.csv"
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["ImageId", " EncodedPixels"]
    positive = [r[1].strip() for r in rows[1:] if r[1].strip() != "-1"]
    assert positive
    for counts in positive:
        mask = decode_siim_rle(counts, 1024, 1024)
        lengths = [int(v) for v in counts.split()[1::2]]
        assert int(mask.sum()) == sum(lengths)
        assert encode_siim_rle(mask) == counts
        # a pneumothorax lies in one hemithorax: its bounding box spans well under the full width
        xs = np.nonzero(mask)[1]
        assert xs.max() - xs.min() < 700


def test_coco_rle_string_and_list_counts() -> None:
    mask = np.zeros((20, 30), np.uint8)
    mask[5:9, 10:25] = 1
    enc = mask_utils.encode(np.asfortranarray(mask))
    ref = {"format": "coco_rle", "size": [20, 30], "counts": enc["counts"].decode("ascii")}
    np.testing.assert_array_equal(decode_annotation_mask(ref, Path("."), 20, 30), mask.astype(bool))
    with pytest.raises(BadInput) as err:
        decode_annotation_mask(ref, Path("."), 40, 60)
    assert err.value.kind == "shape_mismatch"
    resized = decode_annotation_mask({**ref, "reference_size": [30, 20]}, Path("."), 40, 60)
    assert resized.shape == (40, 60) and int(resized.sum()) == 4 * int(mask.sum())


def test_png_value_threshold_and_missing(tmp_path: Path) -> None:
    labels = np.zeros((10, 12), np.uint8)
    labels[2:4, 2:5] = 1
    labels[6:9, 7:10] = 2
    cv2.imwrite(str(tmp_path / "m.png"), labels)
    two = decode_annotation_mask({"format": "png", "path": "m.png", "value": 2}, tmp_path, 10, 12)
    assert int(two.sum()) == 9 and two[7, 8]
    binary = np.where(labels > 0, 250, 3).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "b.jpg"), np.dstack([binary] * 3), [cv2.IMWRITE_JPEG_QUALITY, 90])
    jpg = decode_annotation_mask({"format": "file", "path": "b.jpg"}, tmp_path, 10, 12)
    assert abs(int(jpg.sum()) - 15) <= 2
    with pytest.raises(BadInput) as err:
        decode_annotation_mask({"format": "png", "path": "nope.png"}, tmp_path, 10, 12)
    assert err.value.kind == "missing_file"


def test_nifti_mask_sliced_like_the_image(tmp_path: Path) -> None:
    affine = np.array([[-1.0, 0, 0, 0], [0, -1.0, 0, 0], [0, 0, 2.0, 0], [0, 0, 0, 1]])  # LPS
    seg = np.zeros((8, 6, 5), np.uint8)
    seg[1:3, 2:4, 3] = 4
    seg[5, 1, 3] = 1
    img = np.arange(seg.size, dtype=np.int16).reshape(seg.shape)
    nib.save(nib.Nifti1Image(seg, affine), str(tmp_path / "seg.nii.gz"))
    nib.save(nib.Nifti1Image(img, affine), str(tmp_path / "img.nii.gz"))
    ref = {"format": "nifti", "path": "seg.nii.gz", "values": [1, 4], "axis": "z", "index": 3}
    mask = decode_annotation_mask(ref, tmp_path, 6, 8)
    vol, _ = load_canonical(tmp_path / "img.nii.gz")
    plane = slice_plane(vol, "z", 3)
    assert sorted(plane[mask].tolist()) == sorted(img[seg > 0].tolist())
    only4 = decode_annotation_mask({**ref, "values": [4]}, tmp_path, 6, 8)
    assert int(only4.sum()) == 4


def test_unknown_format() -> None:
    with pytest.raises(BadInput):
        decode_annotation_mask({"format": "polygon"}, Path("."), 2, 2)
