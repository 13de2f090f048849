"""Batched prompting of a SAM-family backbone: images batched through the encoder, every prompt of an
image decoded against its one embedding in batches, masks returned in the original frame.

The encoder runs once per image (`encode`, `encoder_batch` images per forward pass); `decode` feeds
`decoder_batch` prompts per pass of the prompt encoder + mask decoder (segment-anything's decoder
repeats the single image embedding across the prompt batch). On CUDA the encoder and the mask
decoder run under bf16 autocast (fp16 where bf16 is unsupported; prompt encoding stays fp32); CPU
runs fp32 with the same code.

Masks go back as segment-anything's `postprocess_masks` does: low-res logits → encoder size →
crop the padding → original size (bilinear), threshold at 0. The stability score is SAM's: IoU of
the mask thresholded at +1 and -1 logits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.utils.amg import calculate_stability_score

from extractors.masks.sam.frame import ModelFrame, boxes_to_model, frame_for, points_to_model
from extractors.masks.sam.models import SamBackbone
from extractors.masks.sam.preprocess import model_inputs_on_device, to_rgb

Precision = Literal["auto", "fp32", "bf16", "fp16"]
MASK_THRESHOLD = 0.0
STABILITY_OFFSET = 1.0


@dataclass
class EncodedImage:
    frame: ModelFrame
    embedding: torch.Tensor  # (1, C, h, w) on the model's device


@dataclass
class MaskBatch:
    """Decoded masks of one image, original frame. K = 1 unless multimask output was kept."""

    masks: np.ndarray  # (N, K, H, W) bool
    predicted_iou: np.ndarray  # (N, K) float32
    stability: np.ndarray  # (N, K) float32


class BatchedSamPredictor:
    """Encode images in batches and decode all prompts of an image in batches."""

    def __init__(
        self,
        backbone: SamBackbone,
        encoder_batch: int = 4,
        decoder_batch: int = 64,
        precision: Precision = "auto",
    ) -> None:
        self.backbone = backbone
        self.encoder_batch = max(1, int(encoder_batch))
        self.decoder_batch = max(1, int(decoder_batch))
        self.dtype = _autocast_dtype(backbone.device, precision)

    # ---- encoder ------------------------------------------------------------------------------
    def encode(self, images: list[np.ndarray]) -> list[EncodedImage]:
        """uint8 images (HxW or HxWxC, any sizes) → one embedding each, `encoder_batch` per pass."""
        size = self.backbone.image_size
        out: list[EncodedImage] = []
        for start in range(0, len(images), self.encoder_batch):
            chunk = [to_rgb(img) for img in images[start : start + self.encoder_batch]]
            frames = [frame_for(img.shape[0], img.shape[1], size) for img in chunk]
            x = model_inputs_on_device(chunk, frames, self.backbone.normalisation, self.backbone.device)
            with torch.inference_mode(), self._autocast():
                emb = self.backbone.net.image_encoder(x).float()
            out.extend(EncodedImage(f, emb[i : i + 1]) for i, f in enumerate(frames))
        return out

    # ---- decoder ------------------------------------------------------------------------------
    def predict_boxes(self, enc: EncodedImage, boxes: np.ndarray) -> MaskBatch:
        """(N, 4) xyxy boxes in original pixels (x1/y1 exclusive) → one mask per box."""
        model_boxes = boxes_to_model(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), enc.frame)
        return self._collect(self._decode(enc, boxes=model_boxes, multimask=False, select_best=True))

    def predict_points(
        self, enc: EncodedImage, points: np.ndarray, labels: np.ndarray, select_best: bool = True
    ) -> MaskBatch:
        """(N, P, 2) xy points in original pixels with (N, P) labels (1 fg, 0 bg) → masks.

        One point is ambiguous, so the decoder's three masks are asked for; `select_best` keeps the
        one with the highest predicted IoU (SAM's advice), otherwise all three come back (K = 3).
        """
        pts = points_to_model(np.asarray(points, dtype=np.float64), enc.frame)
        lab = np.asarray(labels, dtype=np.int64)
        multimask = pts.shape[1] == 1
        return self._collect(self._decode(enc, points=(pts, lab), multimask=multimask, select_best=select_best))

    def iter_point_batches(
        self, enc: EncodedImage, points: np.ndarray, labels: np.ndarray
    ) -> Iterator[MaskBatch]:
        """Like `predict_points(select_best=False)` but one decoder batch at a time (bounded memory)."""
        pts = points_to_model(np.asarray(points, dtype=np.float64), enc.frame)
        yield from self._decode(enc, points=(pts, np.asarray(labels, dtype=np.int64)), multimask=True,
                                select_best=False)

    def iter_box_batches(self, enc: EncodedImage, boxes: np.ndarray) -> Iterator[MaskBatch]:
        """Like `predict_boxes` but one decoder batch at a time (bounded memory)."""
        model_boxes = boxes_to_model(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), enc.frame)
        yield from self._decode(enc, boxes=model_boxes, multimask=False, select_best=True)

    def _decode(
        self,
        enc: EncodedImage,
        boxes: np.ndarray | None = None,
        points: tuple[np.ndarray, np.ndarray] | None = None,
        multimask: bool = False,
        select_best: bool = True,
    ) -> Iterator[MaskBatch]:
        net = self.backbone.net
        dev = self.backbone.device
        n = len(boxes) if boxes is not None else len(points[0])  # type: ignore[index]
        for start in range(0, n, self.decoder_batch):
            sl = slice(start, start + self.decoder_batch)
            box_t = torch.as_tensor(boxes[sl], dtype=torch.float32, device=dev) if boxes is not None else None
            pt_t = None
            if points is not None:
                pt_t = (torch.as_tensor(points[0][sl], dtype=torch.float32, device=dev),
                        torch.as_tensor(points[1][sl], dtype=torch.int64, device=dev))
            with torch.inference_mode():
                # prompt encoding stays fp32: its random Fourier features lose the box position in bf16
                sparse, dense = net.prompt_encoder(points=pt_t, boxes=box_t, masks=None)
                image_pe = net.prompt_encoder.get_dense_pe()
            with torch.inference_mode(), self._autocast():
                low_res, iou = net.mask_decoder(
                    image_embeddings=enc.embedding,
                    image_pe=image_pe,
                    sparse_prompt_embeddings=sparse,
                    dense_prompt_embeddings=dense,
                    multimask_output=multimask,
                )
            low_res, iou = low_res.float(), iou.float()
            if select_best and low_res.shape[1] > 1:
                best = iou.argmax(dim=1)
                idx = torch.arange(len(best), device=dev)
                low_res, iou = low_res[idx, best][:, None], iou[idx, best][:, None]
            yield self._to_original(low_res, iou, enc.frame)

    def _to_original(self, low_res: torch.Tensor, iou: torch.Tensor, frame: ModelFrame) -> MaskBatch:
        with torch.inference_mode():
            logits = upscale_logits(low_res, frame)
            stability = calculate_stability_score(logits, MASK_THRESHOLD, STABILITY_OFFSET)
            masks = logits > MASK_THRESHOLD
        return MaskBatch(masks.cpu().numpy(), iou.cpu().numpy().astype(np.float32),
                         stability.float().cpu().numpy().astype(np.float32))

    @staticmethod
    def _collect(batches: Iterator[MaskBatch]) -> MaskBatch:
        parts = list(batches)
        return MaskBatch(
            np.concatenate([p.masks for p in parts]),
            np.concatenate([p.predicted_iou for p in parts]),
            np.concatenate([p.stability for p in parts]),
        )

    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.backbone.device.type, dtype=self.dtype)


def upscale_logits(low_res: torch.Tensor, frame: ModelFrame) -> torch.Tensor:
    """(N, K, l, l) decoder logits → (N, K, H, W) in the original frame (segment-anything's recipe)."""
    x = low_res
    if x.shape[-1] != frame.size or x.shape[-2] != frame.size:
        x = F.interpolate(x, (frame.size, frame.size), mode="bilinear", align_corners=False)
    x = x[..., : frame.new_height, : frame.new_width]
    return F.interpolate(x, (frame.height, frame.width), mode="bilinear", align_corners=False)


def _autocast_dtype(device: torch.device, precision: Precision) -> torch.dtype | None:
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16
