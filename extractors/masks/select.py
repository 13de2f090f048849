"""Choose one mask per box prompt among candidates, by a GT-free QC score (numpy only).

The QC score of a candidate estimates its Dice with the true mask from what can be seen without
it (`extractors.masks.candidates.features`): agreement with the other candidates, tightness in the
prompt box, and the model's own predicted IoU and stability where it has them. The winner is the
candidate with the highest score (ties: candidate order). Box fill is always a candidate; its
score is the Dice it would reach if the best other candidate were right (2f / (1 + f), f = that
candidate's fill of the box), so it wins only where the estimate says nothing beats the box.

Deterministic: no randomness, no dependence on other boxes or images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from extractors.masks.candidates import BOX_FILL, Candidate

# Weights of the QC score (a linear estimate of Dice), fitted on the tune half of the BTCV dev set
# (bench/masks_quality.py); the report half is the held-out check.
WEIGHTS: dict[str, float] = {"intercept": 0.0, "agree": 0.6, "tight": 0.2, "pred_iou": 0.2}
NO_MODEL = {"pred_iou": 0.5, "stability": 0.5}  # what a model-free candidate counts as


@dataclass(frozen=True)
class Choice:
    name: str
    mask: np.ndarray
    score: float  # the winner's QC score (estimated Dice)
    reason: str  # why it won, e.g. "best_qc:0.912>grabcut:0.880"


def qc_score(c: Candidate) -> float:
    f = c.feats
    total = WEIGHTS["intercept"]
    for key, w in WEIGHTS.items():
        if key == "intercept":
            continue
        v = f.get(key, float("nan"))
        if math.isnan(v):
            v = NO_MODEL.get(key, 0.0)
        total += w * v
    return float(np.clip(total, 0.0, 1.0))


def choose(cands: list[Candidate], box: np.ndarray) -> Choice:
    """The candidate with the best QC score, or box fill where the estimate says it wins."""
    scored = [(qc_score(c), i) for i, c in enumerate(cands) if c.name != BOX_FILL and c.mask.any()]
    fill = next(c for c in cands if c.name == BOX_FILL)
    if not scored:
        return Choice(BOX_FILL, fill.mask, 0.0, "no_candidate")
    scored.sort(key=lambda t: (-t[0], t[1]))
    best_score, best_i = scored[0]
    best = cands[best_i]
    f = best.feats["fill"]
    fill_score = 2 * f / (1 + f)
    runner = f"{cands[scored[1][1]].name}:{scored[1][0]:.3f}" if len(scored) > 1 else "none"
    if fill_score > best_score:
        return Choice(BOX_FILL, fill.mask, round(fill_score, 4), f"box_beats_estimate:{best.name}:{best_score:.3f}")
    return Choice(best.name, best.mask, round(best_score, 4), f"best_qc>{runner}")
