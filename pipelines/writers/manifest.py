"""The run manifest: sources, licences, config, versions, inputs, row counts, sha256 of every file.

Deterministic (no timestamps): the same inputs and config give the same manifest bytes; run times
and ids live in the run registry, not here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from extractors.imaging.encode import sha256_file
from pipelines.writers.shard import PROGRESS_DIR, atomic_write_bytes, parquet_bytes
from schemas.tables import QUARANTINE_SCHEMA, SCHEMA_VERSION

MANIFEST = "manifest.json"
SKIP_TOP = {MANIFEST, PROGRESS_DIR, "README.md", "qc"}


def write_source_losses(out_dir: Path, losses: list[dict[str, Any]]) -> None:
    rows = sorted(losses, key=lambda r: (r["source"], r["input_ref"], r["unit"]))
    atomic_write_bytes(out_dir / "tables/quarantine/part-source.parquet", parquet_bytes(rows, QUARANTINE_SCHEMA))


def recorded_hashes(out_dir: Path) -> dict[str, dict[str, Any]]:
    """sha256/bytes the shard writers recorded in their done-markers (so the driver need not re-read
    terabytes of shards at cluster scale)."""
    known: dict[str, dict[str, Any]] = {}
    for marker in sorted((out_dir / PROGRESS_DIR).glob("*.json")):
        if not marker.name.startswith("_"):
            known.update(json.loads(marker.read_text())["files"])
    return known


def list_files(out_dir: Path) -> dict[str, dict[str, Any]]:
    known = recorded_hashes(out_dir)
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(out_dir.rglob("*")):
        rel = path.relative_to(out_dir)
        if not path.is_file() or rel.parts[0] in SKIP_TOP or path.name.startswith("."):
            continue
        size = path.stat().st_size
        prior = known.get(rel.as_posix())
        sha = prior["sha256"] if prior and prior["bytes"] == size else sha256_file(path)
        meta: dict[str, Any] = {"sha256": sha, "bytes": size}
        if path.suffix == ".parquet":
            meta["rows"] = pq.ParquetFile(path).metadata.num_rows
        files[rel.as_posix()] = meta
    return files


def write_manifest(
    out_dir: Path,
    *,
    corpus: str,
    version: str,
    config: dict[str, Any],
    config_fingerprint: str,
    sources: list[dict[str, Any]],
    inputs: dict[str, dict[str, int]],
    versions: dict[str, str],
    build: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`build`: how this version was made (duplicate groups found by the pre-scan; for an incremental
    version, the version it builds on and what it reused)."""
    files = list_files(out_dir)
    rows: dict[str, int] = {}
    for rel, meta in files.items():
        if rel.startswith("tables/"):
            table = rel.split("/")[1]
            rows[table] = rows.get(table, 0) + meta["rows"]
    manifest = {
        "corpus": corpus,
        "version": version,
        "created_by": "medground",
        "versions": {"schema": SCHEMA_VERSION, **versions},
        "config_fingerprint": config_fingerprint,
        "config": config,
        "sources": sources,
        "inputs": inputs,
        "build": build or {},
        "rows": dict(sorted(rows.items())),
        "files": files,
    }
    atomic_write_bytes(out_dir / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True, default=str).encode())
    return manifest
