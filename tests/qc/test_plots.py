"""The Dice-vs-QC-score figure: drawn where generated masks have GT, Spearman's rho as stated."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
from PIL import Image

from qc.audits.masks import MASK_STATS
from qc.plots import dice_vs_qc, spearman


def stats(rows: list[dict]) -> pa.Table:  # type: ignore[type-arg]
    full = [{f.name: r.get(f.name) for f in MASK_STATS} for r in rows]
    return pa.Table.from_pylist(full, schema=MASK_STATS)


def test_spearman_ranks() -> None:
    x = np.array([0.1, 0.4, 0.3, 0.9])
    assert spearman(x, x ** 3) == 1.0
    assert spearman(x, -x) == -1.0
    assert np.isnan(spearman(x, np.ones(4)))
    assert abs(spearman(np.array([1.0, 2, 3, 4, 5]), np.array([2.0, 1, 4, 3, 5])) - 0.8) < 1e-12


def test_dice_vs_qc_draws_a_png_with_and_without_gt() -> None:
    rng = np.random.default_rng(0)
    rows = [{"region_id": str(i), "origin": "sam_box", "qc_score": float(q), "predicted_iou": float(q),
             "stability_score": 0.9, "dice_vs_gt": float(min(1.0, q + rng.normal(0, 0.05)))}
            for i, q in enumerate(rng.random(30))]
    with_gt = Image.open(io.BytesIO(dice_vs_qc(stats(rows))))
    without = Image.open(io.BytesIO(dice_vs_qc(stats([{**r, "dice_vs_gt": None} for r in rows]))))
    assert with_gt.format == without.format == "PNG"
    assert with_gt.size[0] > 300
    # the scatter has coloured points where GT exists; the empty panels are text only
    colours = lambda im: len(set(im.convert("RGB").getdata()))  # noqa: E731
    assert colours(with_gt) > colours(without)
