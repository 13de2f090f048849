"""The vectorised bucket search (extractors.dedup_bucket) against the pure-Python banded search."""

from __future__ import annotations

import random

import numpy as np
import pytest

from extractors.dedup import hamming, near_pairs
from extractors.dedup_bucket import band_pairs, band_values, bucket_pairs, popcount64


def hashes_with_copies(n: int, d: int, seed: int, cluster: int = 0) -> list[tuple[str, int]]:
    """Random hashes, near copies at 0..d+2 bits, exact repeats, and `cluster` hashes that share their
    low 16 bits (one big bucket in band 0, as real chest films crowd some buckets)."""
    rng = random.Random(seed)
    base = [rng.getrandbits(64) for _ in range(n)]
    out = [(f"r{i:05d}", h) for i, h in enumerate(base)]
    for i in range(n // 2):
        h = base[rng.randrange(n)]
        for bit in rng.sample(range(64), rng.randint(0, d + 2)):
            h ^= 1 << bit
        out.append((f"c{i:05d}", h))
    low = rng.getrandbits(16)
    for i in range(cluster):
        h = (rng.getrandbits(48) << 16) | low
        if i % 7 == 0:  # a near copy inside the cluster (bits above the shared 16)
            h = out[-1][1]
            for bit in rng.sample(range(16, 64), rng.randint(0, d)):
                h ^= 1 << bit
        out.append((f"k{i:05d}", h))
    return out


def search(hashes: list[tuple[str, int]], d: int, small: int) -> list[tuple[str, str, int]]:
    ordered = sorted(hashes)
    h = np.array([v for _, v in ordered], dtype=np.uint64)
    idx = np.arange(len(h), dtype=np.int64)
    found = []
    for band, values in enumerate(band_values(h, d)):
        a, b, dist = band_pairs(values.view(np.int64), idx, h, band, d, small=small)
        found += [(ordered[i][0], ordered[j][0], int(x)) for i, j, x in zip(a, b, dist, strict=True)]
    return sorted(found)


def test_popcount_matches_python() -> None:
    rng = random.Random(1)
    values = [0, 1, (1 << 64) - 1, *(rng.getrandbits(64) for _ in range(500))]
    got = popcount64(np.array(values, dtype=np.uint64))
    assert got.tolist() == [v.bit_count() for v in values]


@pytest.mark.parametrize(("d", "small"), [(0, 512), (2, 512), (4, 512), (4, 1), (7, 3)])
def test_band_pairs_equal_the_python_search(d: int, small: int) -> None:
    """Same pairs, each once (first shared band only), whether buckets are compared by offset or as
    matrices (`small` 1 sends every bucket to the matrix path)."""
    hashes = hashes_with_copies(300, d, seed=d, cluster=120)
    expected = near_pairs(hashes, d)
    got = search(hashes, d, small)
    assert got == expected and len(got) == len(set(got))
    assert sum(1 for p in expected if p[0].startswith("k")) > 5  # the cluster holds real pairs


def test_a_huge_bucket_is_done_in_row_blocks() -> None:
    rng = random.Random(3)
    h = np.array([rng.getrandbits(6) for _ in range(400)], dtype=np.uint64)  # few distinct bits: many pairs
    idx = np.arange(400, dtype=np.int64)[::-1].copy()  # indices need not arrive sorted
    a, b, dist = bucket_pairs(idx, h, 0, 3, chunk_cells=1000)
    whole = bucket_pairs(idx, h, 0, 3)
    assert [x.tolist() for x in (a, b, dist)] == [x.tolist() for x in whole]
    by_idx = dict(zip(idx.tolist(), h.tolist(), strict=True))
    brute = sorted((i, j) for i in range(400) for j in range(i + 1, 400) if hamming(by_idx[i], by_idx[j]) <= 3)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == brute and all(x < y for x, y in brute)


def test_a_pair_is_reported_by_its_first_shared_band_only() -> None:
    h = np.array([0, 0b1], dtype=np.uint64)  # agree on every band but the first
    idx = np.array([0, 1], dtype=np.int64)
    shared = [band for band, v in enumerate(band_values(h, 4)) if v[0] == v[1]]
    assert shared == [1, 2, 3, 4]  # the pair meets in four buckets ...
    assert [band for band in shared if len(bucket_pairs(idx, h, band, 4)[0])] == [1]  # ... and is reported once
