"""3D volumes as 2D slices: NIfTI via nibabel, DICOM series sorted by position.

Every volume is first reoriented to RAS+ (`nib.as_closest_canonical`; headers alone for shapes), so
axis `x` runs patient left→right, `y` posterior→anterior, `z` inferior→superior. A slice along one
axis (SA-Med2D style: `x`, `y`, `z`, or all three) is shown the radiological way: for the remaining
canonical axes (a, b), row r and column c are voxel (a = A-1-c, b = B-1-r). So an axial (`z`) slice
has anterior at the top and the patient's right on the image's left; coronal and sagittal slices have
superior at the top. Masks go through the same function, so image and mask stay aligned.
`slice_to_voxel` / `slice_affine` state that mapping as matrices (tested against world coordinates).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from schemas.errors import BadInput

AXES = ("x", "y", "z")


@dataclass(frozen=True)
class VolumeHeader:
    """What the header says, in canonical (RAS+) axis order."""

    shape: tuple[int, int, int]
    zooms: tuple[float, float, float]  # mm per voxel along x, y, z
    channels: int  # 1 for a 3D volume, the 4th dimension otherwise
    affine: np.ndarray  # canonical voxel → world (mm)


@dataclass
class VolumeSlice:
    """One decoded 2D slice, shaped like the other decoders' results for `ingest.decode`."""

    pixels: np.ndarray
    modality: str | None
    pixel_spacing: tuple[float, float] | None
    body_part: str | None = None
    view: str | None = None
    window: tuple[float, float] | None = None
    burned_in: bool = False
    secondary_capture: bool = False


def axis_number(axis: str) -> int:
    if axis not in AXES:
        raise BadInput("malformed_row", f"slice axis must be one of {AXES}")
    return AXES.index(axis)


def read_header(path: Path) -> VolumeHeader:
    """Canonical shape, spacing and affine without reading voxels."""
    try:
        img = nib.load(str(path))
    except Exception as err:  # nibabel raises several types for a bad file
        raise BadInput("unreadable", f"not a readable NIfTI file ({type(err).__name__})") from err
    ornt = nib.orientations.io_orientation(img.affine)
    shape3, zooms3 = img.shape[:3], img.header.get_zooms()[:3]
    shape = [0, 0, 0]
    zooms = [0.0, 0.0, 0.0]
    for src, (dst, _flip) in enumerate(ornt):
        shape[int(dst)] = int(shape3[src])
        zooms[int(dst)] = float(zooms3[src])
    to_canonical = nib.orientations.inv_ornt_aff(ornt, shape3)
    channels = int(img.shape[3]) if len(img.shape) > 3 else 1
    return VolumeHeader((shape[0], shape[1], shape[2]), (zooms[0], zooms[1], zooms[2]), channels,
                        img.affine @ to_canonical)


@lru_cache(maxsize=2)
def _load_canonical(path: str, stamp: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    try:
        img = nib.as_closest_canonical(nib.load(path))
        return np.asanyarray(img.dataobj), img.affine
    except Exception as err:
        raise BadInput("unreadable", f"cannot read NIfTI voxels ({type(err).__name__})") from err


def load_canonical(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Voxels (scaled, canonical order, channels last) and the canonical affine; the last two
    volumes read are cached, since a volume's slices arrive one after another."""
    if not path.is_file():
        raise BadInput("missing_file", "volume file does not exist")
    st = path.stat()
    return _load_canonical(str(path), (st.st_mtime_ns, st.st_size))


def slice_plane(volume: np.ndarray, axis: str, index: int, channel: int = 0) -> np.ndarray:
    """The 2D slice `index` along `axis` of a canonical volume (3D, or 4D with channels last)."""
    n = axis_number(axis)
    if volume.ndim == 4:
        volume = volume[..., channel]
    if volume.ndim != 3 or not 0 <= index < volume.shape[n]:
        raise BadInput("out_of_bounds", f"slice {index} along {axis} outside volume {volume.shape[:3]}")
    plane = volume[(slice(None),) * n + (index,)]  # a view: np.take would copy the whole volume
    return np.ascontiguousarray(plane[::-1, ::-1].T)


def orientation_hint(axis: str) -> str | None:
    """How `slice_plane` lays a slice out: axial (z) and coronal (y) slices put the patient's right on
    the image's left ("radiological"); sagittal (x) slices carry no left/right."""
    return None if axis == "x" else "radiological"


def slice_spacing(zooms: Sequence[float], axis: str) -> tuple[float, float]:
    """(row, column) spacing in mm of a slice along `axis`."""
    a, b = (i for i in range(3) if i != axis_number(axis))
    return float(zooms[b]), float(zooms[a])


def slice_to_voxel(axis: str, index: int, shape: Sequence[int]) -> np.ndarray:
    """4×3 matrix M with [i, j, k, 1] = M @ [row, col, 1] (canonical voxel of a slice pixel)."""
    n = axis_number(axis)
    a, b = (i for i in range(3) if i != n)
    m = np.zeros((4, 3))
    m[a, 1], m[a, 2] = -1.0, shape[a] - 1
    m[b, 0], m[b, 2] = -1.0, shape[b] - 1
    m[n, 2] = float(index)
    m[3, 2] = 1.0
    return m


def slice_affine(affine: np.ndarray, axis: str, index: int, shape: Sequence[int]) -> np.ndarray:
    """4×3 matrix: world (mm, RAS) of a slice pixel = A @ [row, col, 1]."""
    return np.asarray(affine, dtype=float) @ slice_to_voxel(axis, index, shape)


def nonempty_slices(mask: np.ndarray, axis: str) -> list[int]:
    """Indices along `axis` of a canonical mask volume whose slice has any foreground."""
    n = axis_number(axis)
    other = tuple(i for i in range(mask.ndim) if i != n)
    return [int(i) for i in np.flatnonzero(np.any(mask != 0, axis=other))]


def labels_per_slice(mask: np.ndarray, axis: str) -> dict[int, list[int]]:
    """Slice index → sorted non-zero label values present in it (only slices with foreground).
    A 4D mask (one channel per object, e.g. one per report finding) reports channel c as c + 1."""
    n = axis_number(axis)
    other = tuple(i for i in range(3) if i != n)
    out: dict[int, list[int]] = {}
    if mask.ndim == 4:
        layers = [(c + 1, mask[..., c] != 0) for c in range(mask.shape[3])]
    else:
        labels = np.rint(mask).astype(np.int64) if mask.dtype.kind == "f" else mask
        if labels.dtype.kind in "ui" and labels.size and labels.min() >= 0 and labels.max() < 65536:
            values = np.flatnonzero(np.bincount(labels.ravel()))  # far faster than np.unique's sort
        else:
            values = np.unique(labels)
        layers = [(int(v), labels == v) for v in values if v != 0]
    for value, layer in sorted(layers, key=lambda t: t[0]):
        for idx in np.flatnonzero(np.any(layer, axis=other)):
            out.setdefault(int(idx), []).append(value)
    return dict(sorted(out.items()))


def plan_slices(shape: Sequence[int], axes: Sequence[str], mask: np.ndarray | None = None,
                skip_empty: bool = False) -> list[tuple[str, int, list[int]]]:
    """(axis, index, label values present) for every slice to emit, axes in the order given."""
    out: list[tuple[str, int, list[int]]] = []
    for axis in axes:
        present = labels_per_slice(mask, axis) if mask is not None else {}
        for idx in range(int(shape[axis_number(axis)])):
            if skip_empty and not present.get(idx):
                continue
            out.append((axis, idx, present.get(idx, [])))
    return out


def expand_axes(axis: str) -> tuple[str, ...]:
    """`x`|`y`|`z` → that axis; `all` → the three (SA-Med2D style)."""
    if axis == "all":
        return AXES
    axis_number(axis)
    return (axis,)


def read_nifti_slice(path: Path, meta: dict[str, Any]) -> tuple[VolumeSlice, tuple[float, float]]:
    """Decode the slice an item names (`slice_axis`, `slice_index`, optional `channel`, `rescale`)."""
    axis = str(meta.get("slice_axis", "z"))
    index = int(meta.get("slice_index", 0))
    volume, affine = load_canonical(path)
    pixels = slice_plane(volume, axis, index, int(meta.get("channel", 0))).astype(np.float32)
    if meta.get("rescale"):
        slope, intercept = meta["rescale"]
        pixels = pixels * float(slope) + float(intercept)
    zooms = tuple(float(z) for z in np.sqrt((affine[:3, :3] ** 2).sum(axis=0)))
    spacing = slice_spacing(zooms, axis)
    modality = meta.get("modality")
    return VolumeSlice(pixels=pixels, modality=modality, pixel_spacing=spacing,
                       body_part=meta.get("body_part")), spacing


def sort_dicom_series(paths: Iterable[Path]) -> list[tuple[Path, float]]:
    """Order a series' files by ImagePositionPatient projected on the slice normal (the cross product
    of ImageOrientationPatient's row and column cosines); returns (path, position along normal)."""
    import pydicom

    keyed: list[tuple[float, str, Path]] = []
    normal: np.ndarray | None = None
    for p in paths:
        ds = pydicom.dcmread(p, stop_before_pixels=True,
                             specific_tags=["ImageOrientationPatient", "ImagePositionPatient"])
        iop = getattr(ds, "ImageOrientationPatient", None)
        ipp = getattr(ds, "ImagePositionPatient", None)
        if iop is None or ipp is None or len(iop) != 6 or len(ipp) != 3:
            raise BadInput("malformed_row", "series file lacks ImageOrientation/PositionPatient")
        n = np.cross(np.asarray(iop[:3], float), np.asarray(iop[3:], float))
        if normal is None:
            normal = n
        elif not np.allclose(n, normal, atol=1e-3):
            raise BadInput("malformed_row", "series files have different orientations")
        keyed.append((float(np.dot(n, np.asarray(ipp, float))), p.name, p))
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [(p, d) for d, _name, p in keyed]


def series_slice_spacing(positions: Sequence[float]) -> float | None:
    """Median distance between consecutive sorted positions (None for a single slice)."""
    if len(positions) < 2:
        return None
    return float(np.median(np.diff(np.asarray(positions, float))))


def canonical_geometry(affine: np.ndarray, shape: Sequence[int]) -> tuple[
        np.ndarray, tuple[int, int, int], tuple[float, float, float], np.ndarray]:
    """For voxels of `shape` (3D) under `affine` (voxel → RAS mm): the nibabel orientation that takes
    them to the closest canonical RAS+ axes (for `nib.orientations.apply_orientation`), and the
    canonical shape, spacing (mm along x, y, z) and affine. What `read_header` does for a NIfTI file,
    for volumes built from other headers (DICOM series)."""
    affine = np.asarray(affine, dtype=float)
    ornt = nib.orientations.io_orientation(affine)
    canon_shape = [0, 0, 0]
    for src, (dst, _flip) in enumerate(ornt):
        canon_shape[int(dst)] = int(shape[src])
    canon_affine = affine @ nib.orientations.inv_ornt_aff(ornt, tuple(int(s) for s in shape[:3]))
    zooms = np.sqrt((canon_affine[:3, :3] ** 2).sum(axis=0))
    return (ornt, (canon_shape[0], canon_shape[1], canon_shape[2]),
            (float(zooms[0]), float(zooms[1]), float(zooms[2])), canon_affine)
