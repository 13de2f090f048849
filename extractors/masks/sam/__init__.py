"""Weak masks from SAM-family models (segment-anything ViT-B/L/H, LiteMedSAM).

Modules: `frame` (model-frame geometry, prompt transforms), `preprocess` (MedSAM preprocessing),
`qc` (per-region checks, box-fill fallback), `prompts` and `records` (from and to REGION rows) need
only numpy/OpenCV; `models`, `predictor` and `auto` need torch (the [sam] extra), so nothing is
imported here.
"""
