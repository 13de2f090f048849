"""Corrected annotations back into the corpus: new REGION rows with origin `annotator` that supersede
(never delete) the rows they correct, written as one more regions part and recorded in the manifest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pycocotools import mask as mask_utils

from qc.audits.integrity import sha256_file
from qc.corpus import MANIFEST, read_manifest, read_table
from schemas.errors import BadInput
from schemas.ontology import load_ontology
from schemas.tables import REGION_SCHEMA, empty_row


@dataclass(frozen=True)
class Correction:
    """One corrected mask as a review tool returned it."""

    image_id: str
    mask: np.ndarray  # HxW uint8
    code: str | None
    supersedes: str | None  # the region it corrects; None for a region the annotator added


def correction_row(c: Correction, original: dict[str, Any] | None, annotator: str) -> dict[str, Any]:
    mask = np.asfortranarray(c.mask.astype(np.uint8))
    rle = mask_utils.encode(mask)
    counts = rle["counts"].decode()
    x, y, w, h = (float(v) for v in mask_utils.toBbox(rle))
    onto = load_ontology()
    code = c.code or (original or {}).get("code")
    if code is not None and code not in onto:
        raise BadInput("unknown_label", "a corrected region carries a label the ontology does not know",
                       unit="region", ref=c.supersedes or c.image_id)
    key = f"{c.image_id}|{c.supersedes}|{code}|{counts}|{annotator}"
    row = empty_row(REGION_SCHEMA)
    row.update(
        region_id="ann_" + hashlib.sha256(key.encode()).hexdigest()[:20], image_id=c.image_id,
        source=(original or {}).get("source") or "annotator", label=(original or {}).get("label"),
        code=code, code_path=onto.path(code) if code else [], origin="annotator",
        box_x=x, box_y=y, box_w=w, box_h=h, rle_counts=counts, mask_height=mask.shape[0],
        mask_width=mask.shape[1], area=int(mask.sum()), parent_region_id=(original or {}).get("parent_region_id"),
        annotator=annotator, supersedes=c.supersedes, qc_flags=[],
    )
    return row


def record_in_manifest(corpus_dir: Path, rel: str, rows: int) -> None:
    path = corpus_dir / MANIFEST
    manifest = read_manifest(corpus_dir)
    if not manifest:
        return
    target = corpus_dir / rel
    manifest.setdefault("files", {})[rel] = {"sha256": sha256_file(target), "bytes": target.stat().st_size,
                                             "rows": rows}
    manifest.setdefault("rows", {})["regions"] = manifest.get("rows", {}).get("regions", 0) + rows
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str))


def import_corrections(corpus_dir: Path, corrections: list[Correction], annotator: str) -> Path:
    """Write tables/regions/part-annotator-<digest>.parquet and record it in the manifest."""
    corpus_dir = Path(corpus_dir)
    originals = {r["region_id"]: r for r in read_table(corpus_dir, "regions").to_pylist()}
    images = set(read_table(corpus_dir, "images").column("image_id").to_pylist())
    rows = []
    for c in corrections:
        if c.image_id not in images:
            raise BadInput("malformed_row", "a correction names an image that is not in the corpus",
                           unit="region", ref=c.image_id)
        if c.supersedes not in originals:  # a region the annotator added (its tool made up the id)
            c = replace(c, supersedes=None)
        rows.append(correction_row(c, originals.get(c.supersedes or ""), annotator))
    rows = sorted({r["region_id"]: r for r in rows}.values(), key=lambda r: r["region_id"])
    digest = hashlib.sha256("".join(r["region_id"] for r in rows).encode()).hexdigest()[:12]
    rel = f"tables/regions/part-annotator-{digest}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=REGION_SCHEMA), corpus_dir / rel, compression="zstd")
    record_in_manifest(corpus_dir, rel, len(rows))
    return corpus_dir / rel
