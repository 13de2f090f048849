"""Scores of predicted report labels against gold labels: per-label precision, recall, F1; micro and macro.

A value counts as positive when it is 1 (CheXpert's -1, 0 and blank are negative unless
`uncertain_positive`). Labels with neither gold nor predicted positives have no F1 and are left out
of the macro average (their counts still enter the micro average, where they add nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class LabelScore:
    label: str
    tp: int
    fp: int
    fn: int
    support: int  # gold positives

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else float("nan")


@dataclass(frozen=True)
class Scores:
    per_label: list[LabelScore]
    micro: LabelScore
    macro_f1: float
    n_reports: int


def positive(value: object, uncertain_positive: bool = False) -> bool:
    if value is None or value == "":
        return False
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return v == 1 or (uncertain_positive and v == -1)


def score_labels(
    predicted: Mapping[str, Mapping[str, object]],
    gold: Mapping[str, Mapping[str, object]],
    labels: list[str],
    *,
    uncertain_positive: bool = False,
) -> Scores:
    """Score `predicted` (id → label → value) against `gold` over the ids in gold. An id missing from
    `predicted` counts as all-negative."""
    per = []
    for label in labels:
        tp = fp = fn = 0
        for rid, g in gold.items():
            gp = positive(g.get(label), uncertain_positive)
            pp = positive((predicted.get(rid) or {}).get(label), uncertain_positive)
            tp += gp and pp
            fp += pp and not gp
            fn += gp and not pp
        per.append(LabelScore(label, tp, fp, fn, tp + fn))
    micro = LabelScore("micro", sum(s.tp for s in per), sum(s.fp for s in per), sum(s.fn for s in per),
                       sum(s.support for s in per))
    defined = [s.f1 for s in per if s.tp + s.fp + s.fn]
    macro = sum(defined) / len(defined) if defined else float("nan")
    return Scores(per, micro, macro, len(gold))
