"""Open a written corpus for SQL: one DuckDB view per table over its Parquet parts, and the manifest.

A table with no parts (a corpus without reports) is an empty view with the declared schema, so every
audit's SQL runs on every corpus.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.tables import TABLE_SCHEMAS

MANIFEST = "manifest.json"
QC_DIR = "qc"


def table_parts(corpus_dir: Path, name: str) -> list[Path]:
    return sorted((Path(corpus_dir) / "tables" / name).glob("*.parquet"))


def read_manifest(corpus_dir: Path) -> dict[str, Any]:
    path = Path(corpus_dir) / MANIFEST
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(corpus_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with views images, reports, findings, regions, groundings, quarantine."""
    con = duckdb.connect()
    for name, schema in TABLE_SCHEMAS.items():
        parts = table_parts(corpus_dir, name)
        if parts:
            listing = ", ".join(sql_literal(p.as_posix()) for p in parts)
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listing}], union_by_name=true)")
        else:
            con.register(f"_empty_{name}", schema.empty_table())
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM _empty_{name}")
    return con


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> pa.Table:
    """Run SQL and return an Arrow table (`to_arrow_table` from duckdb 1.4 on, else `fetch_arrow_table`)."""
    result = con.execute(sql, params or [])
    fetch = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    return fetch()


def read_table(corpus_dir: Path, name: str) -> pa.Table:
    parts = table_parts(corpus_dir, name)
    if not parts:
        return TABLE_SCHEMAS[name].empty_table()
    return pa.concat_tables([pq.read_table(p, schema=TABLE_SCHEMAS[name]) for p in parts])


def qc_dir(corpus_dir: Path) -> Path:
    out = Path(corpus_dir) / QC_DIR
    out.mkdir(parents=True, exist_ok=True)
    return out
