"""`masks.classical` on SAMPLE rows built here: the QC choice is recorded on each generated region."""

from __future__ import annotations

import cv2
import numpy as np
import pyarrow as pa
import pytest

from extractors.imaging.encode import encode_png
from extractors.masks.classical import ClassicalBoxMasker
from pipelines.stage import RunContext
from pipelines.stages.masks_classical import ClassicalMaskStage
from schemas.tables import REGION_SCHEMA, SAMPLE_SCHEMA, empty_row


def sample(img: np.ndarray, box: tuple[float, float, float, float]) -> dict:  # type: ignore[type-arg]
    region = empty_row(REGION_SCHEMA)
    region.update(region_id="gt-0", image_id="img-0", source="sources.test", label="Mass", code="mass",
                  code_path=["finding", "mass"], origin="dataset_gt", box_x=box[0], box_y=box[1], box_w=box[2],
                  box_h=box[3])
    row = empty_row(SAMPLE_SCHEMA)
    row.update(sample_key="k", shard="train-000000", status="ok", item="{}",
               image_png=cv2.imencode(".png", img)[1].tobytes(), regions=[region])
    return row


def run(stage: ClassicalMaskStage, row: dict) -> list[dict]:  # type: ignore[type-arg]
    return stage.process_batch(pa.Table.from_pylist([row], schema=SAMPLE_SCHEMA)).to_pylist()[0]["regions"]


def test_choice_recorded_on_the_region() -> None:
    rng = np.random.default_rng(0)
    img = rng.normal(60, 10, (128, 128))
    cv2.ellipse(img, (64, 60), (35, 20), 0, 0, 360, 180, -1)
    img = np.clip(img, 0, 255).astype(np.uint8)
    box = (29.0, 40.0, 71.0, 41.0)  # the ellipse's tight box
    regions = run(ClassicalMaskStage(ctx=RunContext(salt="t")), sample(img, box))
    gen = [r for r in regions if r["origin"] == "classical"]
    assert len(gen) == 1
    rec = gen[0]
    assert rec["candidate"] in ("grabcut", "ellipse", "box_fill") and rec["model"] == f"classical:{rec['candidate']}"
    assert rec["qc_score"] is not None and rec["qc_score"] == pytest.approx(round(rec["qc_score"], 4), abs=1e-6)
    assert rec["candidate_reason"].startswith(("qc=", "box_margin:"))
    legacy = run(ClassicalMaskStage(ClassicalMaskStage.Params(qc_choice=False), RunContext(salt="t")), sample(img, box))
    old = next(r for r in legacy if r["origin"] == "classical")
    assert old["candidate"] is None and old["qc_score"] is None and old["candidate_reason"] is None


def test_a_colour_png_is_decoded_as_rgb() -> None:
    """The stored PNG (`encode_png`, RGB convention) is read back as RGB, the order `to_gray` takes:
    a blue disk on green is visible to Otsu only in RGB order (tests/extractors/masks/test_gray_order.py)."""
    rgb = np.zeros((96, 96, 3), np.uint8)
    rgb[..., 1] = 100
    disk = np.zeros((96, 96), np.uint8)
    cv2.circle(disk, (48, 48), 20, 1, -1)
    rgb[disk.astype(bool)] = (0, 0, 200)
    rgb = np.clip(rgb + np.random.default_rng(0).normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
    row = sample(rgb, (24.0, 24.0, 49.0, 49.0))
    row["image_png"] = encode_png(rgb)
    stage = ClassicalMaskStage(ClassicalMaskStage.Params(method="otsu", qc_choice=False), RunContext(salt="t"))
    gen = [r for r in run(stage, row) if r["origin"] == "classical"]
    direct = ClassicalBoxMasker("otsu", qc_choice=False).predict(rgb, (24.0, 24.0, 49.0, 49.0)).mask
    assert len(gen) == 1
    assert (direct & disk.astype(bool)).sum() / (direct | disk.astype(bool)).sum() > 0.9
    assert gen[0]["area"] == int(direct.sum())
