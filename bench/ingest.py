"""Ingest benchmark: the pipeline vs one core running the same work in a plain loop, in the same
process, printed as ratios (repeat them: on a shared machine the timings are noisy).

    python bench/ingest.py [--n 200] [--size 1024] [--modes ingest,chain,scan] [--repeat 3] [--json OUT.json]

Modes (each: a warm-up run, then `repeat` loop/pipeline pairs):
- ingest: `medground run` with sources.rsna_pneumonia and stages [ingest.decode], pre-scan off, vs the
  per-image work of ingest.decode (LUTs, window, PNG, phash, hashes) in a loop pinned to one core, nothing
  written.
- chain: the demo's chain (ingest, labels, ontology, classical masks, grounding) vs those stages'
  `process_rows` over the plan's rows in this process, one core, nothing written.
- scan: ingest with the pre-scan on (content hash + a decode for the pHash per file), vs the ingest
  loop plus the same scan work.
The pipeline plans, writes Parquet + tar shards and a manifest besides, which the loops do not.
For ingest, the same-work loop is also run split over one plain process per Ray CPU (no Ray): the
ratio the cores themselves allow, so pipeline/pool is what Ray and medground cost. Every mode also
runs medground's own chain (stages, records, writer: `chain_task` per plan shard) on one core without
Ray: pipeline/that is the parallel efficiency of the same program (x2 = perfect). Also printed: a
bare `pydicom.dcmread(path).pixel_array` loop, per-stage busy seconds, peak RSS per Ray worker and of
the driver, and peak object-store use (bench/measure.py).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa

from bench.measure import sampled
from extractors.imaging.dicom import read_dicom
from extractors.imaging.encode import encode_png, phash
from extractors.imaging.intensity import to_uint8
from pipelines.chain import Step, chain_task, changed_columns, normalize
from pipelines.config import PipelineConfig, parse_config
from pipelines.plan import build_plan, full_row
from pipelines.run import run_pipeline
from pipelines.samples.rsna_pneumonia import CASES, write_rsna_sample
from pipelines.stage import RunContext
from pipelines.waves import stage_labels
from schemas.tables import SAMPLE_SCHEMA


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


CHAIN = [{"name": "ingest.decode"}, {"name": "labels.dataset"}, {"name": "ontology.normalize"},
         {"name": "masks.classical", "params": {"method": "grabcut"}}, {"name": "ground.link"},
         {"name": "ground.templates"}]  # the demo's chain (pipelines/configs/demo.yaml)


def bench_config(root: Path, mode: str, limit: int | None = None) -> dict[str, Any]:
    return {
        "corpus": "bench",
        "salt": "bench",
        "shard_size": 32,
        "sources": [{"name": "sources.rsna_pneumonia", "params": {"root": str(root), "limit": limit}}],
        "stages": CHAIN if mode == "chain" else [{"name": "ingest.decode"}],
        "scan": {"enabled": mode == "scan"},  # ingest/chain: the loop's work exactly; scan: + the pre-scan
        "ray": {"shards_per_wave": 64},
    }


@contextlib.contextmanager
def one_core() -> Iterator[None]:
    """The loop on one core: this process pinned to one CPU (OpenCV's or BLAS's own threads cannot use
    another), then unpinned."""
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, cpus)


def pool_loop(files: list[Path], procs: int) -> float:
    """The same-work loop split over `procs` plain processes (no Ray): what the machine's cores give the
    same work at best (shared caches, memory bandwidth, other load); the pipeline's ratio against this
    is the part Ray and medground cost. Each worker process is started (and warm) before the clock."""
    import multiprocessing as mp

    parts = [files[i::procs] for i in range(procs)]
    with mp.get_context("fork").Pool(procs) as pool:
        pool.map(same_work_loop, [p[:2] for p in parts])  # warm: imports, first decode
        t0 = time.perf_counter()
        pool.map(same_work_loop, parts)
        return time.perf_counter() - t0


def planned(root: Path, mode: str) -> tuple[PipelineConfig, list[tuple[str, list[dict[str, Any]]]], RunContext]:
    """The mode's config, its plan's shards (name, rows) in name order and the run context, as a run has."""
    cfg = parse_config(bench_config(root, mode))
    shards = sorted((k, [full_row(r) for r in v]) for k, v in build_plan(cfg, "bench").shards.items())
    return cfg, shards, RunContext(salt="bench", run_id=cfg.fingerprint())


def chain_loop(root: Path) -> tuple[float, int]:
    """The demo chain's stages over the plan's rows in this process, one core, nothing written."""
    cfg, shards, ctx = planned(root, "chain")
    rows = [r for _, shard in shards for r in shard]
    stages = [st.cls(st.params, ctx) for st in cfg.stages]
    t0 = time.perf_counter()
    for i in range(0, len(rows), 8):
        part = rows[i : i + 8]
        for stage in stages:
            part = stage.process_rows(part)
            normalize(part, changed_columns(type(stage)))
    return time.perf_counter() - t0, len(rows)


def own_loop(root: Path, mode: str, out: Path) -> tuple[float, int]:
    """medground itself without Ray: every shard of the plan through `chain_task` (stages, records,
    de-identification, Parquet + tar writer) in this process, one core. pipeline/this is the parallel
    efficiency of the distributed run proper (the same program on 1 vs 2 CPUs); planning not timed."""
    cfg, shards, ctx = planned(root, mode)
    steps = [Step(st.cls, st.params, label) for st, label in zip(cfg.stages, stage_labels(cfg), strict=True)]
    tables = [(name, pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)) for name, rows in shards]
    t0 = time.perf_counter()
    for name, table in tables:
        chain_task(table, steps, ctx, 64, str(out), {name: table.num_rows})
    return time.perf_counter() - t0, sum(t.num_rows for _, t in tables)


def scan_loop(files: list[Path]) -> float:
    """What the pre-scan adds per file: its content hash, and a decode + render for the pHash."""
    t0 = time.perf_counter()
    for f in files:
        hashlib.sha256(f.read_bytes()).hexdigest()
        decoded = read_dicom(f)
        u8, _ = to_uint8(decoded.pixels, modality=decoded.modality, window=decoded.window)
        phash(u8)
    return time.perf_counter() - t0


def pipeline(root: Path, out: Path, mode: str, limit: int | None = None) -> tuple[float, dict[str, Any]]:
    cfg = parse_config(bench_config(root, mode, limit))
    t0 = time.perf_counter()
    result, mem = sampled(run_pipeline, cfg, out, log=lambda _m: None)
    elapsed = time.perf_counter() - t0
    assert result.complete
    return elapsed, {"summary": result.summary, **mem}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--modes", default="ingest,chain", help="comma-separated: ingest, chain, scan")
    ap.add_argument("--repeat", type=int, default=1, help="loop/pipeline pairs per mode (noisy machines)")
    ap.add_argument("--cpus", type=int, default=None, help="Ray CPUs (default: all)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    import ray

    res: dict[str, Any] = {"size": args.size, "modes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_dataset(root / "data", args.n, args.size)
        res["n_files"] = len(files)
        ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        res["ray_cpus"] = ray.cluster_resources().get("CPU")
        res["bare_pydicom_images_per_s"] = len(files) / bare_loop(files)
        for mode in args.modes.split(","):
            # warm up every worker's imports: one shard (32 images) per Ray CPU at least, twice over
            pipeline(root / "data", root / f"out-warm-{mode}", mode, limit=64 * int(res["ray_cpus"]))
            runs = []
            for k in range(args.repeat):
                with one_core():
                    if mode == "chain":
                        t_loop, n = chain_loop(root / "data")
                    else:
                        t_loop, n = same_work_loop(files), len(files)
                        if mode == "scan":
                            t_loop += scan_loop(files)
                    t_own, n_own = own_loop(root / "data", mode, root / f"own-{mode}-{k}")
                t_pipe, info = pipeline(root / "data", root / f"out-{mode}-{k}", mode)
                extra = {"own_loop_images_per_s": round(n_own / t_own, 2), "efficiency_ratio": round(t_own / t_pipe, 3)}
                if mode == "ingest":  # the same work on plain processes, one per Ray CPU: the cores' ceiling
                    t_pool = pool_loop(files, int(res["ray_cpus"]))
                    extra.update({"pool_images_per_s": round(n / t_pool, 2), "pool_ratio": round(t_loop / t_pool, 3)})
                runs.append({"loop_images_per_s": round(n / t_loop, 2), "pipeline_images_per_s": round(n / t_pipe, 2),
                             "ratio": round(t_loop / t_pipe, 3), "pipeline_s": round(t_pipe, 2), **extra, **info})
                ceiling = (f" (a {int(res['ray_cpus'])}-process pool without Ray: {extra['pool_ratio']:.2f}x)"
                           if "pool_ratio" in extra else "")
                ceiling += f"; vs medground's own chain on one core without Ray: {extra['efficiency_ratio']:.2f}x"
                print(f"{mode} #{k}: pipeline {n / t_pipe:.1f} images/s vs one-core loop {n / t_loop:.1f} images/s "
                      f"= {t_loop / t_pipe:.2f}x{ceiling}; peak RSS per worker {info['peak_rss_per_worker_mb']} MB "
                      f"({info['worker_processes']} processes), driver {info['peak_rss_driver_mb']} MB, "
                      f"object store {info['peak_object_store_mb']} MB", flush=True)
                print("  busy s per stage: " + ", ".join(f"{st['stage']} {st['busy_s']}"
                                                         for st in info["summary"]["stages"]), flush=True)
            ratios = sorted(r["ratio"] for r in runs)
            res["modes"][mode] = {"runs": runs, "median_ratio": ratios[len(ratios) // 2]}
        ray.shutdown()
    for mode, m in res["modes"].items():
        print(f"{mode}: pipeline/one-core-loop ratio median {m['median_ratio']:.2f}x over {len(m['runs'])} run(s) "
              f"({', '.join(str(r['ratio']) for r in m['runs'])}); pipeline/own-chain-one-core "
              f"({', '.join(str(r['efficiency_ratio']) for r in m['runs'])})")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
