"""Volume-slicing benchmark: the pipeline's slicer vs a bare nibabel loop over the same NIfTI files,
in the same process, printed as a ratio.

    python bench/volumes.py [--n 6] [--size 256] [--depth 64] [--axis z] [--json OUT.json]

Baseline: for each volume, `nib.load(path).get_fdata(dtype=float32)` and `data[:, :, k]` for every k
(one core; no reorientation, no masks, nothing else). Pipeline: `sources.msd` enumerates the
Decathlon layout (headers only, plus each label volume once to know which labels each slice holds),
then for every item `read_nifti_slice` (reorientation to RAS, radiological slice layout, spacing; the
volume is cached across its slices) and `decode_annotation_mask` for every label of the slice.
The ratio is pipeline slices/s over baseline slices/s; the pipeline also reorients and decodes masks,
which the baseline skips.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extractors.imaging.annotations import decode_annotation_mask
from extractors.imaging.volume import read_nifti_slice
from pipelines.samples.volumes import add_ball, body_volume, write_nifti
from pipelines.sources.base import SourceItem
from pipelines.sources.msd import MsdParams, MsdSource


def make_dataset(root: Path, n: int, size: int, depth: int) -> list[Path]:
    task = root / "Task09_Spleen"
    training = []
    for i in range(n):
        shape = (size, size, depth)
        seg = np.zeros(shape, np.uint8)
        add_ball(seg, (size // 3, size // 2, depth // 2), depth / 4, 1)
        write_nifti(task / "imagesTr" / f"spleen_{i}.nii.gz", body_volume(shape, seed=i), (0.8, 0.8, 2.5))
        write_nifti(task / "labelsTr" / f"spleen_{i}.nii.gz", seg, (0.8, 0.8, 2.5), dtype=np.uint8)
        training.append({"image": f"./imagesTr/spleen_{i}.nii.gz", "label": f"./labelsTr/spleen_{i}.nii.gz"})
    (task / "dataset.json").write_text(json.dumps({
        "name": "Spleen", "modality": {"0": "CT"}, "labels": {"0": "background", "1": "spleen"},
        "numTraining": n, "training": training, "test": []}))
    return sorted((task / "imagesTr").glob("*.nii.gz"))


def bare_loop(files: list[Path]) -> tuple[float, int]:
    t0 = time.perf_counter()
    count = 0
    for f in files:
        data = nib.load(str(f)).get_fdata(dtype=np.float32)
        for k in range(data.shape[2]):
            count += int(np.ascontiguousarray(data[:, :, k]).shape[0] > 0)
    return time.perf_counter() - t0, count


def pipeline(root: Path, axis: str) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    slices = masks = 0
    for item in MsdSource(MsdParams(root=root, axis=axis)).items():  # type: ignore[arg-type]
        if not isinstance(item, SourceItem):
            continue
        sl, _spacing = read_nifti_slice(root / str(item.path), item.meta)
        h, w = sl.pixels.shape
        for ann in item.annotations:
            masks += int(decode_annotation_mask(ann.mask or {}, root, h, w).any())
        slices += 1
    return time.perf_counter() - t0, slices, masks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=6)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--depth", type=int, default=64)
    ap.add_argument("--axis", default="z", choices=["x", "y", "z", "all"])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_dataset(root, args.n, args.size, args.depth)
        pipeline(root, args.axis)  # warm imports and page cache
        t_pipe, n_pipe, n_masks = pipeline(root, args.axis)
        t_bare, n_bare = bare_loop(files)
    per_volume = n_pipe / args.n
    res = {
        "volumes": args.n, "shape": [args.size, args.size, args.depth], "axis": args.axis,
        "pipeline_slices": n_pipe, "pipeline_masks": n_masks, "bare_slices": n_bare,
        "bare_nibabel_slices_per_s": n_bare / t_bare,
        "pipeline_slices_per_s": n_pipe / t_pipe,
        "ratio_pipeline_over_bare": (n_pipe / t_pipe) / (n_bare / t_bare),
        "slices_per_volume": per_volume,
    }
    print(json.dumps(res, indent=1))
    print(f"pipeline/bare throughput ratio: {res['ratio_pipeline_over_bare']:.2f}x "
          f"({res['pipeline_slices_per_s']:.0f} vs {res['bare_nibabel_slices_per_s']:.0f} slices/s)")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
