"""The plan on disk: `_progress/plan/part-NNNNNN.parquet`, SAMPLE rows without pixels, one row group
per shard, so the driver reads one wave at a time instead of holding every planned item.

Only the columns a plan row fills are stored (`PLAN_COLUMNS`: key, shard, status, item JSON, a
duplicate's quarantine row); the stage-output columns, null or empty in every plan row, are added back
on read. SAMPLE_SCHEMA has 116 leaf columns, 103 of them stage output: a row group of the full schema
cost ~5 ms to write and ~3 ms to read back per shard on the driver, whatever its rows (measured, n=600
in shards of 32: 0.1 + 0.056 s of a 6 s run), the narrow one a tenth of that.

Written by the driver after planning (temp + rename, like every other file); rewritten on each run
(the plan is a pure function of the inputs and the config, and `check_resumable` refuses a run whose
shards differ from the ones already on disk). Not part of the corpus: the manifest skips `_progress/`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.writers.shard import PROGRESS_DIR, atomic_write_bytes
from schemas.tables import SAMPLE_SCHEMA

PLAN_DIR = "plan"
SHARDS_PER_FILE = 64
PLAN_COLUMNS = ("sample_key", "shard", "status", "item", "quarantine")
PLAN_SCHEMA = pa.schema([SAMPLE_SCHEMA.field(n) for n in PLAN_COLUMNS])
STAGE_FIELDS = [f for f in SAMPLE_SCHEMA if f.name not in PLAN_COLUMNS]


def widen(table: pa.Table) -> pa.Table:
    """A stored plan table (PLAN_SCHEMA) as SAMPLE_SCHEMA: the stage-output columns null, lists empty,
    as `pa.Table.from_pylist` makes them from a plan row."""
    n = table.num_rows
    columns = []
    for f in SAMPLE_SCHEMA:
        if f.name in PLAN_COLUMNS:
            columns.append(table.column(f.name).cast(f.type))
        elif pa.types.is_list(f.type):
            offsets = pa.array([0] * (n + 1), type=pa.int32())
            columns.append(pa.ListArray.from_arrays(offsets, pa.array([], type=f.type.value_type), type=f.type))
        else:
            columns.append(pa.nulls(n, type=f.type))
    return pa.Table.from_arrays(columns, schema=SAMPLE_SCHEMA)


def full_row(row: dict[str, Any]) -> dict[str, Any]:
    """A plan row with every SAMPLE column: the stage-output ones null, lists empty (as `widen`)."""
    out: dict[str, Any] = {f.name: ([] if pa.types.is_list(f.type) else None) for f in STAGE_FIELDS}
    out.update(row)
    return out


def narrow_rows(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The PLAN_COLUMNS of a shard's plan rows; a stage-output value in a plan row is a bug, not data."""
    out = []
    for r in rows:
        filled = [k for k in r if k not in PLAN_COLUMNS and k != "split" and r[k] not in (None, [])]
        if filled:
            raise ValueError(f"plan shard {name}: row {r['sample_key']} has stage output in {filled}")
        out.append({k: r[k] for k in PLAN_COLUMNS})
    return out


@dataclass(frozen=True)
class PlanStore:
    """Where each shard's rows are: file and row group; and how many rows it has."""

    root: Path
    where: dict[str, tuple[str, int]]  # shard -> (file name, row group)
    counts: dict[str, int]

    def read(self, names: Iterable[str]) -> list[pa.Table]:
        """One Arrow table (SAMPLE_SCHEMA, no pixels) per named shard, in the order given."""
        out, files = [], {}
        for name in names:
            fname, group = self.where[name]
            if fname not in files:
                files[fname] = pq.ParquetFile(self.root / fname)
            out.append(widen(files[fname].read_row_group(group)))
        return out


def write_plan_store(out_dir: Path, shards: dict[str, list[dict[str, Any]]],
                     per_file: int = SHARDS_PER_FILE) -> PlanStore:
    """Write the planned shards (name -> rows) under `out_dir/_progress/plan/`, one row group per shard;
    files left from an older plan with more files are removed."""
    root = out_dir / PROGRESS_DIR / PLAN_DIR
    names = list(shards)
    where: dict[str, tuple[str, int]] = {}
    written = set()
    for f, i in enumerate(range(0, len(names), per_file)):
        fname = f"part-{f:06d}.parquet"
        buf = io.BytesIO()
        with pq.ParquetWriter(buf, PLAN_SCHEMA, compression="zstd") as writer:
            for g, name in enumerate(names[i : i + per_file]):
                table = pa.Table.from_pylist(narrow_rows(name, shards[name]), schema=PLAN_SCHEMA)
                writer.write_table(table, row_group_size=max(1, table.num_rows))
                where[name] = (fname, g)
        atomic_write_bytes(root / fname, buf.getvalue())
        written.add(fname)
    for stale in root.glob("part-*.parquet"):
        if stale.name not in written:
            stale.unlink()
    return PlanStore(root, where, {k: len(v) for k, v in shards.items()})
