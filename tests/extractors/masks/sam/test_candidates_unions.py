"""The union candidates of wider views (`sam_jit`, `sam_crop_union`) and the intensity-refined crop
union (`sam_crop_union_int`), checked exactly against the passes they are made of, with the tiny
randomly initialised SAM (its masks mean nothing; only how the candidates are built is tested)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from extractors.masks.candidates import in_box
from extractors.masks.refine import intensity_refined
from extractors.masks.sam.candidates import (
    EXPAND,
    JITTER,
    crop_window,
    grown,
    mirrored,
    sam_candidates,
)
from extractors.masks.sam.predictor import BatchedSamPredictor
from tests.extractors.masks.sam.tiny_sam import tiny_backbone


@pytest.fixture(scope="module")
def predictor() -> BatchedSamPredictor:
    return BatchedSamPredictor(tiny_backbone(), cpu_threads=1)


def scene() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    img = rng.normal(70, 20, (96, 128))
    img[30:60, 40:90] += 100
    boxes = np.array([[40.0, 30.0, 90.0, 60.0], [5.0, 70.0, 25.0, 90.0]])  # both small: crop candidates
    return np.clip(img, 0, 255).astype(np.uint8), boxes


def test_sam_jit_is_the_union_of_the_wider_views(predictor: BatchedSamPredictor) -> None:
    img, boxes = scene()
    enc = predictor.encode([img])[0]
    mirror = predictor.encode([np.ascontiguousarray(img[:, ::-1])])[0]
    for i, cands in enumerate(sam_candidates(predictor, enc, boxes, img)):
        by = {c.name: c for c in cands}
        box = boxes[i]
        wider = [predictor.predict_boxes(enc, grown(box, f, 96, 128)[None]) for f in JITTER]
        flip = predictor.predict_boxes(mirror, mirrored(box[None], 128))
        parts = [by["sam"].mask, by["sam_x"].mask, *(in_box(b.masks[0, 0], box) for b in wider),
                 in_box(flip.masks[0, 0][:, ::-1], box)]
        assert np.array_equal(by["sam_jit"].mask, np.any(parts, axis=0))
        scores = [by["sam"], by["sam_x"], by["sam_flip"]]
        want_iou = np.mean([*(c.predicted_iou for c in scores[:2]), *(float(b.predicted_iou[0, 0]) for b in wider),
                            scores[2].predicted_iou])
        assert by["sam_jit"].predicted_iou == pytest.approx(want_iou)
        assert not any(n.startswith("sam_x1") for n in by)  # the wider passes are parts, not candidates


def test_sam_jit_needs_the_mirror(predictor: BatchedSamPredictor) -> None:
    img, boxes = scene()
    enc = predictor.encode([img])[0]
    off = sam_candidates(predictor, enc, boxes, img, flip=False)
    assert not any(c.name == "sam_jit" for cands in off for c in cands)
    without = sam_candidates(predictor, enc, boxes)
    assert not any(c.name in {"sam_jit", "sam_crop_union"} for cands in without for c in cands)


def test_crop_union_and_its_refinement(predictor: BatchedSamPredictor) -> None:
    img, boxes = scene()
    enc = predictor.encode([img])[0]
    for i, cands in enumerate(sam_candidates(predictor, enc, boxes, img, flip=False)):
        by = {c.name: c for c in cands}
        box = boxes[i]
        x0, y0, x1, y1 = win = crop_window(box, 96, 128)
        cenc = predictor.encode([np.ascontiguousarray(img[y0:y1, x0:x1])])[0]
        local = box - np.array([x0, y0, x0, y0], dtype=np.float64)
        wider = [predictor.predict_boxes(cenc, grown(local, f, y1 - y0, x1 - x0)[None]) for f in (EXPAND, *JITTER)]
        placed = np.zeros((96, 128), bool)
        for b in wider:
            placed[y0:y1, x0:x1] |= b.masks[0, 0]
        assert win and np.array_equal(by["sam_crop_union"].mask, by["sam_crop"].mask | in_box(placed, box))
        assert by["sam_crop_union"].predicted_iou == pytest.approx(
            np.mean([by["sam_crop"].predicted_iou, *(float(b.predicted_iou[0, 0]) for b in wider)]))
        refined = by["sam_crop_union_int"]
        assert np.array_equal(refined.mask, intensity_refined(img, by["sam_crop_union"].mask, box))
        assert (refined.predicted_iou, refined.stability) == (by["sam_crop_union"].predicted_iou,
                                                              by["sam_crop_union"].stability)
