"""Near-duplicate groups from 64-bit perceptual hashes, and the split components they imply.

Pairs within `max_distance` bits are found without comparing all N² pairs: the hash is cut into
`max_distance + 1` bands, and by the pigeonhole principle two hashes within that distance agree
exactly on at least one band, so only hashes that share a band value are compared. Groups are the
connected components of the "near duplicate" relation (union-find), so A~B and B~C put A, B and C
in one group even when A and C are further apart: a split must keep all three together.

Plain Python; the pipeline's scan (pipelines/scan.py) feeds it. Above `scan.pairs_ray_above` hashes
the pairs come from a Ray Data bucket join instead (pipelines/dedup.py, extractors/dedup_bucket.py);
the groups are built from them here, the same way.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence

HASH_BITS = 64


class UnionFind:
    """Disjoint sets over hashable keys; `find` returns the smallest key of the set (deterministic)."""

    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def add(self, key: Hashable) -> None:
        self.parent.setdefault(key, key)

    def find(self, key: Hashable) -> Hashable:
        self.add(key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: Hashable, b: Hashable) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = (ra, rb) if str(ra) <= str(rb) else (rb, ra)
            self.parent[hi] = lo

    def groups(self) -> dict[Hashable, list[Hashable]]:
        out: dict[Hashable, list[Hashable]] = defaultdict(list)
        for key in self.parent:
            out[self.find(key)].append(key)
        return {root: sorted(members, key=str) for root, members in out.items()}


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def bands(max_distance: int) -> list[tuple[int, int]]:
    """(shift, mask) of `max_distance + 1` bands covering the 64 bits as evenly as possible."""
    n = max_distance + 1
    if not 1 <= n <= HASH_BITS:
        raise ValueError(f"max_distance must be in 0..{HASH_BITS - 1}")
    out, start = [], 0
    for i in range(n):
        width = HASH_BITS // n + (1 if i < HASH_BITS % n else 0)
        out.append((start, (1 << width) - 1))
        start += width
    return out


def near_pairs(hashes: Sequence[tuple[str, int]], max_distance: int) -> list[tuple[str, str, int]]:
    """Every pair (key_a, key_b, distance) with Hamming distance <= max_distance, key_a < key_b, sorted."""
    found: set[tuple[str, str]] = set()
    out = []
    for shift, mask in bands(max_distance):
        buckets: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for key, h in hashes:
            buckets[(h >> shift) & mask].append((key, h))
        for members in buckets.values():
            if len(members) < 2:
                continue
            for i, (ka, ha) in enumerate(members):
                for kb, hb in members[i + 1 :]:
                    pair = (ka, kb) if ka < kb else (kb, ka)
                    if pair in found:
                        continue
                    d = hamming(ha, hb)
                    if d <= max_distance:
                        found.add(pair)
                        out.append((pair[0], pair[1], d))
    return sorted(out)


def group_id(members: Iterable[str]) -> str:
    """A stable name for a duplicate group: a hash of its sorted member identities."""
    digest = hashlib.sha256("\n".join(sorted(members)).encode()).hexdigest()
    return f"dup-{digest[:16]}"


def duplicate_groups(
    hashes: Sequence[tuple[str, int]], max_distance: int, same_scope: dict[str, str] | None = None
) -> dict[str, str]:
    """key → group id for every key that has at least one near duplicate.

    `same_scope` (key → scope, e.g. its source) limits pairs to keys of one scope ("within" sources);
    None compares across everything."""
    return groups_from_pairs(near_pairs(hashes, max_distance), same_scope)


def groups_from_pairs(
    pairs: Iterable[tuple[str, str, int]], same_scope: dict[str, str] | None = None
) -> dict[str, str]:
    """key → group id: the connected components (union-find) of the near-duplicate pairs."""
    uf = UnionFind()
    for a, b, _ in pairs:
        if same_scope is not None and same_scope.get(a) != same_scope.get(b):
            continue
        uf.union(a, b)
    out: dict[str, str] = {}
    for members in uf.groups().values():
        if len(members) < 2:
            continue
        gid = group_id(str(m) for m in members)
        for m in members:
            out[str(m)] = gid
    return out
