from __future__ import annotations

import random

import pytest

from extractors.dedup import UnionFind, bands, duplicate_groups, hamming, near_pairs


@pytest.mark.parametrize("d", [0, 1, 4, 7, 16])
def test_bands_cover_the_64_bits_once(d: int) -> None:
    covered = 0
    for shift, mask in bands(d):
        assert covered & (mask << shift) == 0
        covered |= mask << shift
    assert covered == (1 << 64) - 1 and len(bands(d)) == d + 1


@pytest.mark.parametrize("d", [0, 3, 6])
def test_near_pairs_equal_brute_force(d: int) -> None:
    rng = random.Random(d)
    base = [rng.getrandbits(64) for _ in range(40)]
    hashes = [(f"k{i:03d}", h) for i, h in enumerate(base)]
    for i, h in enumerate(base[:30]):  # planted near copies at distances 0..8
        flipped = h
        for bit in rng.sample(range(64), i % 9):
            flipped ^= 1 << bit
        hashes.append((f"n{i:03d}", flipped))
    brute = sorted(
        (min(a, b), max(a, b), hamming(ha, hb))
        for i, (a, ha) in enumerate(hashes) for b, hb in hashes[i + 1 :] if hamming(ha, hb) <= d
    )
    assert near_pairs(hashes, d) == brute
    assert any(p[0].startswith("k") and p[1].startswith("n") for p in brute)  # the test plants real pairs


def test_groups_close_transitively_and_respect_scope() -> None:
    a, b, c = 0, 0b111, 0b111111  # a~b (3 bits), b~c (3 bits), a and c 6 bits apart
    far = (1 << 64) - 1
    groups = duplicate_groups([("a", a), ("b", b), ("c", c), ("z", far)], max_distance=3)
    assert groups["a"] == groups["b"] == groups["c"] and "z" not in groups
    scoped = duplicate_groups([("a", a), ("b", b), ("c", c)], 3, same_scope={"a": "s1", "b": "s2", "c": "s2"})
    assert "a" not in scoped and scoped["b"] == scoped["c"]
    assert groups["a"] != scoped["b"]  # the id names the members


def test_union_find_roots_are_the_smallest_key() -> None:
    uf = UnionFind()
    uf.union("m", "c")
    uf.union("x", "m")
    assert uf.find("x") == "c" and uf.groups() == {"c": ["c", "m", "x"]}
