"""Split assignment over components: a patient's images, and near-duplicate images, share one split.

A component is a connected set of images joined by "same patient (within a source)" or "same
duplicate group". Its split comes from a salted hash of its key (the smallest patient key among its
members), so it is deterministic and needs no coordination. The dataset's official split always
wins for an image that has one; the other images of its component follow it (an official `test`
image pulls its unlabelled near duplicate into `test`). When official splits inside one component
disagree (a near duplicate across an official train/test boundary) the images keep their official
splits and the conflict is counted: the QC leakage audit lists the group and the leakage gate decides.

In an incremental run, splits already published are pinned: a component with a pinned image takes
that split, so a nightly run never moves an image between splits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from dataclasses import dataclass

from extractors.dedup import UnionFind

SPLIT_ORDER = ("train", "val", "test")


@dataclass(slots=True)
class Member:
    sample_key: str
    group_key: str  # the raw patient id (or the image key when the dataset has none); never written
    source: str
    official: str | None  # the dataset's own split, where it has one
    dup_group: str | None = None


def split_of(group_key: str, salt: str, fractions: dict[str, float]) -> str:
    """Deterministic split from a salted hash of the patient (or component) key."""
    h = int(hashlib.sha256(f"{salt}|split|{group_key}".encode()).hexdigest()[:12], 16) / float(16**12)
    acc = 0.0
    names = [n for n in SPLIT_ORDER if n in fractions]
    for name in names:
        acc += fractions[name]
        if h < acc:
            return name
    return names[-1]


def assign_split(official: str | None, group_key: str, salt: str, fractions: dict[str, float]) -> str:
    """The dataset's official split where it names one of ours; `trainval` is hashed into train/val
    only (so official test images stay the only test images); otherwise hashed into all splits."""
    if official in fractions:
        return official
    if official == "trainval":
        sub = {k: v for k, v in fractions.items() if k in ("train", "val") and v > 0}
        total = sum(sub.values())
        if total > 0:
            return split_of(group_key, salt, {k: v / total for k, v in sub.items()})
    return split_of(group_key, salt, fractions)


def components(members: list[Member]) -> list[list[Member]]:
    """Members joined by patient (within a source) or duplicate group, each list sorted by sample key."""
    uf = UnionFind()
    by_key = {m.sample_key: m for m in members}
    first_of: dict[Hashable, str] = {}
    for m in sorted(members, key=lambda m: m.sample_key):
        uf.add(m.sample_key)
        for link in (("patient", m.source, m.group_key), ("dup", m.dup_group) if m.dup_group else None):
            if link is None:
                continue
            if link in first_of:
                uf.union(first_of[link], m.sample_key)
            else:
                first_of[link] = m.sample_key
    return [[by_key[k] for k in keys] for _, keys in sorted(uf.groups().items(), key=lambda kv: str(kv[0]))]


def component_splits(
    comp: list[Member], salt: str, fractions: dict[str, float], pins: dict[str, str] | None = None
) -> tuple[dict[str, str], bool]:
    """sample key → split for one component, and whether its official/pinned splits conflicted."""
    pins = pins or {}
    pinned = sorted((m.sample_key, pins[m.sample_key]) for m in comp if m.sample_key in pins)
    officials = sorted((m.sample_key, m.official) for m in comp if m.official in fractions)
    fixed = pinned or officials
    out: dict[str, str] = {}
    if fixed:
        follow = fixed[0][1]
        for m in comp:
            out[m.sample_key] = pins.get(m.sample_key) or (m.official if m.official in fractions else follow)
        return out, len({s for _, s in fixed}) > 1
    key = min(m.group_key for m in comp)
    # a component with any official trainval image stays out of test (the dataset's own test set)
    official = "trainval" if any(m.official == "trainval" for m in comp) else None
    split = assign_split(official, key, salt, fractions)
    return {m.sample_key: split for m in comp}, False
