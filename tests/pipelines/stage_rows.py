"""Helpers for stage tests: SAMPLE rows from a source's items, run through stages without Ray."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipelines.plan import sample_row
from pipelines.sources.base import Source, SourceItem
from pipelines.stage import RunContext, Stage
from schemas.tables import SAMPLE_SCHEMA


def rows_of(source: Source, split: str = "train") -> list[dict[str, Any]]:
    rows = []
    for rec in source.items():
        if isinstance(rec, SourceItem):
            row = sample_row(rec, split)
            row.pop("split")
            row["shard"] = f"{split}-000000"
            rows.append(row)
    return rows


def run_stages(rows: list[dict[str, Any]], stages: list[type[Stage]], salt: str = "test") -> list[dict[str, Any]]:
    table = pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)
    ctx = RunContext(salt=salt, debug=False)
    for cls in stages:
        table = cls(cls.Params(), ctx).process_batch(table)
    return table.to_pylist()
