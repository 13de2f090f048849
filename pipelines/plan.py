"""Plan a run: enumerate sources, assign splits by patient, cut deterministic shards.

Runs on the driver and reads only index files. The plan is a pure function of the inputs and the
config (sorted by sample key), so the same inputs give the same shards, and a re-run can skip the
shards already complete.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from extractors.deid import salted_hash

from pipelines.config import PipelineConfig
from pipelines.sources.base import SourceItem, SourceLoss

UNITS_OF_ITEM = {"annotation": "annotations", "label": "labels"}


@dataclass
class Plan:
    shards: dict[str, list[dict[str, Any]]]  # shard name -> SAMPLE rows (without pixels yet)
    losses: list[SourceLoss]
    inputs: dict[str, dict[str, int]]  # source -> unit -> count of inputs seen
    sources: list[dict[str, Any]] = field(default_factory=list)  # licence/citation of each source

    @property
    def n_samples(self) -> int:
        return sum(len(v) for v in self.shards.values())


def split_of(group_key: str, salt: str, fractions: dict[str, float]) -> str:
    """Deterministic split from a salted hash of the patient (or duplicate group) key."""
    h = int(hashlib.sha256(f"{salt}|split|{group_key}".encode()).hexdigest()[:12], 16) / float(16**12)
    acc = 0.0
    names = [n for n in ("train", "val", "test") if n in fractions]
    for name in names:
        acc += fractions[name]
        if h < acc:
            return name
    return names[-1]


def count_inputs(item: SourceItem, counts: Counter[str]) -> None:
    counts["image"] += 1
    counts["annotation"] += len(item.annotations)
    counts["label"] += len(item.labels)
    counts["report"] += 1 if item.report else 0
    for err in item.errors:
        counts[err["unit"]] += 1  # item-level losses of sub-records that never became annotations


def sample_row(item: SourceItem, split: str) -> dict[str, Any]:
    return {
        "sample_key": f"{item.source}:{item.key}",
        "shard": "",
        "split": split,
        "status": "ok",
        "item": json.dumps(item.to_dict(), sort_keys=True),
        "image_png": None,
        "image": None,
        "reports": [],
        "findings": [],
        "regions": [],
        "groundings": [],
        "quarantine": [],
    }


def build_plan(cfg: PipelineConfig, salt: str) -> Plan:
    rows: list[dict[str, Any]] = []
    losses: list[SourceLoss] = []
    inputs: dict[str, dict[str, int]] = {}
    described: list[dict[str, Any]] = []
    fractions = cfg.model.splits
    for bound in cfg.sources:
        source = bound.build()
        described.append(source.describe())
        counts: Counter[str] = Counter()
        seen: set[str] = set()
        for rec in source.iter_items():
            if isinstance(rec, SourceLoss):
                losses.append(rec)
                counts[rec.unit] += 1
                continue
            if rec.key in seen:
                losses.append(SourceLoss(rec.source, "image", rec.input_ref, "malformed_row", "duplicate key"))
                counts["image"] += 1
                continue
            seen.add(rec.key)
            count_inputs(rec, counts)
            group = rec.patient or rec.key
            split = rec.split if rec.split in fractions else split_of(group, salt, fractions)
            rows.append(sample_row(rec, split))
        inputs[bound.name] = {u: counts.get(u, 0) for u in ("image", "annotation", "label", "report")}
    return Plan(shards=cut_shards(rows, cfg.model.shard_size), losses=losses, inputs=inputs, sources=described)


def cut_shards(rows: list[dict[str, Any]], shard_size: int) -> dict[str, list[dict[str, Any]]]:
    by_split: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_split[row.pop("split")].append(row)
    shards: dict[str, list[dict[str, Any]]] = {}
    for split in sorted(by_split):
        ordered = sorted(by_split[split], key=lambda r: r["sample_key"])
        for i in range(0, len(ordered), shard_size):
            name = f"{split}-{i // shard_size:06d}"
            for r in ordered[i : i + shard_size]:
                r["shard"] = name
            shards[name] = ordered[i : i + shard_size]
    return shards


def patient_hash(raw: str | None, salt: str) -> str | None:
    return salted_hash(raw, salt) if raw else None
