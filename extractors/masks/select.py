"""Choose one mask per box prompt among candidates, by a GT-free QC score (numpy only).

The QC score of a candidate estimates its Dice with the true mask from what can be seen without
it (`extractors.masks.candidates.features`): agreement with the other candidates, tightness in the
prompt box, and the model's own predicted IoU and stability where it has them. The winner is the
candidate with the highest score (ties: candidate order). Box fill is always a candidate with its
own features (it fills the box, touches every side, and agrees with the others as much as they
fill the box), so it wins where the estimate says nothing beats the box.

Deterministic: no randomness, no dependence on other boxes or images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from extractors.masks.candidates import BOX_FILL, Candidate
from schemas.tables import SCORE_DECIMALS

# Weights of the QC score (least squares of Dice on the features of every candidate of the tune
# half of the BTCV dev set, 116 organ masks of 14 patients: bench/masks_quality.py; the report half
# is the held-out check). Stability gets a negative weight only alongside predicted IoU (they
# correlate): alone it predicts Dice positively.
WEIGHTS: dict[str, float] = {"intercept": -0.0865, "agree": 0.4373, "tight": 0.5584, "pred_iou": 0.4803,
                             "stability": -0.3565, "fill": 0.0207}
NO_MODEL = {"pred_iou": 0.5, "stability": 0.5}  # what a model-free candidate counts as
# candidates that may win; the others (GrabCut, Otsu) only vote in the agreement feature: on the
# tune half they lost more often than they won when allowed to
SELECTABLE = ("sam", "sam_m0", "sam_m1", "sam_m2", "sam_x", "sam_vote", "ellipse", "box_fill")


@dataclass(frozen=True)
class Choice:
    name: str
    mask: np.ndarray
    score: float  # the winner's QC score (estimated Dice, 0-1)
    reason: str  # why it won: "qc=0.912>sam_x:0.880" (its score over the runner-up's)


def qc_score(c: Candidate) -> float:
    """The candidate's estimated Dice (a linear function of its GT-free features), clipped to 0-1."""
    total = WEIGHTS["intercept"]
    for key, w in WEIGHTS.items():
        if key == "intercept":
            continue
        v = c.feats.get(key, float("nan"))
        total += w * (NO_MODEL.get(key, 0.0) if math.isnan(v) else v)
    return float(np.clip(total, 0.0, 1.0))


def choose(cands: list[Candidate], box: np.ndarray | None = None) -> Choice:
    """The selectable candidate with the best QC score (box fill is always selectable)."""
    scored = sorted(((qc_score(c), i) for i, c in enumerate(cands)
                     if c.name in SELECTABLE and (c.mask.any() or c.name == BOX_FILL)),
                    key=lambda t: (-t[0], t[1]))
    if not scored:
        fill = next(c for c in cands if c.name == BOX_FILL)
        return Choice(BOX_FILL, fill.mask, 0.0, "no_candidate")
    best_score, best_i = scored[0]
    runner = f"{cands[scored[1][1]].name}:{scored[1][0]:.4f}" if len(scored) > 1 else "none"
    best = cands[best_i]
    return Choice(best.name, best.mask, round(best_score, SCORE_DECIMALS), f"qc={best_score:.4f}>{runner}")
