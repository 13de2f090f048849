"""The union candidate of wider views (`sam_jit`), checked exactly against the passes it is made of,
with the tiny randomly initialised SAM (its masks mean nothing; only how the candidates are built is
tested)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from extractors.masks.candidates import in_box
from extractors.masks.sam.candidates import (
    JITTER,
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
    assert not any(c.name == "sam_jit" for cands in without for c in cands)

