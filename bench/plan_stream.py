"""Driver memory of a big plan: held in memory (as before) vs streamed from `_progress/plan/` a wave
at a time. A synthetic plan of N SAMPLE rows (no pixels; an item JSON like an RSNA item's) is cut into
shards and written with `write_plan_store`; then, in a fresh process, every wave is read back from it
as the wave loop does. Printed: RSS of the process holding the whole plan, and peak RSS of the process
streaming it (what the driver holds during the waves). Then, in a third process, the real planning
path: `build_plan` over a synthetic registered source of N items (no files; pre-scan off) and
`write_plan_store`, as `run_pipeline` does before the first wave: its peak RSS and time per item.

    python bench/plan_stream.py [--items 1000000] [--shard-size 256] [--shards-per-wave 8]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.plan import cut_shards, sample_row
from pipelines.plan_store import PLAN_DIR, PlanStore, write_plan_store
from pipelines.writers.shard import PROGRESS_DIR

MB = 1024 * 1024


def synthetic_item(i: int) -> dict[str, object]:
    return {"source": "synthetic", "key": f"{i:09d}.dcm", "input_ref": f"{i:09d}.dcm", "path": f"images/{i:09d}.dcm",
            "root": "/data/synthetic", "format": "dicom", "patient": f"p{i // 3:08d}", "split": None,
            "labels": [{"ref": f"{i:09d}.dcm#0", "label": "Lung Opacity"}], "annotations": [], "errors": [],
            "report": None, "meta": {"view": "PA"}, "modality": "CR", "dup_group": None}


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / MB


def write(out: Path, n: int, shard_size: int) -> None:
    base = rss_mb()
    t0 = time.perf_counter()
    rows = [sample_row(synthetic_item(i), ("train", "val", "test")[i % 10 // 8]) for i in range(n)]
    shards = cut_shards(rows, shard_size)
    held = rss_mb()
    t_plan = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = write_plan_store(out, shards)
    t_write = time.perf_counter() - t0
    shards.clear()
    del rows
    gc.collect()
    print(json.dumps({"items": n, "shards": len(store.counts), "rss_start_mb": round(base, 1),
                      "rss_holding_plan_mb": round(held, 1), "rss_after_release_mb": round(rss_mb(), 1),
                      "plan_s": round(t_plan, 1), "write_store_s": round(t_write, 1)}))


def stream(out: Path, per_wave: int) -> None:
    """What the wave loop holds: the store's index, then one wave of Arrow tables at a time."""
    import pyarrow.parquet as pq

    base = rss_mb()
    root = out / PROGRESS_DIR / PLAN_DIR
    where, counts = {}, {}
    for f in sorted(root.glob("part-*.parquet")):
        meta = pq.ParquetFile(f).metadata
        for g in range(meta.num_row_groups):
            name = f"{f.name}:{g}"
            where[name], counts[name] = (f.name, g), meta.row_group(g).num_rows
    store = PlanStore(root, where, counts)
    names = list(counts)
    t0 = time.perf_counter()
    rows = 0
    for i in range(0, len(names), per_wave):
        tables = store.read(names[i : i + per_wave])
        rows += sum(t.num_rows for t in tables)
        del tables
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows_streamed": rows, "waves": -(-len(names) // per_wave), "rss_start_mb": round(base, 1),
                      "peak_rss_streaming_mb": round(peak, 1), "stream_s": round(time.perf_counter() - t0, 1)}))


def build(out: Path, n: int, shard_size: int) -> None:
    """The planning the driver does before the first wave, on N synthetic items: peak RSS and time."""
    from collections.abc import Iterator

    from pipelines.config import parse_config
    from pipelines.plan import build_plan
    from pipelines.registry import register_source
    from pipelines.sources.base import Label, Source, SourceItem, SourceLoss

    @register_source
    class SyntheticSource(Source):
        name = "sources.bench_synthetic"
        title = "synthetic items (bench/plan_stream.py)"
        license = "none (generated)"
        citation = ""

        def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
            for i in range(n):
                key = f"{i:09d}.dcm"
                yield SourceItem(source=self.name, key=key, input_ref=key, path=f"images/{key}", format="dicom",
                                 root=str(self.root), patient=f"p{i // 3:08d}", modality="CR", view="PA",
                                 labels=[Label("Lung Opacity", f"labels.csv:{i + 2}")], meta={"view": "PA"})

    cfg = parse_config({"corpus": "bench", "salt": "bench", "shard_size": shard_size, "scan": {"enabled": False},
                        "sources": [{"name": SyntheticSource.name, "params": {"root": str(out)}}],
                        "stages": [{"name": "ingest.decode"}]})
    base = rss_mb()
    t0 = time.perf_counter()
    plan = build_plan(cfg, "bench")
    t_plan = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_plan_store(out, plan.shards)
    t_write = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"items": plan.n_samples, "shards": len(plan.shards), "rss_start_mb": round(base, 1),
                      "peak_rss_planning_mb": round(peak, 1), "plan_s": round(t_plan, 1),
                      "write_store_s": round(t_write, 1), "us_per_item": round((t_plan + t_write) / n * 1e6, 1)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--shard-size", type=int, default=256)
    ap.add_argument("--shards-per-wave", type=int, default=8)
    ap.add_argument("--phase", choices=["write", "stream", "build"], help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase == "write":
        return write(args.out, args.items, args.shard_size)
    if args.phase == "stream":
        return stream(args.out, args.shards_per_wave)
    if args.phase == "build":
        return build(args.out, args.items, args.shard_size)
    with tempfile.TemporaryDirectory() as tmp:
        for phase in ("write", "stream", "build"):
            cmd = [sys.executable, __file__, "--phase", phase, "--out", tmp, "--items", str(args.items),
                   "--shard-size", str(args.shard_size), "--shards-per-wave", str(args.shards_per_wave)]
            print(phase + ": " + subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip())
    return None


if __name__ == "__main__":
    main()
