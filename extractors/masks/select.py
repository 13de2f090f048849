"""Choose one mask per box prompt among candidates, by a GT-free QC score (numpy only).

The QC score of a candidate estimates its Dice with the true mask from what can be seen without
it (`extractors.masks.candidates.features`): agreement with the other candidates, tightness in the
prompt box, and the model's own predicted IoU and stability where it has them. The winner is the
candidate with the highest score (ties: candidate order). Box fill is always a candidate with its
own features (it fills the box, touches every side, and agrees with the others as much as they
fill the box), so it wins where the estimate says nothing beats the box, and also where the best
beats it by less than `BOX_MARGIN` (the estimate cannot separate them: keep the floor).

Deterministic: no randomness, no dependence on other boxes or images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from extractors.masks.candidates import BOX_FILL, Candidate
from extractors.masks.guard import diffuse_reason
from schemas.tables import SCORE_DECIMALS

# Weights of the QC score: least squares of Dice on the features of every selectable candidate of
# the tune half of the BTCV dev set (116 organ masks of 14 patients; the report half is the held-out
# check), within each box (features and Dice centred per box: only the ranking inside a box decides
# the choice), the intercept from the pooled residual. `bench/masks_quality.py --fit` refits them.
# Stability gets a negative weight only alongside predicted IoU (they correlate): alone it predicts
# Dice positively; fill is negative: at equal agreement and tightness the leaner mask wins.
# Refitted with `sam_flip`, `sam_flip_m1`, `sam_flip_m2`, `sam_union` among the candidates: exactly
# what `bench/masks_quality.py --fit` prints (with `sam_flip` alone: -0.1064/0.7522/0.5357/0.1563/
# -0.1088/-0.1128 by the bench; the -0.1054/0.7566/... once committed with it came from a dev harness
# without the GrabCut voters, a third-decimal mismatch now gone; with the flipped multimask outputs:
# -0.0935/0.7552/0.5314/0.1502/-0.1204/-0.1123; with `sam_union`: -0.093/0.7167/0.5521/0.1759/
# -0.1448/-0.1172; with `sam_jit`: -0.0868/0.6779/0.5648/0.2037/-0.1704/-0.1206; with
# `sam_crop_union`: -0.0848/0.7129/0.5402/0.1703/-0.1456/-0.1194; with `sam_crop_union_int`:
# -0.0807/0.731/0.5128/0.1745/-0.1461/-0.1126). Refitted again with the jittered boxes in
# `sam_crop_union` (extractors/masks/sam/candidates.py).
# Chooser variants measured and not kept (issue 16, BTCV tune half only, leave-one-patient-out CV
# inside it: fitted on 13 patients, scored on the 14th, mean chosen Dice; bench dump + dev scripts):
# this within-box least-squares score 0.8404 at BOX_MARGIN 0.03 (the line `--fit` prints; 0.8405
# with unrounded weights, 0.8398 at 0.02, 0.8404 at 0.04; in-sample 0.8429). A pairwise logistic
# ranking on candidate feature differences (pairs weighted by their Dice gap) 0.8368-0.8387 over
# margins 0-0.5 logits, with per-size terms (features x log box area) 0.8382-0.8395; least squares
# with the size terms 0.8378-0.8393, with them and agree^2, tight^2, agree*tight 0.8277-0.8375, with
# agree^2 and agree*tight alone 0.8415 (+0.001: noise, and an organ below box fill in-sample); a
# listwise softmax fit 0.79-0.82; per-candidate-kind intercepts (crop, flip, ellipse, box)
# 0.8364-0.8373; a fusion of the top 2/3/5 model candidates by QC score (score-weighted pixel mean
# >= 0.5, one more selectable candidate, weights refitted) 0.8396/0.8375/0.8419 (noise; each leaves
# an organ below box fill in-sample); box fill when the winner's agreement is below 0.3-0.7: 0.8398
# down to 0.7875; separate margins for boxes below/above the median box area (each chosen from
# 0-0.06 inside every CV fold) 0.8399. Under CV this score leaves one organ below box fill
# (esophagus, one tune mask: 0.650 vs 0.896), the variants one or two; those with none cost 0.01 or
# more (pairwise at margin 0.8: 0.8310). None beat this score by the ~0.003 noise level, so it stays.
# GT-free image features (candidates.image_features and variants, on the box's grey pixels and a
# window just beyond it; dev harness on the bench's candidates, reproducing its 0.8555/0.8261
# [0.8558]; each added to the fit, figures tune / report [leave-one-patient-out], BOX_MARGIN 0.03;
# the bench's Spearman(QC, Dice) over every selectable candidate 0.844/0.855 without them): purity (one-threshold
# balanced accuracy mask vs a ring outside it) 0.8549/0.8290 [0.8515, esophagus below box fill], at
# margins 0.02/0.04/0.05 [0.8516-0.8520], Spearman 0.863/0.866; homog (std inside / std of the box)
# 0.8505/0.8232 [0.8501], Spearman 0.855/0.866; both 0.8500/0.8242 [0.8500], Spearman 0.864/0.871;
# boundary contrast (mean Sobel magnitude of the sigma-1 smoothed grey on the mask's inner boundary
# over the box's mean; its weight fits negative) 0.8509/0.8231 [0.8488, one organ below], on both
# sides of the contour 0.8520/0.8248 [0.8496, one below], the gradient along the mask's normal
# 0.8527/0.8252 [0.8537]; inside/outside separation |mean_in - mean_out| / pooled std with the box
# pixels outside the mask 0.8526/0.8254 [0.8528], with a ring of 10% of the box's long side outside
# it 0.8557/0.8244 [0.8540]; the step between 2-px bands inside/outside the contour over the box's
# std 0.8554/0.8257 [0.8532]; IoU with the mask's own intensity refinement (refine.refined_crop)
# 0.8556/0.8277 [0.8555]; contrast + ring separation + homog 0.8517/0.8220 [0.8519]; per-box ranks of
# these 0.8498-0.8560 / 0.8204-0.8261 [0.8498-0.8543]; logs of contrast/homog 0.8555/0.8261 [0.8558] /
# 0.8546/0.8255 [0.8526]; least squares weighting each candidate by exp((Dice - box best) / tau),
# tau 0.3/0.1/0.05, or on the current score's top 8/5 only, with or without them: 0.8532-0.8569 /
# 0.8124-0.8290 [0.8493-0.8572] (base alone 0.8559/0.8281 [0.8557] at tau 0.3). They rank the whole
# candidate set better (Spearman up to +0.02) but not the few near-top model masks of a box, which
# follow the same edges. Nor as a tie-break (the candidate with the best image feature among those
# within 0.005-0.04 of the best score): purity 0.8468-0.8540 [0.8454-0.8520, one organ below],
# lowest homog 0.8453-0.8565 / 0.8226-0.8250 [0.8449-0.8561; 0.01: 0.8565/0.8250 [0.8561], noise],
# ring separation, contrast, step 0.8444-0.8548 [0.8423-0.8542]. So WEIGHTS keep none (the SAM
# stage calls `features` without the image).
# The inscribed ellipse wins 48 of 235 boxes (the best by true Dice in 35), 0.008 Dice per mask
# below the oracle there; with the image features 38-52 at margin 0.03, never with a gain.
WEIGHTS: dict[str, float] = {"intercept": -0.0816, "agree": 0.7285, "tight": 0.5452, "pred_iou": 0.1795,
                             "stability": -0.1512, "fill": -0.1507}
# The model-free QC score of masks.classical (GrabCut/Otsu vs ellipse vs box fill): the shape features
# without the model's scores plus the image's `purity` and `homog` (candidates.image_features),
# fitted on the classical candidates alone (tune half, pooled least squares: `bench/masks_quality.py
# --fit` prints it and its leave-one-patient-out check). With the image features (margin 0.05 ->
# 0.03): tune 0.754 -> 0.766, report 0.730 -> 0.741, leave-one-patient-out 0.7540 -> 0.7665, no organ
# below box fill on either half; Spearman(QC score, Dice) of its choice 0.556/0.522 -> 0.746/0.742;
# box fill wins 94+98 -> 69+70, the ellipse 15+17 -> 38+44, GrabCut 7+4 -> 9+5 (the ellipse alone
# scores 0.768/0.746 but leaves organs below box fill). Not kept (tune / report [LOPO], margin the
# smallest without an organ of the tune half below box fill): homog alone 0.7637/0.7390 [0.7637] at
# 0.06, purity alone 0.7602/0.7387 [0.7600] at 0.05 (0.03: a report organ below), boundary contrast
# + homog 0.7633/0.7391 [0.7633] at 0.05, with purity too 0.7666/0.7409 [0.7666] at 0.04, ring
# separation + homog 0.7603/0.7375 [0.7603] at 0.04; contrast, separation, step, gradient alignment
# alone: 0.7567-0.7595 / 0.7318-0.7365 at 0.05. CPU: the image features add about 4 ms to
# masks.classical's 32 ms per BTCV region (13 ms for all 22 candidates of the SAM stage's set).
CLASSICAL_WEIGHTS: dict[str, float] = {"intercept": -0.5179, "agree": 0.0874, "tight": 0.7748, "fill": 0.084,
                                       "purity": 0.7611, "homog": -0.157}
# A model candidate must beat box fill's QC score by this much to be chosen over it (the floor when
# the score cannot tell them apart). Fitted on the tune half: the best of 0-0.08 (0.02: tune 0.8343
# vs 0.8338 at 0; larger margins lose, 0.05 → 0.8326, 0.08 → 0.8271; with `sam_flip`: 0/0.01 0.8376,
# 0.02/0.03 0.8380, 0.05 0.8361 with 2 organs below box fill; with `sam_flip_m1/m2` too: 0.02 0.8403,
# 0.03 0.8410, both with no organ below box fill). BTCV has no diffuse or
# low-contrast targets (chest-film opacities), so it is a CT-fitted floor, not a per-modality one.
BOX_MARGIN = 0.03
# The same floor for masks.classical's choice: the smallest margin with no organ of the tune half
# below box fill (with the image features: 0/0.01/0.02 leave 1/2/2 below, tune 0.772/0.770/0.768;
# 0.03: 0.766/0.741; before them 0-0.04 left pancreas/adrenals below and 0.05 gave 0.754/0.730 vs
# old GrabCut-or-ellipse 0.744/0.724 and box fill 0.739/0.717)
CLASSICAL_MARGIN = 0.03
NO_MODEL = {"pred_iou": 0.5, "stability": 0.5}  # what a model-free candidate counts as
# candidates that may win; the others (GrabCut, Otsu) only vote in the agreement feature: on the
# tune half they lost more often than they won when allowed to
SELECTABLE = ("sam", "sam_m0", "sam_m1", "sam_m2", "sam_x", "sam_vote", "sam_flip", "sam_flip_m1", "sam_flip_m2",
              "sam_union", "sam_jit", "sam_crop", "sam_crop_m0", "sam_crop_m1", "sam_crop_m2", "sam_crop_vote",
              "sam_crop_union", "sam_crop_union_int", "ellipse", "box_fill")


@dataclass(frozen=True)
class Choice:
    name: str
    mask: np.ndarray
    score: float  # the winner's QC score (estimated Dice, 0-1)
    reason: str  # why it won: "qc=0.912>sam_x:0.880" (its score over the runner-up's)


def qc_score(c: Candidate, weights: dict[str, float] | None = None) -> float:
    """The candidate's estimated Dice (a linear function of its GT-free features), clipped to 0-1."""
    weights = WEIGHTS if weights is None else weights
    total = weights["intercept"]
    for key, w in weights.items():
        if key == "intercept":
            continue
        v = c.feats.get(key, float("nan"))
        total += w * (NO_MODEL.get(key, 0.0) if math.isnan(v) else v)
    return float(np.clip(total, 0.0, 1.0))


def choose(cands: list[Candidate], box: np.ndarray | None = None, weights: dict[str, float] | None = None,
           selectable: tuple[str, ...] = SELECTABLE, margin: float = BOX_MARGIN,
           image: np.ndarray | None = None) -> Choice:
    """The selectable candidate with the best QC score (box fill is always selectable); box fill
    when the best beats box fill's score by less than `margin` (reason `box_margin`) and, given the
    `image`, where `extractors.masks.guard` finds the target diffuse (reason `diffuse:...`)."""
    scored = sorted(((qc_score(c, weights), i) for i, c in enumerate(cands)
                     if (c.name in selectable or c.name == BOX_FILL) and (c.mask.any() or c.name == BOX_FILL)),
                    key=lambda t: (-t[0], t[1]))
    if not scored:
        fill = next(c for c in cands if c.name == BOX_FILL)
        return Choice(BOX_FILL, fill.mask, 0.0, "no_candidate")
    best_score, best_i = scored[0]
    best = cands[best_i]
    fill = next(((s, i) for s, i in scored if cands[i].name == BOX_FILL), None)
    if image is not None and box is not None and best.name != BOX_FILL and fill is not None:
        diffuse = diffuse_reason(image, box, cands)
        if diffuse:
            return Choice(BOX_FILL, cands[fill[1]].mask, round(fill[0], SCORE_DECIMALS), f"{diffuse}:{best.name}")
    if best.name != BOX_FILL and fill is not None and best_score - fill[0] < margin:
        return Choice(BOX_FILL, cands[fill[1]].mask, round(fill[0], SCORE_DECIMALS),
                      f"box_margin:{best.name}:{best_score:.4f}-{fill[0]:.4f}<{margin}")
    runner = f"{cands[scored[1][1]].name}:{scored[1][0]:.4f}" if len(scored) > 1 else "none"
    return Choice(best.name, best.mask, round(best_score, SCORE_DECIMALS), f"qc={best_score:.4f}>{runner}")
