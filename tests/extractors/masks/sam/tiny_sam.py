"""A tiny randomly initialised SAM for tests, built from segment-anything's own modules.

Not a trained model: its masks mean nothing. It has the real architecture (ViT image encoder,
prompt encoder, two-way transformer mask decoder) at a small size (128 px input, 32-dim
embeddings), so batching, coordinate transforms and RLE round trips can be checked exactly and fast.
"""

from __future__ import annotations

from functools import partial

import torch
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

from extractors.masks.sam.models import SamBackbone, backbone_from_sam

TINY_SIZE = 128


def build_tiny_sam(seed: int = 0) -> Sam:
    torch.manual_seed(seed)
    dim, patch = 32, 16
    grid = TINY_SIZE // patch
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=TINY_SIZE, patch_size=patch, embed_dim=dim, depth=2, num_heads=2, mlp_ratio=2,
            out_chans=dim, qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            use_rel_pos=True, window_size=4, global_attn_indexes=(1,),
        ),
        prompt_encoder=PromptEncoder(embed_dim=dim, image_embedding_size=(grid, grid),
                                     input_image_size=(TINY_SIZE, TINY_SIZE), mask_in_chans=4),
        mask_decoder=MaskDecoder(num_multimask_outputs=3, transformer_dim=dim,
                                 transformer=TwoWayTransformer(depth=2, embedding_dim=dim, mlp_dim=64, num_heads=2),
                                 iou_head_depth=2, iou_head_hidden_dim=32),
    )
    return sam.eval()


def tiny_backbone(seed: int = 0) -> SamBackbone:
    return backbone_from_sam(build_tiny_sam(seed), "tiny_sam", None, "test-only", "segment-anything (random init)")
