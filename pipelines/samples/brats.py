"""Write a tiny BraTS 2021 training copy in its real layout:
`BraTS2021_XXXXX/BraTS2021_XXXXX_{t1,t1ce,t2,flair,seg}.nii.gz` (seg labels 0/1/2/4, nested the way
the challenge draws them: edema around the core, enhancing rim inside). Broken on purpose: a case
whose FLAIR volume is truncated (a broken download).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.samples.volumes import add_ball, body_volume, truncate, write_nifti

SHAPE = (20, 24, 16)
ZOOMS = (1.0, 1.0, 1.0)
SEQUENCES = ("t1", "t1ce", "t2", "flair")


@dataclass
class BratsSample:
    root: Path
    cases: list[str] = field(default_factory=list)
    segs: dict[str, np.ndarray] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)


def write_case(root: Path, case: str, seed: int, with_seg: bool = True) -> np.ndarray:
    folder = root / case
    base = body_volume(SHAPE, seed=seed, modality="MR")
    seg = np.zeros(SHAPE, np.uint8)
    center = (9 + seed % 3, 12, 8)
    add_ball(seg, center, 5.0, 2)  # peritumoral edema
    add_ball(seg, center, 3.0, 4)  # enhancing tumour
    add_ball(seg, center, 1.5, 1)  # necrotic core
    for k, seq in enumerate(SEQUENCES):
        vol = base * (0.8 + 0.2 * k) + np.where(seg > 0, 150.0 * (k + 1), 0.0)
        write_nifti(folder / f"{case}_{seq}.nii.gz", vol, ZOOMS)
    if with_seg:
        write_nifti(folder / f"{case}_seg.nii.gz", seg, ZOOMS, dtype=np.uint8)
    return seg


def write_brats_sample(root: Path, broken: bool = True) -> BratsSample:
    out = BratsSample(root)
    for i in range(2):
        case = f"BraTS2021_{i:05d}"
        out.segs[case] = write_case(root, case, seed=70 + i)
        out.cases.append(case)
    if broken:
        case = "BraTS2021_00002"
        write_case(root, case, seed=72)
        truncate(root / case / f"{case}_flair.nii.gz")
        out.truncated.append(case)
    return out
