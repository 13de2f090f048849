"""Write one shard: explode SAMPLE rows into the six tables and a WebDataset tar, atomically.

Same SAMPLE rows → same bytes: rows sorted by key, Parquet written with fixed options, tar members
with fixed metadata. Every file is written to a temporary name and renamed; the shard's stats file,
written last, is its done-marker (a re-run skips shards that have one).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.tables import TABLE_SCHEMAS

PROGRESS_DIR = "_progress"
SUB_UNITS = (("annotations", "annotation"), ("labels", "label"))
NUL = b"\0"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write_chunks(path, [data])


def atomic_write_chunks(path: Path, chunks: Iterable[bytes]) -> tuple[str, int]:
    """Write the chunks to a temporary name, fsync, rename over `path`; (sha256 hex, bytes) of what
    was written, hashed as it is written (no second pass over the bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    digest, size = hashlib.sha256(), 0
    try:
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return digest.hexdigest(), size


def parquet_bytes(rows: list[dict[str, Any]], schema: pa.Schema) -> bytes:
    table = pa.Table.from_pylist(rows, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", use_dictionary=True, write_statistics=True)
    return buf.getvalue()


def cascade_losses(sample: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
    """A quarantined image takes its annotations, labels and report with it: account for each."""
    out = []
    for field_name, unit in SUB_UNITS:
        for sub in item.get(field_name) or []:
            out.append(_loss(item, unit, sub["ref"]))
    if item.get("report") and item["report"].get("anchor", True):
        out.append(_loss(item, "report", item["report"].get("ref") or item["input_ref"]))
    return out


def source_errors(item: dict[str, Any]) -> list[dict[str, Any]]:
    """Sub-records the source adapter could not parse (a malformed box row of a good image)."""
    return [
        {"source": item["source"], "unit": e["unit"], "input_ref": e["ref"], "stage": "source",
         "error_kind": e["kind"], "message": e["message"], "image_id": None}
        for e in item.get("errors") or []
    ]


def _loss(item: dict[str, Any], unit: str, ref: str) -> dict[str, Any]:
    return {
        "source": item["source"],
        "unit": unit,
        "input_ref": ref,
        "stage": "write",
        "error_kind": "parent_quarantined",
        "message": "its image was quarantined",
        "image_id": None,
    }


def explode(samples: list[dict[str, Any]]) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """SAMPLE rows → table rows, and the ok samples (for the tar)."""
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLE_SCHEMAS}
    ok = []
    for s in sorted(samples, key=lambda r: r["sample_key"]):
        item = json.loads(s["item"])
        tables["quarantine"].extend(source_errors(item))
        tables["quarantine"].extend(s["quarantine"] or [])
        if s["status"] != "ok":
            tables["quarantine"].extend(cascade_losses(s, item))
            continue
        ok.append(s)
        tables["images"].append(s["image"])
        if (item.get("report") or {}).get("anchor", True):  # a shared report is written once
            tables["reports"].extend(s["reports"] or [])
        for name in ("findings", "regions", "groundings"):
            tables[name].extend(s[name] or [])
    return tables, ok


def sample_json(s: dict[str, Any]) -> bytes:
    """The WebDataset JSON of one image: its IMAGE fields, regions (RLE), findings and groundings."""
    doc = {
        "image": s["image"],
        "regions": s["regions"] or [],
        "findings": [
            {k: f[k] for k in ("finding_id", "phrase", "code", "certainty", "laterality", "extractor")}
            for f in s["findings"] or []
        ],
        "groundings": s["groundings"] or [],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def tar_members(ok: list[dict[str, Any]]) -> Iterator[tuple[bytes, bytes]]:
    """(USTAR header block, data) per tar member, with fixed metadata: PNG then JSON per image."""
    for s in ok:
        key = s["image"]["image_id"]
        for ext, data in (("png", s["image_png"]), ("json", sample_json(s))):
            info = tarfile.TarInfo(f"{key}.{ext}")
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            yield info.tobuf(tarfile.USTAR_FORMAT, tarfile.ENCODING, "surrogateescape"), data


def tar_chunks(ok: list[dict[str, Any]]) -> Iterator[bytes]:
    """The shard's tar as a stream of pieces, byte for byte what `tarfile` writes (members padded to
    512-byte blocks, two zero blocks, the whole padded to a 10240-byte record), so a shard's tar is
    never held in memory whole (at shard_size 1000 of 1024² films: ~400 MB, twice over with BytesIO)."""
    n = 0
    for head, data in tar_members(ok):
        pad = -len(data) % tarfile.BLOCKSIZE
        yield head
        yield data
        if pad:
            yield NUL * pad
        n += len(head) + len(data) + pad
    end = 2 * tarfile.BLOCKSIZE
    yield NUL * (end + (-(n + end)) % tarfile.RECORDSIZE)


def tar_bytes(ok: list[dict[str, Any]]) -> bytes:
    return b"".join(tar_chunks(ok))


def write_shard(out_dir: Path, shard: str, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Write the shard's files and its done-marker; return its stats."""
    tables, ok = explode(samples)
    files: dict[str, dict[str, Any]] = {}
    for name, rows in tables.items():
        rel = f"tables/{name}/part-{shard}.parquet"
        sha, size = atomic_write_chunks(out_dir / rel, [parquet_bytes(rows, TABLE_SCHEMAS[name])])
        files[rel] = {"sha256": sha, "bytes": size, "rows": len(rows)}
    if ok:  # a shard whose every image was quarantined has tables (the accounting) but no tar
        rel = f"shards/{shard}.tar"
        sha, size = atomic_write_chunks(out_dir / rel, tar_chunks(ok))
        files[rel] = {"sha256": sha, "bytes": size, "rows": len(ok)}
    stats = {
        "shard": shard,
        "samples": len(samples),
        "written": len(ok),
        "quarantined": len(samples) - len(ok),
        "files": files,
    }
    marker = json.dumps(stats, sort_keys=True, indent=1).encode()
    atomic_write_bytes(out_dir / PROGRESS_DIR / f"{shard}.json", marker)
    return stats


def completed_shards(out_dir: Path) -> set[str]:
    """Shards whose done-marker exists and whose files are all present with the recorded sizes."""
    done = set()
    for marker in sorted((out_dir / PROGRESS_DIR).glob("*.json")):
        if marker.name.startswith("_"):
            continue
        stats = json.loads(marker.read_text())
        if all(
            (out_dir / rel).is_file() and (out_dir / rel).stat().st_size == meta["bytes"]
            for rel, meta in stats["files"].items()
        ):
            done.add(stats["shard"])
    return done
