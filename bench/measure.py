"""What the benchmarks sample while a run goes: peak RSS per Ray worker process and of the driver, and
the peak object-store use (cluster total minus available `object_store_memory`)."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import psutil

MB = 1024 * 1024
STORE_EVERY = 2  # object-store use every 2nd sample (1 s at the default interval)


class RssSampler(threading.Thread):
    """Peak RSS per pid of the raylet's descendants (Ray workers) and of this driver process every
    `interval` seconds, and the peak object-store bytes in use every `STORE_EVERY` samples."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak: dict[int, tuple[str, int]] = {}
        self.peak_total = 0
        self.peak_store = 0
        self.stop = threading.Event()
        self.me = psutil.Process()

    def workers(self) -> list[psutil.Process]:
        out = []
        for proc in self.me.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a worker that ended between the listing and now
                if proc.name() == "raylet":
                    out.extend(proc.children(recursive=True))
        return out

    def store_used(self) -> int:
        import ray

        if not ray.is_initialized():
            return 0
        total = ray.cluster_resources().get("object_store_memory", 0)
        return int(total - ray.available_resources().get("object_store_memory", total))

    def run(self) -> None:
        tick = 0
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
            if tick % STORE_EVERY == 0:  # two GCS calls (sampling all at 0.2 s cost ~3.6% of a core)
                with contextlib.suppress(Exception):  # a sample missed while Ray starts or stops
                    self.peak_store = max(self.peak_store, self.store_used())
            tick += 1
            self.stop.wait(self.interval)

    def report(self) -> dict[str, Any]:
        workers = {pid: rss for pid, (name, rss) in self.peak.items() if name != "driver"}
        driver = max((rss for name, rss in self.peak.values() if name == "driver"), default=0)
        return {
            "worker_processes": len(workers),
            "peak_rss_per_worker_mb": round(max(workers.values(), default=0) / MB, 1),
            "peak_rss_workers_mb": sorted((round(v / MB, 1) for v in workers.values()), reverse=True),
            "peak_rss_driver_mb": round(driver / MB, 1),
            "peak_rss_total_mb": round(self.peak_total / MB, 1),
            "peak_object_store_mb": round(self.peak_store / MB, 1),
        }


def sampled(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """Run `fn` with an RssSampler going; (its result, the sampler's report)."""
    sampler = RssSampler()
    sampler.start()
    try:
        out = fn(*args, **kwargs)
    finally:
        sampler.stop.set()
        sampler.join()
    return out, sampler.report()
