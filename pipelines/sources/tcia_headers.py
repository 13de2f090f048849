"""DICOM header reads for the TCIA source: in the driver for a few files, else as Ray tasks.

A TCIA download holds hundreds of thousands of single-slice files (LIDC-IDRI: ~244k); the source needs
each file's header (series UID, geometry, no pixels) before it can group and slice a series, about a
millisecond a file. Up to `headers_ray_above` files the driver reads them; above, the same reads run as
Ray tasks of half a CPU (`ray_session.map_blocks`, like the pre-scan's), where the workers are, and
only the headers come back. Either way the result is the same: path → SliceHeader, or the BadInput
that reading it raised (the source decides what that costs the series).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import pyarrow as pa

from extractors.imaging.series import SliceHeader, read_slice_header
from schemas.errors import BadInput

HeaderOrProblem = SliceHeader | BadInput
BLOCK_FILES = 256  # paths per Ray task (a task reads its block's headers)
_TUPLES = {f.name for f in fields(SliceHeader) if "tuple" in str(f.type)}


def read_one(path: Path) -> HeaderOrProblem:
    try:
        return read_slice_header(path)
    except BadInput as err:
        return err


def header_batch(batch: pa.Table) -> pa.Table:
    """A Ray task (or the driver): paths → the header as JSON, or the problem's kind and message."""
    out: dict[str, list[Any]] = {"path": [], "header": [], "kind": [], "message": []}
    for path in batch.column("path").to_pylist():
        got = read_one(Path(path))
        out["path"].append(path)
        if isinstance(got, BadInput):
            out["header"].append(None)
            out["kind"].append(got.kind)
            out["message"].append(str(got))
        else:
            out["header"].append(json.dumps(asdict(got)))
            out["kind"].append(None)
            out["message"].append(None)
    return pa.table(out, schema=pa.schema([(k, pa.string()) for k in out]))


def header_of_row(row: dict[str, Any]) -> HeaderOrProblem:
    """A `header_batch` row back to what `read_one` returned (floats round-trip exactly through JSON)."""
    if row["header"] is None:
        return BadInput(row["kind"], row["message"])
    data = json.loads(row["header"])
    return SliceHeader(**{k: tuple(v) if k in _TUPLES and v is not None else v for k, v in data.items()})


def read_headers(paths: Sequence[Path], ray_above: int) -> dict[Path, HeaderOrProblem]:
    """path → header or problem for every path; on Ray when there are more than `ray_above` paths."""
    if len(paths) <= ray_above:
        return {p: read_one(p) for p in paths}
    from pipelines.ray_session import map_blocks

    rows = map_blocks(header_batch, pa.table({"path": [str(p) for p in paths]}), BLOCK_FILES, 0.5)
    return {Path(r["path"]): header_of_row(r) for r in rows}
