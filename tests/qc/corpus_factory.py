"""A tiny but valid corpus directory, written without the pipeline, for developing and testing qc/.

Layout and schemas are those of the real writers (schemas/tables.py; tables/*/part-*.parquet,
shards/<split>-000000.tar, manifest.json with inputs per source/unit and sha256 of every file). The
books balance by construction: inputs = written + quarantined per (source, unit). Knobs break one
thing at a time (leakage, PHI, an unbalanced count, a tampered file) so audits and gates can fail.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image
from pycocotools import mask as mask_utils

from schemas.ontology import load_ontology
from schemas.tables import (
    FINDING_SCHEMA,
    GROUNDING_SCHEMA,
    IMAGE_SCHEMA,
    QUARANTINE_SCHEMA,
    REGION_SCHEMA,
    REPORT_SCHEMA,
    TABLE_SCHEMAS,
    empty_row,
)

NIH = "sources.nih_cxr14"
RSNA = "sources.rsna_pneumonia"
SIZE = 64
PATHS = {code: load_ontology().path(code) for code in ("pleural_effusion", "pneumonia", "no_finding")}
SOURCES = [
    {"name": NIH, "title": "NIH ChestX-ray14", "license": "CC0-1.0", "homepage": "https://nihcc.app.box.com",
     "citation": "Wang X. et al. ChestX-ray8. CVPR 2017."},
    {"name": RSNA, "title": "RSNA Pneumonia Detection", "license": "other",
     "homepage": "https://www.rsna.org", "citation": "Shih G. et al. Radiology: AI 2019."},
]
CONFIG = {"corpus": "demo", "version": "0.1.0", "shard_size": 4,
          "stages": [{"name": "ingest.decode", "params": {}},
                     {"name": "masks.classical", "params": {"method": "grabcut", "min_area": 16}}]}


@dataclass
class CorpusKnobs:
    """What to break. Defaults give a clean, balanced corpus."""

    leak_patient: bool = False  # one patient in train and test
    phi_text: str | None = None  # planted into a report text and a shard JSON
    extra_inputs: int = 0  # manifest claims this many more NIH images than were accounted for
    tamper: bool = False  # change a file after the manifest recorded its sha256
    bad_box: bool = False  # a region whose box does not enclose its mask
    llm_findings: bool = True  # add llm findings beside the rules ones (agreement audit)
    dicom_root: Path | None = None  # where the RSNA DICOMs live (source_path is relative to it)


def disc(cy: int, cx: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[:SIZE, :SIZE]
    return ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(np.uint8)


def rle_of(mask: np.ndarray) -> str:
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()


def png_of(mask: np.ndarray, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = (rng.integers(20, 60, (SIZE, SIZE)) + mask * 150).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def row(schema: pa.Schema, **values: Any) -> dict[str, Any]:
    out = empty_row(schema)
    out.update(values)
    return out


def image_rows(knobs: CorpusKnobs) -> list[dict[str, Any]]:
    specs = [  # (source, key, patient, split, dup_group)
        (NIH, "00000001_000.png", "p1", "train", "g1"),
        (NIH, "00000002_000.png", "p2", "train", "g2"),
        (NIH, "00000003_000.png", "p3", "val", "g3"),
        (NIH, "00000004_000.png", "p4", "test", "g4"),
        (RSNA, "rsna-a.dcm", "p5", "train", "g5"),
        (RSNA, "rsna-b.dcm", "p6", "test", "g6"),
    ]
    if knobs.leak_patient:
        specs[3] = (NIH, "00000004_000.png", "p1", "test", "g4")
    rows = []
    for i, (source, key, patient, split, group) in enumerate(specs):
        mask = disc(20 + 4 * i, 28, 8)
        png = png_of(mask, i)
        rows.append(row(
            IMAGE_SCHEMA, image_id=f"img{i:02d}", source=source, source_key=key, source_path=key,
            patient_id=hashlib.sha256(patient.encode()).hexdigest()[:16], study_id=f"st{i:02d}",
            modality="DX" if source == NIH else "CR", body_part="CHEST", view="PA", height=SIZE,
            width=SIZE, original_height=SIZE * 16, original_width=SIZE * 16, bit_depth=8, intensity="png",
            split=split, license="CC0-1.0" if source == NIH else "other",
            sha256=hashlib.sha256(png).hexdigest(), phash=f"{i:016x}", dup_group=group,
            _png=png, _mask=mask,
        ))
    return rows


def region_rows(images: list[dict[str, Any]], knobs: CorpusKnobs) -> list[dict[str, Any]]:
    rows = []
    for i, img in enumerate(images):
        mask = img["_mask"]
        ys, xs = np.nonzero(mask)
        box = (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))
        code = "pleural_effusion" if img["source"] == NIH else "pneumonia"
        gt_id = f"r{i:02d}gt"
        rows.append(row(REGION_SCHEMA, region_id=gt_id, image_id=img["image_id"], source=img["source"],
                        label="Effusion" if code == "pleural_effusion" else "Lung Opacity", code=code,
                        code_path=PATHS[code], origin="dataset_gt", box_x=box[0], box_y=box[1], box_w=box[2],
                        box_h=box[3], area=int(box[2] * box[3]), qc_flags=[]))
        pred = mask.copy()
        pred[:, : 20 + i] = 0  # an imperfect weak mask
        pys, pxs = np.nonzero(pred)
        pbox = [float(pxs.min()), float(pys.min()), float(pxs.max() - pxs.min() + 1),
                float(pys.max() - pys.min() + 1)]
        if knobs.bad_box and i == 0:
            pbox = [0.0, 0.0, 4.0, 4.0]
        dice = 2 * float((pred & mask).sum()) / float(pred.sum() + mask.sum())
        rows.append(row(REGION_SCHEMA, region_id=f"r{i:02d}cl", image_id=img["image_id"], source=img["source"],
                        label=None, code=code, code_path=PATHS[code], origin="classical", box_x=pbox[0],
                        box_y=pbox[1], box_w=pbox[2], box_h=pbox[3], rle_counts=rle_of(pred),
                        mask_height=SIZE, mask_width=SIZE, area=int(pred.sum()), prompt_region_id=gt_id,
                        predicted_iou=0.5 + 0.08 * i, stability_score=0.9 - 0.05 * i, dice_vs_gt=dice,
                        model="classical.grabcut/1", qc_flags=["low_iou"] if i == 0 else []))
    return rows


def finding_rows(images: list[dict[str, Any]], knobs: CorpusKnobs) -> list[dict[str, Any]]:
    rows = []
    for i, img in enumerate(images):
        code = "pleural_effusion" if img["source"] == NIH else "pneumonia"
        rows.append(row(FINDING_SCHEMA, finding_id=f"f{i:02d}ds", study_id=img["study_id"],
                        image_id=img["image_id"], source=img["source"], label=code, code=code,
                        code_path=PATHS[code], certainty="present", laterality="none", location_codes=[],
                        extractor="dataset", phrase=code.replace("_", " "), flags=[]))
    for i, img in enumerate(images[:2]):
        for extractor in ("rules", "llm") if knobs.llm_findings else ("rules",):
            certainty = "absent" if (extractor == "llm" and i == 1) else "present"
            rows.append(row(FINDING_SCHEMA, finding_id=f"f{i:02d}{extractor}", study_id=img["study_id"],
                            report_id=f"rep{i:02d}", source=img["source"], section="findings",
                            sentence="Small left pleural effusion.", span_start=0, span_end=28,
                            phrase="left pleural effusion", label="pleural effusion", code="pleural_effusion",
                            code_path=PATHS["pleural_effusion"], certainty=certainty, laterality="left",
                            location_codes=["left_lung"], extractor=extractor, confidence=0.9, flags=[]))
    return rows


def report_rows(images: list[dict[str, Any]], knobs: CorpusKnobs) -> list[dict[str, Any]]:
    rows = []
    for i, img in enumerate(images[:2]):
        text = "FINDINGS: Small left pleural effusion. IMPRESSION: Effusion."
        if knobs.phi_text and i == 0:
            text += f" Discussed with {knobs.phi_text}."
        rows.append(row(REPORT_SCHEMA, report_id=f"rep{i:02d}", study_id=img["study_id"], source=img["source"],
                        text=text, sections=[{"name": "findings", "start": 0, "end": 38}]))
    return rows


def grounding_rows(regions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row(GROUNDING_SCHEMA, grounding_id=f"g{r['region_id']}", region_id=r["region_id"],
                finding_id=f"f{r['region_id'][1:3]}ds", image_id=r["image_id"], source=r["source"],
                phrase=r["code"].replace("_", " "), code=r["code"], method="dataset", score=1.0,
                code_match="exact", flags=[])
            for r in regions if r["origin"] == "classical"]


def quarantine_rows() -> list[dict[str, Any]]:
    q = [(NIH, "image", "00000009_000.png", "ingest.decode", "missing_file"),
         (NIH, "annotation", "BBox_List_2017.csv:7", "source", "out_of_bounds"),
         (NIH, "label", "Data_Entry_2017.csv:9:Effusion", "write", "parent_quarantined"),
         (RSNA, "image", "rsna-c.dcm", "ingest.decode", "unreadable"),
         (RSNA, "annotation", "stage_2_train_labels.csv:4", "write", "parent_quarantined"),
         (NIH, "region", "img00:sam", "masks.classical", "stage_error")]
    return [row(QUARANTINE_SCHEMA, source=s, unit=u, input_ref=ref, stage=st, error_kind=k,
                message=f"{k.replace('_', ' ')} at {st}") for s, u, ref, st, k in q]


def write_parquet(path: Path, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    pq.write_table(pa.Table.from_pylist(clean, schema=schema), path, compression="zstd")


def write_shards(out: Path, images: list[dict[str, Any]], regions: list[dict[str, Any]],
                 knobs: CorpusKnobs) -> None:
    (out / "shards").mkdir(parents=True, exist_ok=True)
    for split in ("train", "val", "test"):
        with tarfile.open(out / "shards" / f"{split}-000000.tar", "w", format=tarfile.USTAR_FORMAT) as tar:
            for img in (i for i in images if i["split"] == split):
                doc = {"image": {k: v for k, v in img.items() if not k.startswith("_")},
                       "regions": [r for r in regions if r["image_id"] == img["image_id"]],
                       "findings": [], "groundings": []}
                if knobs.phi_text and img["image_id"] == "img00":
                    doc["image"]["body_part"] = knobs.phi_text
                for ext, data in (("png", img["_png"]), ("json", json.dumps(doc, sort_keys=True).encode())):
                    info = tarfile.TarInfo(f"{img['image_id']}.{ext}")
                    info.size, info.mtime = len(data), 0
                    tar.addfile(info, io.BytesIO(data))


def inputs_of(tables: dict[str, list[dict[str, Any]]], extra: int) -> dict[str, dict[str, int]]:
    inputs: dict[str, dict[str, int]] = {}
    for src in (NIH, RSNA):
        q = [r for r in tables["quarantine"] if r["source"] == src]
        written = {
            "image": sum(r["source"] == src for r in tables["images"]),
            "annotation": sum(r["source"] == src and r["origin"] == "dataset_gt" for r in tables["regions"]),
            "label": sum(r["source"] == src and r["extractor"] == "dataset" for r in tables["findings"]),
            "report": sum(r["source"] == src for r in tables["reports"]),
        }
        inputs[src] = {u: n + sum(r["unit"] == u for r in q) for u, n in written.items()}
    inputs[NIH]["image"] += extra
    return inputs


def manifest_files(out: Path) -> dict[str, dict[str, Any]]:
    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if rel.split("/")[0] not in ("tables", "shards"):
            continue
        meta: dict[str, Any] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                "bytes": path.stat().st_size}
        if path.suffix == ".parquet":
            meta["rows"] = pq.ParquetFile(path).metadata.num_rows
        files[rel] = meta
    return files


def write_corpus(root: Path, knobs: CorpusKnobs | None = None) -> Path:
    """Write the corpus under root/demo/0.1.0 and return that folder."""
    knobs = knobs or CorpusKnobs()
    out = root / "demo" / "0.1.0"
    images = image_rows(knobs)
    if knobs.dicom_root is not None:
        for img in images:
            if img["source"] == RSNA:
                img["source_path"] = img["source_key"]
    regions = region_rows(images, knobs)
    tables = {"images": images, "regions": regions, "findings": finding_rows(images, knobs),
              "reports": report_rows(images, knobs), "groundings": grounding_rows(regions),
              "quarantine": quarantine_rows()}
    for name, rows in tables.items():
        write_parquet(out / "tables" / name / "part-train-000000.parquet", rows, TABLE_SCHEMAS[name])
    write_shards(out, images, regions, knobs)
    files = manifest_files(out)
    manifest = {
        "corpus": "demo", "version": "0.1.0", "created_by": "medground",
        "versions": {"schema": "1.0.0", "code": "0.1.0", "ontology": "1.1.0"},
        "config_fingerprint": "f" * 16, "config": CONFIG, "sources": SOURCES,
        "inputs": inputs_of(tables, knobs.extra_inputs),
        "rows": {name: len(rows) for name, rows in sorted(tables.items())}, "files": files,
    }
    if knobs.dicom_root is not None:
        manifest["config"] = {**CONFIG, "sources": [{"name": RSNA, "params": {"root": str(knobs.dicom_root)}}]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    if knobs.tamper:
        shard = out / "shards" / "val-000000.tar"
        shard.write_bytes(shard.read_bytes() + b"\0" * 512)
    return out
