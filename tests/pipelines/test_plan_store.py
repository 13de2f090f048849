"""The plan store keeps only the columns a plan row fills and reads back exactly the SAMPLE table the
plan rows make (null stage-output columns, empty lists, a duplicate's quarantine row)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.plan import duplicate_quarantine, sample_row
from pipelines.plan_store import PLAN_COLUMNS, write_plan_store
from schemas.tables import SAMPLE_SCHEMA


def rows(shard: str, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        item = {"source": "sources.x", "key": f"{shard}-{i}.png", "input_ref": f"{i}.png", "dup_group": None}
        row = sample_row(item, "train")
        row["shard"] = shard
        if i == 1:  # an exact copy: the plan quarantines it
            duplicate_quarantine(row, item, "sources.y:a.png")
        out.append(row)
    return out


def test_read_back_equals_the_plan_rows_as_a_sample_table(tmp_path: Path) -> None:
    shards = {"train-000000": rows("train-000000", 3), "train-000001": rows("train-000001", 1)}
    store = write_plan_store(tmp_path, shards)
    [f] = (tmp_path / "_progress" / "plan").glob("part-*.parquet")
    assert tuple(pq.read_schema(f).names) == PLAN_COLUMNS  # narrow on disk
    for name, table in zip(sorted(shards), store.read(sorted(shards)), strict=True):
        expected = pa.Table.from_pylist(shards[name], schema=SAMPLE_SCHEMA)
        assert table.schema.equals(SAMPLE_SCHEMA, check_metadata=True)
        assert table.equals(expected)  # values, nulls vs empty lists alike
    assert store.read(["train-000000"])[0].column("quarantine")[1].as_py()[0]["error_kind"] == "duplicate"


def test_a_plan_row_with_stage_output_is_refused(tmp_path: Path) -> None:
    bad = rows("train-000000", 2)
    bad[0]["regions"] = [{"region_id": "r"}]
    with pytest.raises(ValueError, match=r"train-000000.*regions"):
        write_plan_store(tmp_path, {"train-000000": bad})
