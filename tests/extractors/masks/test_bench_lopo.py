"""bench/masks_quality.py's leave-one-patient-out check of the QC fit, on rows made here (unit test)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.masks_quality import fit_weights, lopo_cv


def cand(dice: float, agree: float, fill: float, pred: float = float("nan")) -> dict[str, float]:
    return {"dice": dice, "agree": agree, "tight": 1.0, "fill": fill, "pred_iou": pred, "stability": pred,
            "parts": 1.0}


def rows(n_patients: int, reason: str = "qc") -> list[dict[str, Any]]:
    """Boxes where Dice follows agreement: the agreed model mask is the best candidate in each."""
    rng = np.random.default_rng(0)
    out = []
    for p in range(n_patients):
        for k in range(4):
            a = float(rng.uniform(0.5, 0.95))
            out.append({"image": f"P{p}_1.png", "organ": f"organ{k}", "box_fill": 0.6, "reason": reason,
                        "cands": {"sam": cand(a, a, 0.5, 0.9), "sam_x": cand(a - 0.3, a - 0.3, 0.8, 0.8),
                                  "ellipse": cand(0.65, 0.4, 0.785), "box_fill": cand(0.6, 0.45, 1.0)}})
    return out


def test_lopo_refits_without_each_patient_and_picks_the_agreed_mask() -> None:
    rs = rows(4)
    assert fit_weights(rs)["agree"] > 0
    cv, below = lopo_cv(rs)
    best = float(np.mean([max(v["dice"] for v in r["cands"].values()) for r in rs]))
    assert abs(cv - best) < 1e-9 and below == 0


def test_lopo_keeps_a_diffuse_guarded_box_on_box_fill() -> None:
    cv, below = lopo_cv(rows(3, reason="diffuse:contrast=0.02<0.1,pred_iou=0.5<0.6:sam"))
    assert abs(cv - 0.6) < 1e-9 and below == 0
