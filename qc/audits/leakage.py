"""Split leakage: a patient or a near-duplicate group whose images sit in more than one split.

`leakage` runs in DuckDB on one machine. `leakage_dask` is the same join for corpora larger than one
machine: dask.dataframe over the image Parquet parts, computed on whatever scheduler the caller passes
(the threaded default here; on a Ray cluster the pipeline passes `ray.util.dask.ray_dask_get`, so
qc/ itself never imports ray).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from qc.corpus import query, table_parts

LEAKAGE = pa.schema([("key", pa.string()), ("value", pa.string()), ("splits", pa.list_(pa.string())),
                     ("images", pa.int64())])
KEYS = ("patient_id", "dup_group")


def leakage(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """One row per patient_id / dup_group value found in two or more splits."""
    parts = [
        f"""SELECT '{key}' AS key, {key} AS value, list(DISTINCT split ORDER BY split) AS splits,
                   count(*)::BIGINT AS images
            FROM images WHERE {key} IS NOT NULL AND split IS NOT NULL
            GROUP BY {key} HAVING count(DISTINCT split) > 1"""
        for key in KEYS
    ]
    return query(con, " UNION ALL ".join(parts) + " ORDER BY key, value").cast(LEAKAGE)


def leakage_dask(corpus_dir: Path, scheduler: Callable[..., Any] | str | None = None) -> pa.Table:
    """The leakage join with dask.dataframe; `scheduler` is passed to `compute` (e.g. ray_dask_get)."""
    import dask.dataframe as dd

    parts = [p.as_posix() for p in table_parts(Path(corpus_dir), "images")]
    if not parts:
        return LEAKAGE.empty_table()
    images = dd.read_parquet(parts, columns=["split", *KEYS])
    rows = []
    for key in KEYS:
        sub = images[[key, "split"]].dropna()
        nsplits = sub.drop_duplicates().groupby(key)["split"].count()
        leaked = nsplits[nsplits > 1].compute(scheduler=scheduler)
        if leaked.empty:
            continue
        hits = sub[sub[key].isin(list(leaked.index))].compute(scheduler=scheduler)
        for value, group in sorted(hits.groupby(key), key=lambda kv: str(kv[0])):
            rows.append({"key": key, "value": str(value), "images": len(group),
                         "splits": sorted(group["split"].astype(str).unique())})
    return pa.Table.from_pylist(rows, schema=LEAKAGE)
