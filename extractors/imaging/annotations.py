"""Dataset mask annotations → boolean masks in the pixel space of the decoded image.

`decode_annotation_mask(mask_ref, root, height, width)` reads one `Annotation.mask` dict:

- `{"format": "siim_rle", "counts": "387620 23 996 33 ..."}`: SIIM-ACR's relative RLE, as its Kaggle
  kernel (`mask_functions.rle2mask`) reads it: pairs of (offset from the end of the previous run,
  run length) over the pixels in column-major order; `-1` means an empty mask.
- `{"format": "coco_rle", "size": [h, w], "counts": "..."}`: COCO compressed (or uncompressed, a
  list of ints) RLE, e.g. CheXlocalize's `gt_segmentations_*.json`.
- `{"format": "png", "path": "masks/x.png", "value": 255 | None, "threshold": 127}`: a mask image
  (PNG, or JPEG as Kvasir-SEG ships it). With `value`, pixels equal to it (or in `values`); without,
  pixels above `threshold` (JPEG noise). `"file"` is accepted as an alias.
- `{"format": "nifti", "path": "labelsTr/x.nii.gz", "values": [1, 4], "axis": "z", "index": 40,
  "channel": 0}`: voxels of the label volume equal to any of `values` (or > 0 without), sliced as the
  image is (extractors.imaging.volume).

Any dict may carry `reference_size: [w, h]` when the dataset draws masks at another size than the
image it ships: the mask is then resized (nearest) to the image. Otherwise a size differing from
(height, width) is a `shape_mismatch`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from extractors.imaging.volume import load_canonical, slice_plane
from schemas.errors import BadInput


def decode_siim_rle(counts: str, height: int, width: int) -> np.ndarray:
    """SIIM relative RLE → (height, width) bool mask (column-major, like the Kaggle kernel)."""
    text = counts.strip()
    flat = np.zeros(height * width, dtype=bool)
    if text in ("-1", ""):
        return flat.reshape(width, height).T
    try:
        values = np.asarray([int(v) for v in text.split()], dtype=np.int64)
    except ValueError as err:
        raise BadInput("malformed_row", "EncodedPixels holds a non-integer", unit="annotation") from err
    if values.size % 2 or (values < 0).any():
        raise BadInput("malformed_row", "EncodedPixels must be (offset, length) pairs", unit="annotation")
    pos = 0
    for start, length in zip(values[0::2], values[1::2], strict=True):
        pos += int(start)
        if pos + int(length) > flat.size:
            raise BadInput("out_of_bounds", "RLE run past the end of the image", unit="annotation")
        flat[pos:pos + int(length)] = True
        pos += int(length)
    return flat.reshape(width, height).T


def encode_siim_rle(mask: np.ndarray) -> str:
    """Bool mask → SIIM relative RLE (`-1` when empty); the inverse of decode_siim_rle."""
    flat = np.asarray(mask, dtype=bool).T.reshape(-1)
    if not flat.any():
        return "-1"
    padded = np.concatenate([[False], flat, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, ends = edges[0::2], edges[1::2]
    out: list[int] = []
    last = 0
    for s, e in zip(starts, ends, strict=True):
        out += [int(s - last), int(e - s)]
        last = int(e)
    return " ".join(str(v) for v in out)


def decode_coco_rle(ref: dict[str, Any]) -> np.ndarray:
    from pycocotools import mask as mask_utils

    size = [int(v) for v in ref["size"]]
    counts = ref["counts"]
    if isinstance(counts, list):
        rle = mask_utils.frPyObjects({"size": size, "counts": counts}, size[0], size[1])
    else:
        rle = {"size": size, "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    try:
        return mask_utils.decode(rle).astype(bool)
    except Exception as err:
        raise BadInput("malformed_row", "COCO RLE cannot be decoded", unit="annotation") from err


def decode_mask_file(ref: dict[str, Any], root: Path) -> np.ndarray:
    path = root / str(ref["path"])
    if not path.is_file():
        raise BadInput("missing_file", "mask file does not exist", unit="annotation")
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise BadInput("unreadable", "mask file cannot be decoded", unit="annotation")
    if arr.ndim == 3:
        arr = arr[..., 0] if np.ptp(arr.astype(np.int32), axis=2).max() == 0 else cv2.cvtColor(
            arr[..., :3], cv2.COLOR_BGR2GRAY)
    return _select(arr, ref, default_threshold=127)


def decode_nifti_mask(ref: dict[str, Any], root: Path) -> np.ndarray:
    volume, _affine = load_canonical(root / str(ref["path"]))
    plane = slice_plane(volume, str(ref.get("axis", "z")), int(ref["index"]), int(ref.get("channel", 0)))
    if plane.dtype.kind == "f":
        plane = np.rint(plane)
    return _select(plane, ref, default_threshold=0)


def _select(arr: np.ndarray, ref: dict[str, Any], default_threshold: int) -> np.ndarray:
    values = ref.get("values")
    if values is None and ref.get("value") is not None:
        values = [ref["value"]]
    if values is not None:
        return np.isin(arr, np.asarray(values, dtype=arr.dtype))
    return arr > ref.get("threshold", default_threshold)


def decode_annotation_mask(mask_ref: dict[str, Any], root: Path, height: int, width: int) -> np.ndarray:
    """The annotation's mask as a (height, width) bool array (see the module docstring)."""
    fmt = mask_ref.get("format")
    ref_size = mask_ref.get("reference_size")
    if fmt == "siim_rle":
        h, w = (int(ref_size[1]), int(ref_size[0])) if ref_size else (height, width)
        mask = decode_siim_rle(str(mask_ref["counts"]), h, w)
    elif fmt == "coco_rle":
        mask = decode_coco_rle(mask_ref)
    elif fmt in ("png", "file"):
        mask = decode_mask_file(mask_ref, root)
    elif fmt == "nifti":
        mask = decode_nifti_mask(mask_ref, root)
    else:
        raise BadInput("malformed_row", f"unknown mask format {fmt!r}", unit="annotation")
    if mask.shape != (height, width):
        if not ref_size:
            raise BadInput("shape_mismatch", f"mask {mask.shape} vs image {(height, width)}", unit="annotation")
        mask = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    return mask
