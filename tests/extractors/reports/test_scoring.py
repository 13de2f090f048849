from __future__ import annotations

import math

from extractors.reports.scoring import score_labels


def test_per_label_micro_macro() -> None:
    gold = {"a": {"X": 1, "Y": 0}, "b": {"X": 1, "Y": 1}, "c": {"X": 0, "Y": 0}}
    pred = {"a": {"X": 1, "Y": 1}, "b": {"X": 0, "Y": 1}}  # "c" missing = all negative
    s = score_labels(pred, gold, ["X", "Y"])
    x, y = s.per_label
    assert (x.tp, x.fp, x.fn) == (1, 0, 1) and (y.tp, y.fp, y.fn) == (1, 1, 0)
    assert math.isclose(s.micro.f1, 4 / 6) and math.isclose(s.macro_f1, 2 / 3)
    assert score_labels({}, {"a": {"X": "-1"}}, ["X"], uncertain_positive=True).micro.fn == 1
