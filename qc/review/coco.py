"""COCO JSON with compressed RLE (CVAT imports and exports it): export selected regions, read corrections.

Each annotation carries `attributes.region_id`, which CVAT keeps, so a corrected annotation finds the
region it supersedes; annotations without it are regions the annotator added.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from qc.review.corrections import Correction
from qc.review.select import region_mask, write_images

COCO_FILE = "annotations.json"


def export_coco(corpus_dir: Path, regions: list[dict[str, Any]], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    paths = write_images(corpus_dir, regions, out)
    image_ids = sorted(paths)
    image_num = {image_id: i + 1 for i, image_id in enumerate(image_ids)}
    codes = sorted({r["code"] or "unlabelled" for r in regions})
    category = {code: i + 1 for i, code in enumerate(codes)}
    dims = {r["image_id"]: (r["height"], r["width"]) for r in regions}
    annotations = []
    for n, r in enumerate((r for r in regions if r["image_id"] in paths), 1):
        rle = mask_utils.encode(np.asfortranarray(region_mask(r)))
        annotations.append({
            "id": n, "image_id": image_num[r["image_id"]], "category_id": category[r["code"] or "unlabelled"],
            "segmentation": {"size": list(rle["size"]), "counts": rle["counts"].decode()},
            "area": float(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)],
            "iscrowd": 1, "attributes": {"region_id": r["region_id"], "origin": r["origin"]},
        })
    doc = {
        "info": {"description": "medground review export", "version": "1"},
        "images": [{"id": image_num[i], "file_name": paths[i], "height": dims[i][0], "width": dims[i][1],
                    "medground_image_id": i} for i in image_ids],
        "categories": [{"id": category[c], "name": c, "supercategory": ""} for c in codes],
        "annotations": annotations,
    }
    path = out / COCO_FILE
    path.write_text(json.dumps(doc, indent=1, sort_keys=True))
    return path


def decode_segmentation(seg: Any, height: int, width: int) -> np.ndarray:
    """Compressed RLE, uncompressed RLE (counts as a list) or polygons → HxW uint8 mask."""
    if isinstance(seg, list):
        rles = mask_utils.frPyObjects(seg, height, width)
        return mask_utils.decode(mask_utils.merge(rles))
    if isinstance(seg["counts"], list):
        seg = mask_utils.frPyObjects(seg, height, width)
    else:
        seg = {"size": seg["size"], "counts": seg["counts"].encode()}
    return mask_utils.decode(seg)


def read_coco(path: Path) -> list[Correction]:
    doc = json.loads(Path(path).read_text())
    images = {im["id"]: im for im in doc["images"]}
    categories = {c["id"]: c["name"] for c in doc["categories"]}
    out = []
    for ann in sorted(doc["annotations"], key=lambda a: a["id"]):
        im = images[ann["image_id"]]
        image_id = im.get("medground_image_id") or Path(im["file_name"]).stem
        code = categories.get(ann["category_id"])
        out.append(Correction(
            image_id=image_id, mask=decode_segmentation(ann["segmentation"], im["height"], im["width"]),
            code=None if code == "unlabelled" else code,
            supersedes=(ann.get("attributes") or {}).get("region_id")))
    return out
