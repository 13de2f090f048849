"""Scale benchmark: the demo corpus scaled up, through a local Ray with 1 and then 2 CPUs.

    python bench/scale.py --repeat 4 [--cpus 1,2] [--keep DIR]

The RSNA sample is written `repeat` times (distinct images), with the NIH sample once beside it (NIH keys
are file names, so a copy would be a duplicate, not more work). For each CPU count: a fresh local Ray,
one `run_pipeline` into a fresh output, timed; meanwhile a sampler thread reads the RSS of every process
under the raylet (the Ray workers) and of the driver every 0.2 s and keeps each pid's peak. Printed: images/s,
images/s per worker CPU, the scaling ratio, peak RSS per worker process and the peak total; then one JSON
summary line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.config import load_config
from pipelines.run import run_pipeline
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.samples.rsna_pneumonia import write_rsna_sample

MB = 1024 * 1024


class RssSampler(threading.Thread):
    """Peak RSS per pid of the raylet's descendants (Ray workers) and of this driver process."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak: dict[int, tuple[str, int]] = {}
        self.peak_total = 0
        self.stop = threading.Event()
        self.me = psutil.Process()

    def workers(self) -> list[psutil.Process]:
        out = []
        for raylet in (p for p in self.me.children(recursive=True) if p.name() == "raylet"):
            out.extend(raylet.children(recursive=True))
        return out

    def run(self) -> None:
        while not self.stop.is_set():
            total = 0
            for proc in [self.me, *self.workers()]:
                try:
                    rss = proc.memory_info().rss
                    name = "driver" if proc.pid == self.me.pid else proc.name()
                except psutil.Error:
                    continue
                total += rss
                if rss > self.peak.get(proc.pid, ("", 0))[1]:
                    self.peak[proc.pid] = (name, rss)
            self.peak_total = max(self.peak_total, total)
            self.stop.wait(self.interval)


def write_corpus_inputs(root: Path, repeat: int) -> Path:
    write_nih_sample(root / "nih_cxr14")
    write_rsna_sample(root / "rsna_pneumonia", repeat=repeat)
    config = root / "demo.yaml"
    config.write_text(files("pipelines.configs").joinpath("demo.yaml").read_text())
    return config


def run_with(cpus: int, config: Path, out: Path) -> dict[str, Any]:
    import ray
    import ray.data

    ray.init(num_cpus=cpus, object_store_memory=512 * MB, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONHASHSEED": "0"}})
    ray.data.DataContext.get_current().enable_progress_bars = False
    sampler = RssSampler()
    sampler.start()
    try:
        cfg = load_config(config)
        t0 = time.perf_counter()
        result = run_pipeline(cfg, out, log=lambda _m: None)
        wall = time.perf_counter() - t0
    finally:
        sampler.stop.set()
        sampler.join()
        ray.shutdown()
    manifest = result.manifest or {}
    samples = sum(v.get("image", 0) for v in (result.inputs or {}).values())
    workers = {pid: rss for pid, (name, rss) in sampler.peak.items() if name != "driver"}
    driver = max((rss for name, rss in sampler.peak.values() if name == "driver"), default=0)
    return {
        "cpus": cpus,
        "complete": result.complete,
        "images_in": samples,
        "images_written": manifest.get("rows", {}).get("images"),
        "wall_s": round(wall, 2),
        "images_per_s": round(samples / wall, 2),
        "images_per_s_per_cpu": round(samples / wall / cpus, 2),
        "worker_processes": len(workers),
        "peak_rss_per_worker_mb": round(max(workers.values(), default=0) / MB, 1),
        "peak_rss_workers_mb": sorted((round(v / MB, 1) for v in workers.values()), reverse=True),
        "peak_rss_driver_mb": round(driver / MB, 1),
        "peak_rss_total_mb": round(sampler.peak_total / MB, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=4, help="times the RSNA sample is written")
    ap.add_argument("--cpus", default="1,2", help="comma-separated Ray CPU counts to run with")
    ap.add_argument("--keep", type=Path, default=None, help="keep inputs and outputs in this folder")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="medground-scale-"))
    try:
        config = write_corpus_inputs(root / "inputs", args.repeat)
        runs = []
        for cpus in (int(c) for c in args.cpus.split(",")):
            r = run_with(cpus, config, root / f"out-{cpus}cpu")
            runs.append(r)
            print(f"{cpus} CPU: {r['images_in']} images in {r['wall_s']} s = {r['images_per_s']} img/s "
                  f"({r['images_per_s_per_cpu']} per CPU); peak RSS per worker {r['peak_rss_per_worker_mb']} MB "
                  f"over {r['worker_processes']} worker processes, driver {r['peak_rss_driver_mb']} MB, "
                  f"total {r['peak_rss_total_mb']} MB", flush=True)
        summary: dict[str, Any] = {"repeat": args.repeat, "runs": runs}
        if len(runs) >= 2:
            summary["scaling_ratio"] = round(runs[-1]["images_per_s"] / runs[0]["images_per_s"], 2)
            summary["scaling_efficiency"] = round(summary["scaling_ratio"] * runs[0]["cpus"] / runs[-1]["cpus"], 2)
            print(f"scaling {runs[0]['cpus']} → {runs[-1]['cpus']} CPUs: x{summary['scaling_ratio']} "
                  f"(efficiency {summary['scaling_efficiency']})")
        print(json.dumps(summary, sort_keys=True))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
