"""Label Studio tasks with brush (its own RLE, default) or polygon (percent coordinates) pre-annotations,
and corrections read back from a Label Studio JSON export, either shape. Each result's id is
`<region_id>` (or `<region_id>#k` for the k-th polygon of a multi-part mask), so an edited result finds
the region it supersedes; results with the same id are merged into one mask."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from qc.review.corrections import Correction
from qc.review.ls_brush import decode_mask, encode_mask
from qc.review.select import region_mask, write_images
from schemas.errors import ConfigError

TASKS_FILE = "tasks.json"
CONFIG_FILE = "labeling_config.xml"
SHAPES = {"brush": ("BrushLabels", "brushlabels"), "polygon": ("PolygonLabels", "polygonlabels")}


def mask_polygons(mask: np.ndarray) -> list[list[list[float]]]:
    """Outer contours as [[x%, y%], ...] (Label Studio's polygon convention), largest first."""
    h, w = mask.shape
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contours = sorted((c for c in contours if len(c) >= 3), key=cv2.contourArea, reverse=True)
    return [[[round(100 * float(x) / w, 4), round(100 * float(y) / h, 4)] for x, y in c[:, 0, :]]
            for c in contours]


def polygons_mask(polygons: list[list[list[float]]], height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=np.uint8)
    for points in polygons:
        pts = np.array([[round(x * width / 100), round(y * height / 100)] for x, y in points], dtype=np.int32)
        cv2.fillPoly(mask, [pts], 1)
    return mask


def labeling_config(codes: list[str], shape: str = "brush") -> str:
    tag = SHAPES[shape][0]
    labels = "\n".join(f'    <Label value="{c}"/>' for c in codes)
    return (f'<View>\n  <Image name="image" value="$image" zoom="true"/>\n'
            f'  <{tag} name="label" toName="image" strokeWidth="2">\n{labels}\n  </{tag}>\n</View>\n')


def region_results(r: dict[str, Any], shape: str) -> list[dict[str, Any]]:
    """One brush result, or one polygon result per outer contour, for a region."""
    base = {"from_name": "label", "to_name": "image", "original_width": r["width"],
            "original_height": r["height"], "image_rotation": 0,
            "meta": {"text": [f"origin={r['origin']}", f"predicted_iou={r['predicted_iou']}"]}}
    label = [r["code"] or "unlabelled"]
    mask = region_mask(r)
    if shape == "brush":
        return [{**base, "id": r["region_id"], "type": "brushlabels",
                 "value": {"format": "rle", "rle": encode_mask(mask), "brushlabels": label}}]
    return [{**base, "id": r["region_id"] if k == 0 else f"{r['region_id']}#{k}", "type": "polygonlabels",
             "value": {"points": poly, "polygonlabels": label}}
            for k, poly in enumerate(mask_polygons(mask))]


def export_labelstudio(corpus_dir: Path, regions: list[dict[str, Any]], out: Path, shape: str = "brush") -> Path:
    if shape not in SHAPES:
        raise ConfigError("--ls-shape", f"unknown shape {shape!r}", sorted(SHAPES))
    out.mkdir(parents=True, exist_ok=True)
    paths = write_images(corpus_dir, regions, out)
    by_image: dict[str, list[dict[str, Any]]] = {}
    for r in regions:
        if r["image_id"] in paths:
            by_image.setdefault(r["image_id"], []).append(r)
    tasks = []
    for image_id, rs in sorted(by_image.items()):
        results = [res for r in rs for res in region_results(r, shape)]
        tasks.append({"data": {"image": paths[image_id], "image_id": image_id},
                      "predictions": [{"model_version": "medground", "result": results}]})
    (out / CONFIG_FILE).write_text(labeling_config(sorted({r["code"] or "unlabelled" for r in regions}), shape))
    path = out / TASKS_FILE
    path.write_text(json.dumps(tasks, indent=1, sort_keys=True))
    return path


def task_results(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The latest annotation's results (a submitted annotation wins over the pre-annotation)."""
    annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if annotations:
        return annotations[-1].get("result") or []
    predictions = task.get("predictions") or []
    return predictions[-1].get("result") or [] if predictions else []


def result_mask(res: dict[str, Any]) -> np.ndarray:
    """A brush or polygon result's mask at the image's original size."""
    height, width = int(res["original_height"]), int(res["original_width"])
    if res["type"] == "brushlabels":
        rle = res["value"].get("rle") or res.get("rle")
        if not rle:
            return np.zeros((height, width), dtype=np.uint8)
        return decode_mask(rle, height, width)
    return polygons_mask([res["value"]["points"]], height, width)


def read_labelstudio(path: Path) -> list[Correction]:
    out = []
    for task in json.loads(Path(path).read_text()):
        image_id = task["data"].get("image_id") or Path(task["data"]["image"]).stem
        pieces: dict[str, dict[str, Any]] = {}
        for res in task_results(task):
            kind = res.get("type")
            if kind not in ("brushlabels", "polygonlabels"):
                continue
            key = str(res["id"]).split("#")[0]
            mask = result_mask(res)
            entry = pieces.setdefault(key, {"mask": np.zeros_like(mask),
                                            "code": (res["value"].get(kind) or [None])[0]})
            entry["mask"] |= mask
        for key, entry in sorted(pieces.items()):
            code = None if entry["code"] == "unlabelled" else entry["code"]
            out.append(Correction(image_id=image_id, mask=entry["mask"], code=code, supersedes=key))
    return out
