"""The plan on disk: `_progress/plan/part-NNNNNN.parquet`, SAMPLE rows without pixels, one row group
per shard, so the driver reads one wave at a time instead of holding every planned item.

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
            out.append(files[fname].read_row_group(group).cast(SAMPLE_SCHEMA))
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
        with pq.ParquetWriter(buf, SAMPLE_SCHEMA, compression="zstd") as writer:
            for g, name in enumerate(names[i : i + per_file]):
                table = pa.Table.from_pylist(shards[name], schema=SAMPLE_SCHEMA)
                writer.write_table(table, row_group_size=max(1, table.num_rows))
                where[name] = (fname, g)
        atomic_write_bytes(root / fname, buf.getvalue())
        written.add(fname)
    for stale in root.glob("part-*.parquet"):
        if stale.name not in written:
            stale.unlink()
    return PlanStore(root, where, {k: len(v) for k, v in shards.items()})
