"""Scale benchmark: the demo corpus scaled up, through a local Ray with 1 and then 2 CPUs.

    python bench/scale.py --repeat 4 [--cpus 1,2] [--shard-size 32] [--shards-per-wave 8] [--two-node] [--keep DIR]

The RSNA sample is written `repeat` times (distinct images), with the NIH sample once beside it (NIH keys
are file names, so a copy would be a duplicate, not more work), in shards of `--shard-size`. For each
CPU count: a fresh local Ray, a tiny run of the same chain (8 images) that starts the workers, the tiny
run again (its wall time is the fixed start-up every run pays, reported as a fraction of the full run),
then one `run_pipeline` into a fresh output, timed; meanwhile a sampler reads
the RSS of every process under the raylet (the Ray workers) and of the driver, and the object store's use,
every 0.5 s. `--two-node`: the same on a 2-node cluster of two `ray start` processes (1 CPU each).
Printed: images/s, images/s per worker CPU, the scaling ratio, peak RSS per worker process, the peak
total and object-store use; then one JSON summary line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import sampled
from pipelines.config import load_config
from pipelines.run import run_pipeline
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.samples.rsna_pneumonia import write_rsna_sample

MB = 1024 * 1024
RAY = str(Path(sys.executable).with_name("ray"))


def write_corpus_inputs(root: Path, repeat: int, shard_size: int, shards_per_wave: int) -> Path:
    write_nih_sample(root / "nih_cxr14")
    write_rsna_sample(root / "rsna_pneumonia", repeat=repeat)
    config = root / "demo.yaml"
    demo = yaml.safe_load(files("pipelines.configs").joinpath("demo.yaml").read_text())
    demo["shard_size"] = shard_size  # the demo's 4 is for tests; a corpus has hundreds per shard
    demo["ray"]["shards_per_wave"] = shards_per_wave
    text = yaml.safe_dump(demo)
    config.write_text(text)
    tiny = yaml.safe_load(text)  # the start-up probe: the same chain over 8 images
    for src in tiny["sources"]:
        src["params"]["limit"] = 4
    config.with_name("tiny.yaml").write_text(yaml.safe_dump(tiny))
    return config


def timed_run(config: Path, out: Path, address: str | None = None) -> tuple[Any, float, dict[str, Any]]:
    """One `run_pipeline`, timed, with the RSS / object-store sampler going."""
    t0 = time.perf_counter()
    result, mem = sampled(run_pipeline, load_config(config), out, address=address, log=lambda _m: None)
    return result, time.perf_counter() - t0, mem


def run_with(cpus: int, config: Path, out: Path, address: str | None = None) -> dict[str, Any]:
    """A fresh Ray (local with `cpus`, or the cluster at `address`): a tiny run (8 images) that starts the
    workers and their imports (once per Ray session), the same tiny run again (its wall time is the fixed
    start-up every run pays: planning, the first wave, the manifest), then the full corpus, timed."""
    import ray
    import ray.data

    if address:
        ray.init(address=address, log_to_driver=False, runtime_env={"env_vars": {"PYTHONHASHSEED": "0"}})
    else:
        ray.init(address="local", num_cpus=cpus, object_store_memory=512 * MB, include_dashboard=False,
                 log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONHASHSEED": "0"}})
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        tiny = config.with_name("tiny.yaml")
        _, t_session, _ = timed_run(tiny, out.with_name(out.name + "-warm"), address)  # workers start, import
        _, t_start, _ = timed_run(tiny, out.with_name(out.name + "-tiny"), address)  # what every run pays
        result, wall, mem = timed_run(config, out, address)
        nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    finally:
        ray.shutdown()
    manifest = result.manifest or {}
    samples = sum(v.get("image", 0) for v in (result.inputs or {}).values())
    return {
        "cpus": cpus,
        "nodes": nodes,
        "complete": result.complete,
        "images_in": samples,
        "images_written": manifest.get("rows", {}).get("images"),
        "wall_s": round(wall, 2),
        "session_startup_s": round(t_session, 2),
        "startup_s": round(t_start, 2),
        "startup_fraction": round(t_start / wall, 3),
        "images_per_s": round(samples / wall, 2),
        "images_per_s_per_cpu": round(samples / wall / cpus, 2),
        **mem,
    }


def two_node_cluster(config: Path, out: Path) -> dict[str, Any]:
    """Two `ray start --block` processes on this machine (a head and a worker, 1 CPU each), the run
    connected to them; both are ended by their own process group (never `ray stop`: other Rays may run)."""
    import os
    import signal
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"127.0.0.1:{port}"
    start = [RAY, "start", "--block", "--num-cpus", "1", "--object-store-memory", str(256 * MB),
             "--disable-usage-stats"]
    procs = []
    try:
        procs.append(subprocess.Popen([*start, "--head", "--port", str(port), "--include-dashboard", "false"],
                                      start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(port)
        procs.append(subprocess.Popen([*start, "--address", address], start_new_session=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(5)  # the worker node registers
        return run_with(2, config, out, address=address)
    finally:
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        current = Path("/tmp/ray/ray_current_cluster")  # `ray start` leaves its address for later ray.init()s
        with contextlib.suppress(OSError):
            if current.read_text().strip().endswith(f":{port}"):
                current.unlink()


def wait_port(port: int, timeout_s: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"no Ray head on port {port}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=4, help="times the RSNA sample is written")
    ap.add_argument("--shard-size", type=int, default=32, help="images per shard (the demo config has 4)")
    ap.add_argument("--shards-per-wave", type=int, default=8)
    ap.add_argument("--cpus", default="1,2", help="comma-separated Ray CPU counts to run with")
    ap.add_argument("--two-node", action="store_true", help="also run on a 2-node local cluster (ray start x2)")
    ap.add_argument("--keep", type=Path, default=None, help="keep inputs and outputs in this folder")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="medground-scale-"))
    try:
        config = write_corpus_inputs(root / "inputs", args.repeat, args.shard_size, args.shards_per_wave)
        runs = []
        for cpus in (int(c) for c in args.cpus.split(",")):
            r = run_with(cpus, config, root / f"out-{cpus}cpu")
            runs.append(r)
            print(f"{cpus} CPU: {r['images_in']} images in {r['wall_s']} s = {r['images_per_s']} img/s "
                  f"({r['images_per_s_per_cpu']} per CPU); peak RSS per worker {r['peak_rss_per_worker_mb']} MB "
                  f"over {r['worker_processes']} worker processes, driver {r['peak_rss_driver_mb']} MB, "
                  f"total {r['peak_rss_total_mb']} MB, object store {r['peak_object_store_mb']} MB; "
                  f"start-up per run {r['startup_s']} s = {r['startup_fraction']:.1%} of the run (once per Ray "
                  f"session: {r['session_startup_s']} s)", flush=True)
        summary: dict[str, Any] = {"repeat": args.repeat, "shard_size": args.shard_size,
                                   "shards_per_wave": args.shards_per_wave, "runs": runs}
        if args.two_node:
            r = two_node_cluster(config, root / "out-2node")
            summary["two_node"] = r
            print(f"2 nodes x 1 CPU (ray start x2): {r['images_in']} images in {r['wall_s']} s = "
                  f"{r['images_per_s']} img/s; start-up {r['startup_s']} s; peak RSS per worker "
                  f"{r['peak_rss_per_worker_mb']} MB (local processes under this driver only)", flush=True)
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
