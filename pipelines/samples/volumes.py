"""Generated CT/MR-like volumes and label maps for the 3D dataset samples (no real patient data).

Volumes are written with an LPS-style affine in (row, column, slice) order, as DICOM-to-NIfTI
converters write them, so every reader has to reorient to RAS (nothing passes by accident).
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np


def lps_affine(zooms: tuple[float, float, float], origin: tuple[float, float, float] = (120.0, 120.0, -60.0)
               ) -> np.ndarray:
    """Array axis 0 → patient left (-x in RAS), axis 1 → posterior (-y), axis 2 → superior."""
    aff = np.diag([-zooms[0], -zooms[1], zooms[2], 1.0])
    aff[:3, 3] = origin
    return aff


def body_volume(shape: tuple[int, int, int], seed: int, modality: str = "CT") -> np.ndarray:
    """An elliptic body with two lungs (CT, HU) or a head-like ellipsoid (MR, arbitrary units)."""
    rng = np.random.default_rng(seed)
    i, j, k = np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij")
    body = (i / 0.9) ** 2 + (j / 0.75) ** 2 < 1.0
    if modality == "CT":
        vol = np.full(shape, -1000.0, np.float32)
        vol[body] = 40.0
        for side in (-0.45, 0.45):
            vol[((i - side) / 0.32) ** 2 + (j / 0.5) ** 2 + (k / 1.2) ** 2 < 1.0] = -820.0
        vol += rng.normal(0, 12, shape).astype(np.float32)
    else:
        vol = np.zeros(shape, np.float32)
        vol[(i / 0.85) ** 2 + (j / 0.9) ** 2 + (k / 0.95) ** 2 < 1.0] = 400.0
        vol += np.abs(rng.normal(0, 20, shape)).astype(np.float32)
    return vol


def add_ball(labels: np.ndarray, center: tuple[int, int, int], radius: float, value: int) -> None:
    """Set a ball of voxels to `value` (later balls overwrite earlier ones)."""
    grid = np.indices(labels.shape)
    dist2 = sum((g - c) ** 2 for g, c in zip(grid, center, strict=True))
    labels[dist2 <= radius**2] = value


def write_nifti(path: Path, data: np.ndarray, zooms: tuple[float, float, float] = (1.0, 1.0, 2.5),
                dtype: type = np.int16) -> Path:
    """Write `data` (3D or 4D) as NIfTI-1 with an LPS-style affine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = nib.Nifti1Image(np.asarray(data).astype(dtype), lps_affine(zooms))
    img.header.set_zooms((*zooms, *([1.0] * (data.ndim - 3))))
    nib.save(img, str(path))
    return path


def truncate(path: Path, keep_bytes: int = 200) -> None:
    """Cut a file short (a broken download)."""
    path.write_bytes(path.read_bytes()[:keep_bytes])
