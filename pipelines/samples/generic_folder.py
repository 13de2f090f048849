"""Write a small image/mask folder for the generic source: `images/{train,test}/case_XXX.png` (grey
CT-like slices) and `masks/{train,test}/case_XXX_mask.png` with label values 1 and 2. Broken on
purpose: an image without its mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pipelines.samples.phantom import chest_phantom, to_uint8

CASES = [("train", "case_000", True), ("train", "case_001", False), ("test", "case_002", True)]


@dataclass
class GenericSample:
    root: Path
    images: list[str] = field(default_factory=list)
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    no_mask: list[str] = field(default_factory=list)


def write_generic_sample(root: Path, size: int = 64, broken: bool = True) -> GenericSample:
    out = GenericSample(root)
    cases = [*CASES, ("train", "case_003", True)] if broken else CASES
    for i, (split, name, with_tumour) in enumerate(cases):
        img = to_uint8(chest_phantom(size, seed=60 + i))
        mask = np.zeros((size, size), np.uint8)
        cv2.circle(mask, (size // 3, size // 2), size // 6, 1, -1)
        if with_tumour:
            cv2.circle(mask, (size // 3, size // 2), size // 16, 2, -1)
        rel = f"images/{split}/{name}.png"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / rel), img)
        out.images.append(rel)
        if broken and name == "case_003":
            out.no_mask.append(rel)
            continue
        (root / "masks" / split).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "masks" / split / f"{name}_mask.png"), mask)
        out.masks[rel] = mask
    return out
