"""The near-duplicate pair search inside one band bucket, vectorised with numpy (no Ray here).

`extractors.dedup.near_pairs` walks every bucket in Python; at 10⁶ hashes and more the buckets are
joined on Ray Data instead (pipelines/dedup.py): each row of the join is (band, band value, index,
hash), and each bucket (one band value of one band) comes here as arrays. Two hashes that agree on
several bands meet in several buckets; a pair is reported only by the bucket of the first band they
share, so the union of every bucket's answer has each pair exactly once, with no set to dedupe in.
"""

from __future__ import annotations

import numpy as np

from extractors.dedup import bands

CHUNK_CELLS = 1 << 22  # XOR matrix cells per step (32 MiB of uint64): a huge bucket is done in row blocks
SMALL_BUCKET = 512  # buckets up to this size are compared by offset, all of a band's at once
_POP16 = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.uint8)  # set bits per 16-bit value


def popcount64(x: np.ndarray) -> np.ndarray:
    """Set bits per uint64 element (numpy < 2 has no bitwise_count): four 16-bit table look-ups,
    about 4× the SWAR bit trick in numpy."""
    x = np.ascontiguousarray(x, dtype=np.uint64)
    q = x.view(np.uint16).reshape(*x.shape, 4)
    return _POP16[q[..., 0]] + _POP16[q[..., 1]] + _POP16[q[..., 2]] + _POP16[q[..., 3]]


def band_values(h: np.ndarray, max_distance: int) -> list[np.ndarray]:
    """Per band (extractors.dedup.bands), the band value of every uint64 hash."""
    return [(h >> np.uint64(shift)) & np.uint64(mask) for shift, mask in bands(max_distance)]


def first_band_only(x: np.ndarray, band: int, max_distance: int) -> np.ndarray:
    """Mask over XORs `x` of candidate pairs met in `band`: True where they agree on no earlier band."""
    first = np.ones(len(x), dtype=bool)
    for shift, mask in bands(max_distance)[:band]:
        first &= ((x >> np.uint64(shift)) & np.uint64(mask)) != 0
    return first


def bucket_pairs(
    idx: np.ndarray, h: np.ndarray, band: int, max_distance: int, chunk_cells: int = CHUNK_CELLS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, distance) arrays: every pair of bucket members (a < b by index) within `max_distance`
    bits that agrees on no band before `band`. `idx` int64 indices, `h` their uint64 hashes."""
    m = len(idx)
    empty = np.zeros(0, dtype=np.int64)
    if m < 2:
        return empty, empty, empty
    order = np.argsort(idx, kind="stable")
    idx, h = np.asarray(idx, dtype=np.int64)[order], np.asarray(h, dtype=np.uint64)[order]
    rows = max(1, chunk_cells // m)
    cols = np.arange(m)
    found_a, found_b, found_d = [], [], []
    for start in range(0, m - 1, rows):
        stop = min(m - 1, start + rows)
        dist = popcount64(h[start:stop, None] ^ h[None, :])
        ii, jj = np.nonzero((dist <= np.uint64(max_distance)) & (cols[None, :] > np.arange(start, stop)[:, None]))
        found_a.append(ii + start)
        found_b.append(jj)
        found_d.append(dist[ii, jj])
    i, j, d = np.concatenate(found_a), np.concatenate(found_b), np.concatenate(found_d).astype(np.int64)
    if band and len(i):
        first = first_band_only(h[i] ^ h[j], band, max_distance)
        i, j, d = i[first], j[first], d[first]
    return idx[i], idx[j], d


def band_pairs(
    value: np.ndarray, idx: np.ndarray, h: np.ndarray, band: int, max_distance: int, small: int = SMALL_BUCKET
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`bucket_pairs` over many buckets of one band at once (rows: band value, index, hash). Buckets of
    up to `small` members are compared by offset (row p against p + k within its bucket, k = 1, 2, …:
    one numpy step per k, over the rows whose bucket is still that long); larger ones one at a time."""
    order = np.lexsort((idx, value))
    value, idx, h = value[order], np.asarray(idx, dtype=np.int64)[order], np.asarray(h, dtype=np.uint64)[order]
    n = len(value)
    starts = np.flatnonzero(np.r_[True, value[1:] != value[:-1]]) if n else np.zeros(0, dtype=np.int64)
    lengths = np.diff(np.r_[starts, n])
    end = np.repeat(starts + lengths, lengths)  # per row, the end (exclusive) of its bucket
    small_row = np.repeat(lengths <= small, lengths)
    out_a, out_b, out_d = [], [], []
    active = np.flatnonzero(small_row & (end - np.arange(n) > 1))
    k = 1
    while len(active):
        x = h[active] ^ h[active + k]
        dist = popcount64(x)
        hit = dist <= np.uint64(max_distance)
        if band:
            hit[hit] = first_band_only(x[hit], band, max_distance)
        out_a.append(idx[active[hit]])
        out_b.append(idx[active[hit] + k])
        out_d.append(dist[hit].astype(np.int64))
        k += 1
        active = active[end[active] - active > k]
    for s0, length in zip(starts[lengths > small].tolist(), lengths[lengths > small].tolist(), strict=True):
        a, b, d = bucket_pairs(idx[s0 : s0 + length], h[s0 : s0 + length], band, max_distance)
        out_a.append(a)
        out_b.append(b)
        out_d.append(d)
    if not out_a:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_d)
