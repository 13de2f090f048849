"""Batched prompting of a SAM-family backbone: images batched through the encoder, every prompt of an
image decoded against its one embedding in batches, masks returned in the original frame.

The encoder runs once per image (`encode`); `decode` feeds prompts through the prompt encoder +
mask decoder against that one embedding (segment-anything's decoder repeats the image embedding
across the prompt batch). On CUDA the encoder and the mask decoder run under bf16 autocast (fp16
where bf16 is unsupported; prompt encoding stays fp32); CPU runs fp32 with the same code.

**Batch invariance.** What comes out for an image (and for one prompt of it) depends on that image
and prompt alone, never on what else shares the batch: every forward pass has one fixed shape.
On CPU each image is its own encoder pass and each prompt its own decoder pass (batching buys
nothing there: measured equal or slower, and BLAS kernels pick other blockings for other shapes,
so a batch of 4 and a batch of 1 differ in the 7th digit). On CUDA every encoder pass holds exactly
`encoder_batch` images and every decoder pass exactly `decoder_batch` prompts, the tail padded
with blank inputs that are discarded, so the same kernels run on the same shapes whatever the
batch composition; cuDNN autotuning is off and its deterministic algorithms are asked for.
Scores are rounded to `schemas.tables.SCORE_DECIMALS` as they leave the model, so QC decisions and
written bytes do not move with float noise below 1e-4. See ARCHITECTURE.md ("Determinism").

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
from schemas.tables import SCORE_DECIMALS

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
        cpu_threads: int | None = None,
    ) -> None:
        """`cpu_threads` pins torch's intra-op threads on CPU (process-wide): results differ in the
        7th digit between thread counts, so a run that must be byte-identical on workers of other
        sizes fixes it (the SAM stages do: 1 thread per actor, one actor per CPU)."""
        self.backbone = backbone
        on_cpu = backbone.device.type == "cpu"
        # fixed pass shapes (see the module docstring): one item per pass on CPU, padded batches on CUDA
        self.encoder_batch = 1 if on_cpu else max(1, int(encoder_batch))
        self.decoder_batch = 1 if on_cpu else max(1, int(decoder_batch))
        self.dtype = _autocast_dtype(backbone.device, precision)
        if on_cpu and cpu_threads:
            torch.set_num_threads(int(cpu_threads))
        if backbone.device.type == "cuda":
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True

    # ---- encoder ------------------------------------------------------------------------------
    def encode(self, images: list[np.ndarray]) -> list[EncodedImage]:
        """uint8 images (HxW or HxWxC, any sizes) → one embedding each, in passes of exactly
        `encoder_batch` images (the last one padded with blank images)."""
        size = self.backbone.image_size
        blank, blank_frame = np.zeros((size, size, 3), np.uint8), frame_for(size, size, size)
        out: list[EncodedImage] = []
        for start in range(0, len(images), self.encoder_batch):
            chunk = [to_rgb(img) for img in images[start : start + self.encoder_batch]]
            frames = [frame_for(img.shape[0], img.shape[1], size) for img in chunk]
            pad = self.encoder_batch - len(chunk)
            x = model_inputs_on_device(chunk + [blank] * pad, frames + [blank_frame] * pad,
                                       self.backbone.normalisation, self.backbone.device)
            with torch.inference_mode(), self._autocast():
                emb = self.backbone.net.image_encoder(x).float()
            out.extend(EncodedImage(f, emb[i : i + 1].clone()) for i, f in enumerate(frames))
        return out

    # ---- decoder ------------------------------------------------------------------------------
    def predict_boxes(self, enc: EncodedImage, boxes: np.ndarray, multimask: bool = False) -> MaskBatch:
        """(N, 4) xyxy boxes in original pixels (x1/y1 exclusive) → one mask per box, or with
        `multimask` the decoder's three multimask outputs (K = 3, all kept: candidates to choose from)."""
        model_boxes = boxes_to_model(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), enc.frame)
        return self._collect(self._decode(enc, boxes=model_boxes, multimask=multimask, select_best=not multimask))

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
            real = min(n, start + self.decoder_batch) - start
            box_t = _padded(boxes[sl], self.decoder_batch, torch.float32, dev) if boxes is not None else None
            pt_t = None
            if points is not None:
                pt_t = (_padded(points[0][sl], self.decoder_batch, torch.float32, dev),
                        _padded(points[1][sl], self.decoder_batch, torch.int64, dev))
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
            low_res, iou = low_res[:real].float(), iou[:real].float()
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
        return MaskBatch(masks.cpu().numpy(), _rounded(iou), _rounded(stability))

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


def _padded(rows: np.ndarray, size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The first axis padded to `size` with copies of the last row (outputs of the pad are dropped)."""
    arr = np.asarray(rows)
    if len(arr) < size:
        arr = np.concatenate([arr, np.repeat(arr[-1:], size - len(arr), axis=0)])
    return torch.as_tensor(arr, dtype=dtype, device=device)


def _rounded(scores: torch.Tensor) -> np.ndarray:
    return np.round(scores.float().cpu().numpy().astype(np.float64), SCORE_DECIMALS).astype(np.float32)


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
