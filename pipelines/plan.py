"""Plan a run: enumerate sources, fingerprint inputs, group duplicates, assign splits, cut shards.

Runs on the driver and reads only index files; the pre-scan (pipelines/scan.py) reads the image
files once for their content hash and pHash, in the driver or on Ray. The plan is a pure function of
the inputs and the config (sorted by sample key), so the same inputs give the same shards, and a
re-run can skip the shards already complete.

Every input gets an `input_hash` (its file's content hash plus the item's labels, boxes, report and
duplicate group): an incremental run (pipelines/incremental.py) reuses the shards of a previous
version whose inputs all still have the same hash, and plans only the rest.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors.dedup import UnionFind, group_id
from extractors.imaging.fingerprint import Fingerprint, image_identity
from pipelines.config import PipelineConfig
from pipelines.dedup import near_duplicate_groups
from pipelines.plan_items import ItemStore
from pipelines.plan_store import full_row
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.splits import Member, assign_split, component_splits, components, split_of

__all__ = ["Plan", "assign_split", "build_plan", "cut_shards", "full_row", "plan_row",
           "sample_row", "split_of"]

SCAN_STAGE = "scan"


@dataclass
class Plan:
    shards: dict[str, list[dict[str, Any]]]  # shard name -> plan rows (`plan_row`; `full_row` for a stage)
    losses: list[SourceLoss]
    inputs: dict[str, dict[str, int]]  # source -> unit -> count of inputs seen
    sources: list[dict[str, Any]] = field(default_factory=list)  # licence/citation of each source
    input_hashes: dict[str, str] = field(default_factory=dict)  # sample key -> input hash
    splits: dict[str, str] = field(default_factory=dict)  # sample key -> split
    dedup: dict[str, int] = field(default_factory=dict)  # duplicate-group statistics

    @property
    def n_samples(self) -> int:
        return sum(len(v) for v in self.shards.values())


def count_inputs(item: SourceItem, counts: Counter[str]) -> None:
    """The inputs an item is, its report aside: a report is one input per anchor (counted by `collect`)."""
    counts["image"] += 1
    counts["annotation"] += len(item.annotations)
    counts["label"] += len(item.labels)
    for err in item.errors:
        counts[err["unit"]] += 1  # item-level losses of sub-records that never became annotations


def plan_row(item: dict[str, Any], split: str, text: str | None = None) -> dict[str, Any]:
    """A plan row as the planner holds it: the plan store's columns (`plan_store.PLAN_COLUMNS`) and the
    split, no stage-output keys (`plan_store.full_row` adds them). `text`, where given, is the item's
    JSON already encoded (`plan_items.encode`). ~0.4 KB less a row than `sample_row` (measured)."""
    return {
        "sample_key": f"{item['source']}:{item['key']}",
        "shard": "",
        "split": split,
        "status": "ok",
        "item": text if text is not None else json.dumps(item, sort_keys=True),
        "quarantine": [],
    }


def sample_row(item: SourceItem | dict[str, Any], split: str) -> dict[str, Any]:
    """A whole SAMPLE row before any stage (every column; no pixels yet), as a stage receives it."""
    data = item.to_dict() if isinstance(item, SourceItem) else item
    return full_row(plan_row(data, split))


def collect(cfg: PipelineConfig) -> tuple[ItemStore, list[SourceLoss], dict[str, dict[str, int]], list[dict[str, Any]]]:
    """Every source's items (sample key → item dict, held as JSON text; `dup_group` not yet known:
    null), its losses, input counts and description.

    Each record becomes its JSON text as it comes from the source, so the planner never holds every
    record as objects (~1.5 KB an item, against ~0.65 KB held as text: measured). A report shared by
    several images of a study (MIMIC, IU X-ray) is one input: the first image by key is its anchor
    (it writes the REPORT row), the others keep the text for per-image findings. The anchor is known
    only at the source's end, so the items with a report are re-encoded then.
    """
    items = ItemStore()
    losses: list[SourceLoss] = []
    inputs: dict[str, dict[str, int]] = {}
    described: list[dict[str, Any]] = []
    for bound in cfg.sources:  # a source is listed once (config), so its sample keys are its own
        source = bound.build()
        described.append(source.describe())
        counts: Counter[str] = Counter()
        first: dict[str, str] = {}  # report ref -> the smallest key of an image carrying it
        with_report: list[str] = []
        for rec in source.items():
            if isinstance(rec, SourceLoss):
                losses.append(rec)
                counts[rec.unit] += 1
                continue
            sample_key = f"{rec.source}:{rec.key}"
            if sample_key in items:
                losses.append(SourceLoss(rec.source, "image", rec.input_ref, "malformed_row", "duplicate key"))
                counts["image"] += 1
                continue
            if rec.report:
                ref = str(rec.report.get("ref") or rec.key)
                first[ref] = min(first.get(ref, rec.key), rec.key)
                with_report.append(sample_key)
            count_inputs(rec, counts)  # a report is counted below, once per anchor
            items[sample_key] = {**rec.to_dict(), "dup_group": None}
        for sample_key in with_report:
            item = items[sample_key]
            ref = str(item["report"].get("ref") or item["key"])
            item["report"] = {**item["report"], "anchor": first[ref] == item["key"]}
            items[sample_key] = item
        counts["report"] += len(first)  # one anchor per distinct report
        inputs[bound.name] = {u: counts.get(u, 0) for u in ("image", "annotation", "label", "report")}
    return items, losses, inputs, described


def find_duplicates(
    items: Mapping[str, dict[str, Any]], prints: dict[str, Fingerprint], max_distance: int | None, within_source: bool,
    pairs_ray_above: int | None = None, log: Callable[[str], None] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """(sample key → duplicate group, duplicate sample key → the key kept). Exact copies (same bytes,
    same slice) are one image: the first by sample key is kept, the others are quarantined. Near
    duplicates (pHash within `max_distance`) are kept and grouped; groups are closed transitively. The pair
    search runs on Ray above `pairs_ray_above` pHashes (pipelines/dedup.py), with the same groups."""
    by_identity: dict[str, list[str]] = defaultdict(list)
    for key in sorted(items):
        fp = prints.get(key)
        if fp is not None and fp.content_sha256:
            by_identity[image_identity(fp.content_sha256, items[key].get("meta") or {})].append(key)
    uf = UnionFind()
    copies: dict[str, str] = {}
    for keys in by_identity.values():
        for k in keys[1:]:
            copies[k] = keys[0]
            uf.union(keys[0], k)
    if max_distance is not None:
        hashes = [(k, int(fp.phash, 16)) for k, fp in sorted(prints.items()) if fp.phash and k not in copies]
        scope = {k: items[k]["source"] for k, _ in hashes} if within_source else None
        for key, gid in near_duplicate_groups(hashes, max_distance, scope, ray_above=pairs_ray_above, log=log).items():
            uf.union(f"near:{gid}", key)
    groups: dict[str, str] = {}
    for members in uf.groups().values():
        keys = [str(m) for m in members if not str(m).startswith("near:")]
        if len(keys) > 1:
            gid = group_id(keys)
            groups.update({k: gid for k in keys})
    return groups, copies


def input_hash(item: dict[str, Any], fp: Fingerprint | None) -> str:
    """What an input is, for incremental runs: its pixels (content hash and slice) and everything the
    dataset says about it, but not where the dataset sits on disk (`root`)."""
    content = image_identity(fp.content_sha256, item.get("meta") or {}) if fp and fp.content_sha256 else "missing"
    masks = (fp.masks_sha256 if fp else None) or "-"
    body = json.dumps({k: v for k, v in item.items() if k != "root"}, sort_keys=True, default=str)
    return hashlib.sha256(f"{content}\n{masks}\n{body}".encode()).hexdigest()


def duplicate_quarantine(row: dict[str, Any], item: dict[str, Any], kept: str) -> None:
    kept_source = kept.split(":", 1)[0]
    row["status"] = "quarantined"
    row["quarantine"] = [{
        "source": item["source"], "unit": "image", "input_ref": item.get("input_ref") or item["key"],
        "stage": SCAN_STAGE, "error_kind": "duplicate",
        "message": f"exact copy (same pixels file) of an input of {kept_source} that is kept; duplicate group "
                   f"{item.get('dup_group')}",
        "image_id": None,
    }]


def build_plan(
    cfg: PipelineConfig,
    salt: str,
    *,
    cache_root: Path | None = None,
    pins: dict[str, str] | None = None,
    log: Callable[[str], None] | None = None,
) -> Plan:
    items, losses, inputs, described = collect(cfg)
    sc = cfg.model.scan
    prints: dict[str, Fingerprint] = {}
    if sc.enabled:
        from pipelines.scan import scan

        prints = scan(items, with_phash=sc.near_duplicates, cache_root=cache_root, ray_above=sc.ray_above, log=log)
    groups, copies = find_duplicates(
        items, prints, sc.max_distance if sc.near_duplicates else None, sc.scope == "within", sc.pairs_ray_above, log)
    members = []
    for key, item in items.items():
        if key in groups:
            item["dup_group"] = groups[key]
            items[key] = item
        members.append(Member(key, str(item.get("patient") or item["key"]), item["source"], item.get("split"),
                              groups.get(key)))
    splits: dict[str, str] = {}
    conflicts = 0
    for comp in components(members):
        out, conflict = component_splits(comp, salt, cfg.model.splits, pins)
        splits.update(out)
        conflicts += int(conflict and any(m.dup_group for m in comp))
    del members
    rows, hashes = [], {}
    for key in sorted(items):
        text = items.pop_text(key)  # the row holds the item's JSON text: the store's copy goes as it is made
        item = json.loads(text)
        row = plan_row(item, splits[key], text)
        if key in copies:
            duplicate_quarantine(row, item, copies[key])
        rows.append(row)
        hashes[key] = input_hash(item, prints.get(key))
    dedup = {"duplicate_groups": len(set(groups.values())), "images_in_groups": len(groups),
             "exact_copies_quarantined": len(copies), "groups_across_official_splits": conflicts}
    return Plan(shards=cut_shards(rows, cfg.model.shard_size), losses=losses, inputs=inputs, sources=described,
                input_hashes=hashes, splits=splits, dedup=dedup)


def cut_shards(rows: list[dict[str, Any]], shard_size: int, tag: str = "") -> dict[str, list[dict[str, Any]]]:
    """Rows → `<split>-[<tag>-]NNNNNN` shards, by sorted sample key (the split prefix names the split)."""
    by_split: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_split[row.pop("split")].append(row)
    shards: dict[str, list[dict[str, Any]]] = {}
    prefix = f"{tag}-" if tag else ""
    for split in sorted(by_split):
        ordered = sorted(by_split[split], key=lambda r: r["sample_key"])
        for i in range(0, len(ordered), shard_size):
            name = f"{split}-{prefix}{i // shard_size:06d}"
            for r in ordered[i : i + shard_size]:
                r["shard"] = name
            shards[name] = ordered[i : i + shard_size]
    return shards
