"""BatchedSamPredictor on a tiny randomly initialised SAM (segment-anything's own modules at a small
size, see tiny_sam.py): batching changes nothing, masks come back in the original frame exactly."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.sam

from extractors.masks.sam.frame import frame_for  # noqa: E402
from extractors.masks.sam.predictor import BatchedSamPredictor, upscale_logits  # noqa: E402
from tests.extractors.masks.sam.tiny_sam import TINY_SIZE, tiny_backbone  # noqa: E402

SIZES = [(100, 60), (64, 130), (128, 128), (37, 201)]


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(rng.random(hw) * 255).astype(np.uint8) for hw in SIZES]


@pytest.fixture(scope="module")
def backbone():  # type: ignore[no-untyped-def]
    return tiny_backbone()


def test_encoder_batches_equal_one_by_one(backbone, images) -> None:  # type: ignore[no-untyped-def]
    batched = BatchedSamPredictor(backbone, encoder_batch=4).encode(images)
    single = BatchedSamPredictor(backbone, encoder_batch=1).encode(images)
    assert [e.frame for e in batched] == [frame_for(h, w, TINY_SIZE) for h, w in SIZES]
    for b, s in zip(batched, single, strict=True):
        assert b.embedding.shape == (1, 32, 8, 8)
        torch.testing.assert_close(b.embedding, s.embedding, rtol=0, atol=1e-5)


def test_decoder_batches_equal_one_by_one(backbone, images) -> None:  # type: ignore[no-untyped-def]
    pred = BatchedSamPredictor(backbone, decoder_batch=3)
    enc = pred.encode(images[:1])[0]
    boxes = np.array([[5, 5, 30, 40], [10, 20, 50, 90], [0, 0, 60, 100], [1, 2, 3, 4], [20, 30, 59, 99]], float)
    batched = pred.predict_boxes(enc, boxes)
    assert batched.masks.shape == (5, 1, 100, 60) and batched.masks.dtype == bool
    for i, box in enumerate(boxes):
        one = pred.predict_boxes(enc, box[None])
        np.testing.assert_allclose(one.predicted_iou[0], batched.predicted_iou[i], atol=1e-5)
        np.testing.assert_allclose(one.stability[0], batched.stability[i], atol=1e-5)
        disagree = (one.masks[0] != batched.masks[i]).mean()
        assert disagree <= 1e-3  # only pixels whose logit sits on the threshold may flip


def test_points_multimask_keeps_best_or_all(backbone, images) -> None:  # type: ignore[no-untyped-def]
    pred = BatchedSamPredictor(backbone)
    enc = pred.encode(images[1:2])[0]
    pts, labels = np.array([[[10.0, 10.0]], [[100.0, 50.0]]]), np.ones((2, 1))
    best = pred.predict_points(enc, pts, labels)
    every = pred.predict_points(enc, pts, labels, select_best=False)
    assert best.masks.shape == (2, 1, 64, 130) and every.masks.shape == (2, 3, 64, 130)
    for i in range(2):
        k = int(np.argmax(every.predicted_iou[i]))
        assert best.predicted_iou[i, 0] == pytest.approx(every.predicted_iou[i, k], abs=1e-6)
        assert (best.masks[i, 0] == every.masks[i, k]).mean() > 0.999


def test_logits_back_to_original_frame_exactly() -> None:
    """A logit map that is +1 on rows [20, 60) × cols [40, 60) of the 128² model input (and in the
    padding, which must be cropped) becomes exactly rows [10, 30) × cols [20, 30) of a 64×32 image."""
    frame = frame_for(64, 32, 128)
    assert (frame.new_height, frame.new_width) == (128, 64)
    low = -torch.ones(1, 1, 128, 128)
    low[..., 20:60, 40:60] = 1.0
    low[..., :, 64:] = 1.0  # padding
    mask = (upscale_logits(low, frame) > 0)[0, 0].numpy()
    expected = np.zeros((64, 32), bool)
    expected[10:30, 20:30] = True
    assert mask.shape == (64, 32)
    np.testing.assert_array_equal(mask, expected)


def test_decoder_sees_box_in_model_frame(backbone) -> None:  # type: ignore[no-untyped-def]
    """Same box relative to the image at two sizes → same prompt embedding (transform is scale-free)."""
    from extractors.masks.sam.frame import boxes_to_model

    net = backbone.net
    small, large = frame_for(50, 100, TINY_SIZE), frame_for(100, 200, TINY_SIZE)
    b_small = boxes_to_model(np.array([[10.0, 5.0, 51.0, 26.0]]), small)
    b_large = boxes_to_model(np.array([[20.0, 10.0, 102.0, 52.0]]), large)
    np.testing.assert_allclose(b_small[:, :2], b_large[:, :2])
    with torch.inference_mode():
        e1, _ = net.prompt_encoder(points=None, boxes=torch.tensor(b_small, dtype=torch.float32), masks=None)
        e2, _ = net.prompt_encoder(points=None, boxes=torch.tensor(b_large, dtype=torch.float32), masks=None)
    torch.testing.assert_close(e1[:, 0], e2[:, 0])
