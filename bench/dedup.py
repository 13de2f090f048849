"""Near-duplicate search benchmark: the banded search (extractors.dedup.near_pairs) vs an all-pairs
numpy popcount over the same 64-bit hashes, in the same process, printed as a ratio; plus the
pre-scan's cost per image against ingest's own decode.

    python bench/dedup.py [--n 20000] [--distance 4] [--scan 64]
    python bench/dedup.py --ray 1000000 [--compare 200000] [--cpus 2]

Hashes: `n` random 64-bit values plus n/10 planted near copies (1..distance bits flipped), so the
answer is known. Baseline: for each hash, XOR with every later hash and popcount (numpy, vectorised
row by row): exact, O(n²). The banded search must find exactly the same pairs. `--scan N` also
times `pipelines.scan.scan` on N generated 256² PNGs against a bare loop of `read_raster` +
`to_uint8` (the decode ingest does anyway): the pre-scan's extra cost per image.

`--ray N`: the plan's pair search above `scan.pairs_ray_above` (pipelines.dedup: a Ray Data bucket join)
on N hashes made the same way, on a local Ray of `--cpus` CPUs: time, pairs, peak RSS of the driver and
of each Ray worker process, and peak object-store use (/dev/shm, where the local store lives); then
both paths on `--compare` hashes (a size the driver path can do), same pairs asserted, time ratio.
`--driver-at-n` also runs the driver path on the N hashes (minutes at 10⁶): the measured ratio at N.
The candidates grow as n² per band (n²/2¹³ at distance 4), in the driver and on Ray alike; the join spreads them.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extractors.dedup import near_pairs

MB = 1024 * 1024


def make_hashes(n: int, d: int, seed: int = 0) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    base = [rng.getrandbits(64) for _ in range(n)]
    out = [(f"h{i:07d}", h) for i, h in enumerate(base)]
    for i in range(n // 10):
        h = base[rng.randrange(n)]
        for bit in rng.sample(range(64), rng.randint(1, d)):
            h ^= 1 << bit
        out.append((f"p{i:07d}", h))
    return out


def popcount64(x: np.ndarray) -> np.ndarray:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


def brute_force(hashes: list[tuple[str, int]], d: int) -> list[tuple[str, str, int]]:
    keys = [k for k, _ in hashes]
    arr = np.array([h for _, h in hashes], dtype=np.uint64)
    out = []
    for i in range(len(arr) - 1):
        dist = popcount64(arr[i] ^ arr[i + 1 :])
        for j in np.nonzero(dist <= d)[0]:
            a, b = keys[i], keys[i + 1 + int(j)]
            out.append((min(a, b), max(a, b), int(dist[j])))
    return sorted(out)


def bench_scan(n: int) -> None:
    import cv2

    from extractors.imaging.intensity import to_uint8
    from extractors.imaging.raster import read_raster
    from pipelines.samples.phantom import chest_phantom
    from pipelines.samples.phantom import to_uint8 as phantom_u8
    from pipelines.scan import scan

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        items = {}
        for i in range(n):
            cv2.imwrite(str(root / f"{i:05d}.png"), phantom_u8(chest_phantom(256, seed=i)))
            items[f"s:{i:05d}"] = {"source": "s", "key": f"{i:05d}", "path": f"{i:05d}.png", "format": "png",
                                   "root": str(root), "meta": {}, "annotations": []}
        scan(dict(list(items.items())[:2]), with_phash=True)  # warm-up: imports (scipy, pandas) are one-off
        t0 = time.perf_counter()
        for i in range(n):
            decoded = read_raster(root / f"{i:05d}.png")
            to_uint8(decoded.pixels, modality=None, window=None, preset=None)
        bare = time.perf_counter() - t0
        t0 = time.perf_counter()
        scan(items, with_phash=True, ray_above=n + 1)
        scanned = time.perf_counter() - t0
    print(f"scan of {n} 256² PNGs in the driver: {n / scanned:.0f} images/s; decode-only loop {n / bare:.0f} "
          f"images/s; the pre-scan costs {scanned / bare:.2f}× a bare decode (content hash + decode + pHash)")


def peak_memory(fn: Any) -> tuple[Any, float, dict[str, float]]:
    """Run fn() while sampling RSS (driver, every Ray worker) and /dev/shm use: (result, s, MiB peaks)."""
    import psutil

    me, peaks, stop = psutil.Process(), {"driver": 0.0, "worker": 0.0, "store": 0.0}, threading.Event()
    shm0 = shutil.disk_usage("/dev/shm").used

    def sample() -> None:
        while not stop.is_set():
            for proc in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if proc.name().startswith("ray::"):
                        peaks["worker"] = max(peaks["worker"], proc.memory_info().rss / MB)
            peaks["driver"] = max(peaks["driver"], me.memory_info().rss / MB)
            peaks["store"] = max(peaks["store"], (shutil.disk_usage("/dev/shm").used - shm0) / MB)
            stop.wait(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t0
    stop.set()
    thread.join()
    return out, elapsed, peaks


def bench_ray(n: int, compare: int, d: int, cpus: int, driver_at_n: bool) -> None:
    import ray
    import ray.data

    from pipelines.dedup import near_pairs_on_ray

    ray.init(num_cpus=cpus, object_store_memory=1024 * MB, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    near_pairs_on_ray(make_hashes(1000, d), d)  # warm-up: worker start and imports are paid once per run
    hashes = make_hashes(n, d)
    pairs, t_ray, peaks = peak_memory(lambda: near_pairs_on_ray(hashes, d))
    print(f"Ray bucket join, {cpus} CPU(s): {len(hashes)} hashes, distance <= {d}: {len(pairs)} pairs in "
          f"{t_ray:.1f} s; peak RSS driver {peaks['driver']:.0f} MiB, per Ray worker {peaks['worker']:.0f} MiB; "
          f"object store (/dev/shm) peak {peaks['store']:.0f} MiB")
    small = make_hashes(compare, d)
    t0 = time.perf_counter()
    on_driver = near_pairs(small, d)
    t_driver = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert near_pairs_on_ray(small, d) == on_driver, "the Ray join must find exactly the driver's pairs"
    t_small = time.perf_counter() - t0
    print(f"at {len(small)} hashes: driver path {t_driver:.1f} s, Ray join {t_small:.1f} s (same {len(on_driver)} "
          f"pairs): join/driver speed {t_driver / t_small:.2f}×")
    if driver_at_n:
        full, t_full, dpeaks = peak_memory(lambda: near_pairs(hashes, d))
        assert full == pairs, "the Ray join must find exactly the driver's pairs"
        print(f"driver path at {len(hashes)} hashes, measured: {t_full:.1f} s, peak RSS {dpeaks['driver']:.0f} MiB "
              f"(same {len(full)} pairs): join/driver speed {t_full / t_ray:.2f}×")
    ray.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--distance", type=int, default=4)
    ap.add_argument("--scan", type=int, default=256)
    ap.add_argument("--ray", type=int, default=0, help="hashes for the Ray bucket-join benchmark (0: skip)")
    ap.add_argument("--compare", type=int, default=200_000, help="hashes for the driver-vs-Ray comparison")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--driver-at-n", action="store_true", help="also time the driver path on all --ray hashes")
    args = ap.parse_args()
    if args.ray:
        bench_ray(args.ray, args.compare, args.distance, args.cpus, args.driver_at_n)
        return
    hashes = make_hashes(args.n, args.distance)
    t0 = time.perf_counter()
    banded = near_pairs(hashes, args.distance)
    t_banded = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = brute_force(hashes, args.distance)
    t_brute = time.perf_counter() - t0
    assert banded == exact, "the banded search must find exactly the all-pairs answer"
    print(f"{len(hashes)} hashes, distance <= {args.distance}: {len(banded)} pairs (same as all-pairs)")
    print(f"banded search {t_banded:.2f} s; all-pairs numpy {t_brute:.2f} s; speed-up {t_brute / t_banded:.1f}×")
    if args.scan:
        bench_scan(args.scan)


if __name__ == "__main__":
    main()
