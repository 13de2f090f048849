"""Ingest benchmark: the pipeline's ingest of N DICOM files vs a bare pydicom decode loop over the
same files, in the same process, printed as a ratio.

    python bench/ingest.py [--n 200] [--size 1024] [--json OUT.json]

Baseline: `pydicom.dcmread(path).pixel_array` for each file, one core, nothing written.
Second baseline: the same per-image work as ingest.decode (LUTs, window, PNG, phash, hashes) in a
plain loop, one core, nothing written — the ratio to it is the cost (or gain) of the pipeline itself.
Pipeline: `medground run` with sources.rsna_pneumonia and stages [ingest.decode] on local Ray
(planning, decoding with modality/VOI LUTs, 8-bit PNG encoding, perceptual hash, Parquet + tar
shards, manifest). The ratio is pipeline images/s over baseline images/s; on 2 cores Ray can win
back its overhead only partly, since it also encodes and writes what the baseline throws away.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import pydicom
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extractors.imaging.dicom import read_dicom
from extractors.imaging.encode import encode_png, phash
from extractors.imaging.intensity import to_uint8
from pipelines.config import load_config
from pipelines.run import run_pipeline
from pipelines.samples.rsna_pneumonia import CASES, write_rsna_sample


def make_dataset(root: Path, n: int, size: int) -> list[Path]:
    """The RSNA sample layout, its cases repeated until it holds at least n DICOMs."""
    repeat = -(-n // len(CASES))
    write_rsna_sample(root, size=size, broken=False, repeat=repeat)
    return sorted((root / "stage_2_train_images").glob("*.dcm"))


def bare_loop(files: list[Path]) -> float:
    t0 = time.perf_counter()
    total = 0
    for f in files:
        total += int(pydicom.dcmread(f).pixel_array.shape[0])
    assert total > 0
    return time.perf_counter() - t0


def same_work_loop(files: list[Path]) -> float:
    """The per-image work ingest.decode does (decode with LUTs, window, PNG, phash, hash), one process."""
    t0 = time.perf_counter()
    for f in files:
        decoded = read_dicom(f)
        u8, _ = to_uint8(decoded.pixels, modality=decoded.modality, window=decoded.window)
        png = encode_png(u8, 1)
        phash(u8)
        hashlib.sha256(png).hexdigest()
        hashlib.sha256(f.read_bytes()).hexdigest()
    return time.perf_counter() - t0


def pipeline(root: Path, out: Path, limit: int | None = None) -> float:
    config = {
        "corpus": "bench",
        "salt": "bench",
        "shard_size": 32,
        "sources": [{"name": "sources.rsna_pneumonia", "params": {"root": str(root), "limit": limit}}],
        "stages": [{"name": "ingest.decode"}],
        "ray": {"shards_per_wave": 64},
    }
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(config))
    cfg = load_config(path)
    t0 = time.perf_counter()
    result = run_pipeline(cfg, out, log=lambda _m: None)
    elapsed = time.perf_counter() - t0
    assert result.complete
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_dataset(root / "data", args.n, args.size)
        ray.init(address="local", include_dashboard=False, log_to_driver=False)
        pipeline(root / "data", root / "out-warm", limit=8)  # warm up Ray workers and imports
        t_pipe = pipeline(root / "data", root / "out")
        t_bare = bare_loop(files)
        t_same = same_work_loop(files)
        ray.shutdown()
    res = {
        "n_files": len(files),
        "size": args.size,
        "bare_pydicom_images_per_s": len(files) / t_bare,
        "same_work_loop_images_per_s": len(files) / t_same,
        "pipeline_images_per_s": len(files) / t_pipe,
        "ratio_pipeline_over_bare": t_bare / t_pipe,
        "ratio_pipeline_over_same_work_loop": t_same / t_pipe,
    }
    print(json.dumps(res, indent=1))
    print(f"pipeline/bare-pydicom throughput ratio: {res['ratio_pipeline_over_bare']:.3f}x "
          f"({res['pipeline_images_per_s']:.1f} vs {res['bare_pydicom_images_per_s']:.1f} images/s)")
    print(f"pipeline/same-work-loop throughput ratio: {res['ratio_pipeline_over_same_work_loop']:.2f}x "
          f"({res['pipeline_images_per_s']:.1f} vs {res['same_work_loop_images_per_s']:.1f} images/s)")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
