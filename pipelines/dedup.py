"""The near-duplicate pair search of the plan: in the driver for small inputs, else a Ray Data bucket join.

Up to `scan.pairs_ray_above` hashes the driver runs `extractors.dedup.near_pairs` (Python, per band
bucket). Above, the same banded search runs on Ray Data, so no process holds more than a block of
band rows and the candidate comparisons spread over the cluster:

    (index, hash) blocks ─explode─▶ one row per band: (band, band value, index, hash)
        ─groupby(band, hash of value → a group of whole buckets)─▶ per group: its buckets compared with
        numpy XOR + popcount (extractors.dedup_bucket)
        ─▶ (a, b, distance) edges, each pair once ─▶ the driver unions them (extractors.dedup)

Hashes are indexed by their sorted keys, so `a < b` by index is `key_a < key_b` and both paths return
the same sorted pairs, hence the same groups. Only the edges come back to the driver: at 10⁶ chest films
a few hundred thousand int64 triples, where the candidates compared are ~10⁸–10⁹.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

from extractors.dedup import groups_from_pairs, near_pairs
from extractors.dedup_bucket import band_pairs, band_values

BLOCK_ROWS = 1 << 16  # hashes per input block (5 bands × 40 B × 65536 ≈ 13 MB of band rows)
GROUP_ROWS = 1 << 16  # about this many band rows per groupby group (many buckets, compared at once)
PARTITION_ROWS = 1 << 21  # at most about this many band rows (≈ 80 MB) per shuffle partition
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads band values over the groups


def groups_per_band(n: int, group_rows: int = GROUP_ROWS) -> int:
    """A power of two: enough groups per band that each holds about `group_rows` rows."""
    return 1 << max(0, (max(1, -(-n // group_rows)) - 1).bit_length())


def explode_bands(batch: dict[str, np.ndarray], max_distance: int, per_band: int) -> dict[str, np.ndarray]:
    """Ray Data map: (idx, h) → one row per band: (part, band, value, idx, h). `part` (the groupby key)
    is the band and a hash of the band value into `per_band` groups, so a group holds whole buckets;
    `value` is an int64 view (a 64-bit band at max_distance 0 does not fit int64; only equality counts)."""
    idx, h = np.asarray(batch["idx"], dtype=np.int64), np.asarray(batch["h"], dtype=np.uint64)
    values = band_values(h, max_distance)
    band = np.repeat(np.arange(len(values), dtype=np.int64), len(h))
    value = np.concatenate(values)
    bits = np.uint64(per_band.bit_length() - 1)
    slot = ((value * _MIX) >> (np.uint64(64) - bits)).astype(np.int64) if bits else np.zeros(len(value), np.int64)
    return {"part": band * per_band + slot, "band": band, "value": value.view(np.int64),
            "idx": np.tile(idx, len(values)), "h": np.tile(h, len(values))}


def pairs_of_group(group: dict[str, np.ndarray], max_distance: int) -> dict[str, np.ndarray]:
    """Ray Data map_groups: one group's band rows (one band, whole buckets) → (a, b, d) edges, each pair
    only from the first band it shares."""
    band = int(group["band"][0]) if len(group["band"]) else 0
    a, b, d = band_pairs(group["value"], group["idx"], group["h"], band, max_distance)
    return {"a": a, "b": b, "d": d}


def pair_edges_on_ray(h: np.ndarray, max_distance: int, block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """(n_pairs, 3) int64 array of (a, b, distance), sorted, for uint64 hashes `h` indexed 0..n-1."""
    import ray
    import ray.data
    from ray.data.context import ShuffleStrategy

    from pipelines.ray_session import ensure_ray

    ensure_ray()
    per_band = groups_per_band(len(h))
    n_groups, rows = per_band * (max_distance + 1), len(h) * (max_distance + 1)
    cpus = int(ray.cluster_resources().get("CPU", 1)) if ray.is_initialized() else 1
    table = pa.table({"idx": pa.array(np.arange(len(h), dtype=np.int64)), "h": pa.array(h, type=pa.uint64())})
    blocks = [table.slice(i, block_rows) for i in range(0, table.num_rows, block_rows)]
    ctx = ray.data.DataContext.get_current()
    strategy = ctx.shuffle_strategy
    # the sort shuffle: tasks only; the default hash shuffle starts aggregator actors per dataset, seconds
    # more at every size (measured: 2·10³ hashes 0.2 s vs 3.5–5.9 s; 2·10⁵ 4.8–5.6 s vs 7.5–11.9 s, 2 CPUs)
    ctx.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    try:
        ds = (
            ray.data.from_arrow(blocks)
            .map_batches(explode_bands, fn_kwargs={"max_distance": max_distance, "per_band": per_band},
                         batch_format="numpy", batch_size=None)
            .groupby("part", num_partitions=max(1, min(n_groups, max(2 * cpus, -(-rows // PARTITION_ROWS)))))
            .map_groups(pairs_of_group, fn_kwargs={"max_distance": max_distance}, batch_format="numpy")
        )
        parts = [np.stack([np.asarray(batch[c], dtype=np.int64) for c in ("a", "b", "d")], axis=1)
                 for batch in ds.iter_batches(batch_format="numpy", batch_size=None) if len(batch["a"])]
    finally:
        ctx.shuffle_strategy = strategy
    edges = np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.int64)
    return edges[np.lexsort((edges[:, 1], edges[:, 0]))]


def near_pairs_on_ray(hashes: Sequence[tuple[str, int]], max_distance: int) -> list[tuple[str, str, int]]:
    """`extractors.dedup.near_pairs`, answered by the Ray Data bucket join (same pairs, same order)."""
    ordered = sorted(hashes)
    keys = [k for k, _ in ordered]
    if len(set(keys)) != len(keys):
        raise ValueError("near_pairs_on_ray: hash keys must be unique")
    h = np.fromiter((v for _, v in ordered), dtype=np.uint64, count=len(ordered))
    edges = pair_edges_on_ray(h, max_distance)
    return [(keys[a], keys[b], int(d)) for a, b, d in edges.tolist()]


def near_duplicate_groups(
    hashes: Sequence[tuple[str, int]], max_distance: int, same_scope: dict[str, str] | None = None,
    *, ray_above: int | None = None, log: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """`extractors.dedup.duplicate_groups`, with the pair search on Ray above `ray_above` hashes
    (None: always in the driver)."""
    on_ray = ray_above is not None and len(hashes) > ray_above
    pairs = near_pairs_on_ray(hashes, max_distance) if on_ray else near_pairs(hashes, max_distance)
    if log and on_ray:
        log(f"near duplicates: {len(hashes)} pHash(es) above scan.pairs_ray_above={ray_above}: {len(pairs)} "
            f"pair(s) within {max_distance} bit(s) from a Ray Data bucket join")
    return groups_from_pairs(pairs, same_scope)
