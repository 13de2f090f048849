"""Incremental runs: a new corpus version that does only new work and leaves the previous one intact.

Every version records which input went into which shard with which input hash
(`_progress/_inputs.parquet`). `medground run --incremental` builds on the published version (LATEST):

1. It plans every input as usual, with the published splits pinned (no image moves between splits).
2. A previous shard whose inputs all still exist with the same hash is *carried*: its files are
   hard-linked into the new version (copied where links are impossible), never rewritten, so the
   previous version stays byte-for-byte what its manifest says.
3. Everything else (new inputs; inputs whose pixels, labels, boxes, report or duplicate group changed;
   the other inputs of a shard that lost one) is cut into new shards named `<split>-i<NNNN>-<n>`.
4. Only those shards run; the new version gets its own manifest, QC and card, and becomes LATEST only
   after its gates pass.

An interrupted incremental run resumes the same new version when re-run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.plan import Plan, cut_shards
from pipelines.writers.shard import PROGRESS_DIR, atomic_write_bytes, parquet_bytes
from schemas.errors import ConfigError

INPUTS_FILE = "_inputs.parquet"
PLAN_FILE = "_plan.json"
INPUTS = pa.schema([("sample_key", pa.string()), ("input_hash", pa.string()), ("shard", pa.string()),
                    ("split", pa.string())])


@dataclass
class Increment:
    base: str  # the published version this one builds on
    version: str  # the new version's name
    generation: int  # 1 for the first increment on a full build, then 2, 3, ...
    carried: list[str]  # shards of `base` reused unchanged
    new_inputs: int  # inputs not in `base`
    changed_inputs: int  # inputs in `base` whose hash changed (or whose shard is re-done)
    removed_inputs: int  # inputs in `base` that are gone

    unchanged: bool = False  # nothing new, changed or removed, and the same source losses: no new version

    def describe(self) -> dict[str, Any]:
        return {"base": self.base, "generation": self.generation, "carried_shards": len(self.carried),
                "new_inputs": self.new_inputs, "redone_inputs": self.changed_inputs,
                "removed_inputs": self.removed_inputs}


def write_inputs(out_dir: Path, plan: Plan) -> None:
    rows = [{"sample_key": r["sample_key"], "input_hash": plan.input_hashes.get(r["sample_key"], ""),
             "shard": name, "split": name.split("-")[0]}
            for name, shard_rows in sorted(plan.shards.items()) for r in shard_rows]
    atomic_write_bytes(out_dir / PROGRESS_DIR / INPUTS_FILE, parquet_bytes(rows, INPUTS))


def read_inputs(version_dir: Path) -> list[dict[str, Any]]:
    path = version_dir / PROGRESS_DIR / INPUTS_FILE
    return pq.read_table(path, schema=INPUTS).to_pylist() if path.is_file() else []


def read_plan_file(version_dir: Path) -> dict[str, Any]:
    path = version_dir / PROGRESS_DIR / PLAN_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def choose_version(corpus_root: Path, base: str, cfg_version: str, requested: str | None) -> tuple[str, int]:
    """(name, generation) of the new version. An unfinished increment on the same base is resumed."""
    base_gen = int(read_plan_file(corpus_root / base).get("generation", 0))
    if requested:
        if requested == base:
            raise ConfigError("--new-version", f"{requested} is the published version this run builds on")
        return requested, base_gen + 1
    for d in sorted(p for p in corpus_root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        info = read_plan_file(d)
        if info.get("base") == base and not (d / "manifest.json").is_file():
            return d.name, int(info.get("generation", base_gen + 1))
    stem = re.sub(r"\.inc\d+$", "", cfg_version)
    return f"{stem}.inc{base_gen + 1}", base_gen + 1


def base_manifest_inputs(version_dir: Path) -> dict[str, Any] | None:
    path = version_dir / "manifest.json"
    return json.loads(path.read_text()).get("inputs") if path.is_file() else None


def increment_plan(plan: Plan, base_inputs: list[dict[str, Any]], generation: int, shard_size: int,
                   base_dir: Path, version: str) -> tuple[Plan, Increment]:
    """Split the full plan into carried shards of the base version and new shards for the rest."""
    by_shard: dict[str, list[dict[str, Any]]] = {}
    for r in base_inputs:
        by_shard.setdefault(r["shard"], []).append(r)
    carried = sorted(
        shard for shard, rows in by_shard.items()
        if all(plan.input_hashes.get(r["sample_key"]) == r["input_hash"] for r in rows)
    )
    carried_keys = {r["sample_key"] for s in carried for r in by_shard[s]}
    base_hash = {r["sample_key"]: r["input_hash"] for r in base_inputs}
    rows = {r["sample_key"]: r for shard_rows in plan.shards.values() for r in shard_rows}
    todo = [{**rows[k], "split": plan.splits[k]} for k in sorted(rows) if k not in carried_keys]
    shards = {s: [{**rows[r["sample_key"]], "shard": s} for r in by_shard[s]] for s in carried}
    shards.update(cut_shards(todo, shard_size, tag=f"i{generation:04d}"))
    inc = Increment(
        base=base_dir.name, version=version, generation=generation, carried=carried,
        new_inputs=sum(1 for r in todo if r["sample_key"] not in base_hash),
        changed_inputs=sum(1 for r in todo if r["sample_key"] in base_hash),
        removed_inputs=sum(1 for k in base_hash if k not in rows),
    )
    inc.unchanged = not todo and not inc.removed_inputs and base_manifest_inputs(base_dir) == plan.inputs
    return Plan(shards=shards, losses=plan.losses, inputs=plan.inputs, sources=plan.sources,
                input_hashes=plan.input_hashes, splits=plan.splits, dedup=plan.dedup), inc


def link_shard(base_dir: Path, out_dir: Path, shard: str) -> None:
    """Make a base shard part of the new version: hard links (else copies), its done-marker last."""
    marker = base_dir / PROGRESS_DIR / f"{shard}.json"
    stats = json.loads(marker.read_text())
    for rel in [*stats["files"], f"{PROGRESS_DIR}/{shard}.json"]:
        src, dst = base_dir / rel, out_dir / rel
        if dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
        try:
            os.link(src, tmp)
        except OSError:  # another file system, or links not allowed: copy
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
