"""Integrity audits: every Parquet part has its declared schema; every file matches the manifest's sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from qc.corpus import read_manifest, table_parts
from schemas.tables import TABLE_SCHEMAS

SCHEMA_AUDIT = pa.schema([("table", pa.string()), ("file", pa.string()), ("rows", pa.int64()),
                          ("ok", pa.bool_()), ("problem", pa.string())])
CHECKSUM_AUDIT = pa.schema([("file", pa.string()), ("status", pa.string()), ("bytes", pa.int64())])
CHECKED_TOP = ("tables", "shards")


def schema_problems(actual: pa.Schema, expected: pa.Schema) -> list[str]:
    problems = []
    for f in expected:
        idx = actual.get_field_index(f.name)
        if idx < 0:
            problems.append(f"missing column {f.name}")
        elif not actual.field(idx).type.equals(f.type):
            problems.append(f"column {f.name} is {actual.field(idx).type}, expected {f.type}")
    extra = sorted(set(actual.names) - set(expected.names))
    if extra:
        problems.append("unexpected columns " + ", ".join(extra))
    return problems


def null_problems(path: Path, expected: pa.Schema) -> list[str]:
    table = pq.read_table(path, columns=[f.name for f in expected if not f.nullable])
    return [f"{n} nulls in non-nullable column {name}" for name in table.column_names
            if (n := table.column(name).null_count)]


def schema_audit(corpus_dir: Path) -> pa.Table:
    """One row per Parquet part: does it carry exactly the declared columns, types and non-null keys?"""
    rows = []
    for name, expected in TABLE_SCHEMAS.items():
        for path in table_parts(corpus_dir, name):
            rel = path.relative_to(corpus_dir).as_posix()
            try:
                meta = pq.ParquetFile(path)
                problems = schema_problems(meta.schema_arrow, expected)
                if not problems:
                    problems = null_problems(path, expected)
                n = meta.metadata.num_rows
            except (pa.ArrowInvalid, OSError) as err:
                problems, n = [f"unreadable parquet: {type(err).__name__}"], 0
            rows.append({"table": name, "file": rel, "rows": n, "ok": not problems,
                         "problem": "; ".join(problems) or None})
    return pa.Table.from_pylist(rows, schema=SCHEMA_AUDIT)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checksum_audit(corpus_dir: Path) -> pa.Table:
    """Every file under tables/ and shards/ against the manifest: ok | mismatch | missing | unlisted."""
    corpus_dir = Path(corpus_dir)
    listed = read_manifest(corpus_dir).get("files") or {}
    present = {p.relative_to(corpus_dir).as_posix(): p for top in CHECKED_TOP
               for p in sorted((corpus_dir / top).rglob("*")) if p.is_file() and not p.name.startswith(".")}
    rows = []
    for rel in sorted(set(listed) | set(present)):
        path = present.get(rel)
        if path is None:
            status, size = "missing", 0
        elif rel not in listed:
            status, size = "unlisted", path.stat().st_size
        else:
            size = path.stat().st_size
            status = "ok" if sha256_file(path) == listed[rel].get("sha256") else "mismatch"
        rows.append({"file": rel, "status": status, "bytes": size})
    return pa.Table.from_pylist(rows, schema=CHECKSUM_AUDIT)
