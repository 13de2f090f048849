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


def mark_report_anchors(items: list[SourceItem]) -> None:
    """A report shared by several images of a study (MIMIC, IU X-ray) is one input: the first image by
    key is its anchor (it writes the REPORT row); the others keep the text for per-image findings."""
    first: dict[str, str] = {}
    for item in sorted(items, key=lambda i: i.key):
        if item.report:
            ref = str(item.report.get("ref") or item.key)
            first.setdefault(ref, item.key)
            item.report = {**item.report, "anchor": first[ref] == item.key}


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
    counts["report"] += 1 if item.report and item.report.get("anchor", True) else 0
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
        items: dict[str, SourceItem] = {}
        for rec in source.items():
            if isinstance(rec, SourceLoss):
                losses.append(rec)
                counts[rec.unit] += 1
            elif rec.key in items:
                losses.append(SourceLoss(rec.source, "image", rec.input_ref, "malformed_row", "duplicate key"))
                counts["image"] += 1
            else:
                items[rec.key] = rec
        mark_report_anchors(list(items.values()))
        for rec in items.values():
            count_inputs(rec, counts)
            split = assign_split(rec.split, rec.patient or rec.key, salt, fractions)
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
