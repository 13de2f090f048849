"""The pre-scan: fingerprint every input (content hash, pHash) before splits are assigned.

Work is per unique file, not per item: the hundreds of slices of one volume, and the images that share
a label volume, hash it once. Two kinds of work units run (in the driver for small plans, else as Ray
tasks with fractional CPUs, reading the files where the workers are):

    hash    sha256 of a file (image, DICOM series folder, annotation mask) not in the cache
    phash   the pHash of a 2D image as ingest renders it, when its identity is not in the cache

Results are cached per corpus in `OUT/<corpus>/_scan/` (content hashes by path, size and mtime;
pHashes by image identity and rendering), so a nightly incremental run reads only what changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from extractors.imaging.fingerprint import (
    PHASH_FORMATS,
    Fingerprint,
    content_sha256,
    image_identity,
    item_phash,
    mask_files,
)
from pipelines.writers.shard import atomic_write_bytes, parquet_bytes

SCAN_DIR = "_scan"
RENDER_VERSION = "phash-v1"
# the cache names a file by a hash of its path: dataset paths can hold identifiers (TCIA folder names
# carry the subject id and study date), and the cache sits in the output folder
FILES = pa.schema([("source", pa.string()), ("path_sha256", pa.string()), ("size", pa.int64()),
                   ("mtime_ns", pa.int64()), ("sha256", pa.string())])
PHASHES = pa.schema([("identity", pa.string()), ("render", pa.string()), ("phash", pa.string())])
FileKey = tuple[str, str]  # (source, dataset-relative path)


def path_key(rel: str) -> str:
    return hashlib.sha256(rel.encode()).hexdigest()


def file_stat(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) of a file; of a folder (a DICOM series), the total size and the newest mtime of
    its files. None when there is nothing to read."""
    try:
        if path.is_dir():
            stats = [p.stat() for p in path.rglob("*") if p.is_file()]
            return (sum(s.st_size for s in stats), max(s.st_mtime_ns for s in stats)) if stats else None
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def work_batch(batch: pa.Table, ct_window: str) -> pa.Table:
    """Driver or Ray worker: run `hash` and `phash` units (payload: an absolute path / an item's JSON)."""
    out: dict[str, list[Any]] = {"unit": [], "value": [], "problem": []}
    for unit, kind, payload in zip(batch.column("unit").to_pylist(), batch.column("kind").to_pylist(),
                                   batch.column("payload").to_pylist(), strict=True):
        value, problem = None, None
        if kind == "hash":
            try:
                value = content_sha256(Path(payload))
            except OSError as err:
                problem = f"unreadable ({type(err).__name__})"
        else:
            value, problem = item_phash(json.loads(payload), ct_window)
        out["unit"].append(unit)
        out["value"].append(value)
        out["problem"].append(problem)
    return pa.table(out)


@dataclass
class Cache:
    files: dict[tuple[str, str, int, int], str] = field(default_factory=dict)
    phashes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path | None, render: str) -> Cache:
        cache = cls()
        if root is None:
            return cache
        for r in _read(root / SCAN_DIR / "files.parquet", FILES):
            cache.files[(r["source"], r["path_sha256"], r["size"], r["mtime_ns"])] = r["sha256"]
        for r in _read(root / SCAN_DIR / "phash.parquet", PHASHES):
            if r["render"] == render:
                cache.phashes[r["identity"]] = r["phash"]
        return cache

    def save(self, root: Path, render: str) -> None:
        files = [{"source": s, "path_sha256": p, "size": z, "mtime_ns": m, "sha256": h}
                 for (s, p, z, m), h in sorted(self.files.items())]
        phashes = [{"identity": i, "render": render, "phash": h} for i, h in sorted(self.phashes.items())]
        atomic_write_bytes(root / SCAN_DIR / "files.parquet", parquet_bytes(files, FILES))
        atomic_write_bytes(root / SCAN_DIR / "phash.parquet", parquet_bytes(phashes, PHASHES))


def _read(path: Path, schema: pa.Schema) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        return pq.read_table(path, schema=schema).to_pylist()
    except (OSError, pa.ArrowInvalid):  # a damaged cache is only a cache: rebuild it
        return []


def run_units(units: list[tuple[str, str, str]], ct_window: str, ray_above: int) -> dict[str, tuple[Any, Any]]:
    if not units:
        return {}
    batch = pa.table({"unit": [u[0] for u in units], "kind": [u[1] for u in units], "payload": [u[2] for u in units]})
    if len(units) > ray_above:  # Ray tasks of 64 files, a whole CPU each (hashing and decoding)
        from pipelines.ray_session import map_blocks

        rows = map_blocks(work_batch, batch, 64, 1, ct_window=ct_window)
    else:
        rows = work_batch(batch, ct_window).to_pylist()
    return {r["unit"]: (r["value"], r["problem"]) for r in rows}


def scan(
    items: Mapping[str, dict[str, Any]],
    *,
    with_phash: bool,
    ct_window: str = "soft_tissue",
    cache_root: Path | None = None,
    ray_above: int = 256,
    log: Callable[[str], None] | None = None,
) -> dict[str, Fingerprint]:
    """sample key → Fingerprint for every item (`items`: sample key → the source item as a dict)."""
    render = f"{RENDER_VERSION}|{ct_window}"
    cache = Cache.load(cache_root, render)
    # 1. content hashes of every unique file (images and masks), from the cache where size+mtime match
    files: dict[FileKey, tuple[Path, tuple[int, int] | None]] = {}
    for item in items.values():
        for rel in [item.get("path"), *mask_files(item)]:
            if rel and (item["source"], rel) not in files:
                path = Path(item["root"]) / rel
                files[(item["source"], rel)] = (path, file_stat(path))
    sha: dict[FileKey, str | None] = {}
    units: list[tuple[str, str, str]] = []
    for fk, (path, st) in sorted(files.items()):
        cached = cache.files.get((fk[0], path_key(fk[1]), *st)) if st else None
        sha[fk] = cached
        if st and cached is None:
            units.append((f"{fk[0]}\0{fk[1]}", "hash", str(path)))
    done = run_units(units, ct_window, ray_above)
    for unit, (value, _) in done.items():
        fk = tuple(unit.split("\0", 1))
        sha[fk] = value  # type: ignore[index]
        st = files[fk][1]  # type: ignore[index]
        if value and st:
            cache.files[(fk[0], path_key(fk[1]), *st)] = value
    # 2. pHashes of 2D images whose identity is not cached
    ph_units = []
    for key, item in sorted(items.items()):
        content = sha.get((item["source"], item.get("path") or ""))
        if (with_phash and content and item.get("format") in PHASH_FORMATS
                and image_identity(content, item.get("meta") or {}) not in cache.phashes):
            ph_units.append((key, "phash", json.dumps(item, sort_keys=True)))
    ph_done = run_units(ph_units, ct_window, ray_above)
    result: dict[str, Fingerprint] = {}
    for key, item in items.items():
        content = sha.get((item["source"], item.get("path") or ""))
        identity = image_identity(content, item.get("meta") or {}) if content else None
        value, problem = ph_done.get(key, (None, None))
        if value and identity:
            cache.phashes[identity] = value
        phash = (value or cache.phashes.get(identity or "")) if with_phash else None
        result[key] = Fingerprint(content, phash, problem if content else "missing_file", masks_digest(item, sha))
    if log:
        log(f"scan: {len(items)} input(s), {len(files)} file(s): {len(units)} hashed and {len(ph_units)} "
            "pHashed now, the rest from the cache")
    if cache_root is not None and (units or ph_units):
        cache.save(cache_root, render)
    return result


def masks_digest(item: dict[str, Any], sha: dict[FileKey, str | None]) -> str | None:
    paths = mask_files(item)
    if not paths:
        return None
    text = "\n".join(f"{p}\0{sha.get((item['source'], p)) or 'missing'}" for p in paths)
    return hashlib.sha256(text.encode()).hexdigest()
