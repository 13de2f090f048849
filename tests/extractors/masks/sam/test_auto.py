"""Automatic masks over a tiny randomly initialised SAM (segment-anything's own modules at a small
size, see tiny_sam.py): grids, filters, NMS and determinism — the masks themselves mean nothing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.sam

from extractors.masks.sam.auto import AutoMaskGenerator  # noqa: E402
from extractors.masks.sam.predictor import BatchedSamPredictor  # noqa: E402
from extractors.masks.sam.qc import QcThresholds, box_iou  # noqa: E402
from tests.extractors.masks.sam.tiny_sam import tiny_backbone  # noqa: E402

OPEN = QcThresholds(pred_iou=-10.0, stability=0.0, min_area_frac=0.001)


@pytest.fixture(scope="module")
def encoded():  # type: ignore[no-untyped-def]
    pred = BatchedSamPredictor(tiny_backbone(), decoder_batch=16)
    img = (np.random.default_rng(1).random((96, 120)) * 255).astype(np.uint8)
    return pred, pred.encode([img])[0]


def test_grids() -> None:
    gen = AutoMaskGenerator(None, points_per_side=4, box_scales=(0.5, 0.25))  # type: ignore[arg-type]
    pts = gen.grid_points(100, 200)
    assert pts.shape == (16, 2) and pts.min() > 0 and pts[:, 0].max() < 200 and pts[:, 1].max() < 100
    boxes = gen.grid_boxes(100, 200)
    assert boxes.shape == (9 + 49, 4)
    np.testing.assert_allclose(boxes[0], [0, 0, 100, 50])
    np.testing.assert_allclose(boxes[8], [100, 50, 200, 100])
    assert boxes.min() >= 0 and boxes[:, 2].max() <= 200 + 1e-9


def test_point_grid_masks_filtered_deduplicated_sorted(encoded) -> None:  # type: ignore[no-untyped-def]
    pred, enc = encoded
    gen = AutoMaskGenerator(pred, points_per_side=4, thresholds=OPEN, box_nms_thresh=0.7, max_masks=50)
    masks = gen.generate(enc)
    assert masks, "open thresholds keep every non-empty candidate"
    scores = [m.predicted_iou for m in masks]
    assert scores == sorted(scores, reverse=True)
    for m in masks:
        assert m.mask.shape == (96, 120) and m.mask.sum() >= 0.001 * 96 * 120
    for i, a in enumerate(masks):
        for b in masks[i + 1 :]:
            assert box_iou(a.box, b.box) <= 0.7 + 1e-6 or a.cleaned or b.cleaned
    again = gen.generate(enc)
    assert [(m.anchor, m.predicted_iou) for m in again] == [(m.anchor, m.predicted_iou) for m in masks]
    assert all((a.mask == b.mask).all() for a, b in zip(again, masks, strict=True))


def test_thresholds_filter_everything(encoded) -> None:  # type: ignore[no-untyped-def]
    pred, enc = encoded
    strict = AutoMaskGenerator(pred, points_per_side=4, thresholds=QcThresholds(pred_iou=1.01))
    assert strict.generate(enc) == []


def test_box_grid_for_box_only_models(encoded) -> None:  # type: ignore[no-untyped-def]
    pred, enc = encoded
    box_only = BatchedSamPredictor(dataclasses.replace(pred.backbone, accepts_points=False))
    gen = AutoMaskGenerator(box_only, thresholds=OPEN, box_scales=(0.5,))
    masks = gen.generate(enc)
    centres = {(round(x, 3), round(y, 3)) for x, y in (m.anchor for m in masks)}
    grid = gen.grid_boxes(96, 120)
    assert centres <= {(round((b[0] + b[2]) / 2, 3), round((b[1] + b[3]) / 2, 3)) for b in grid}
