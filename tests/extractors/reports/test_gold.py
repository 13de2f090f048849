"""The quality bars on medground's own hand-written gold set (tests/extractors/reports/data).

Written by the same author as the rules, so these figures are optimistic; the real bar is a held-out
set of real reports. The test guards against regressions: micro-F1 and laterality accuracy >= 0.95.
"""

from __future__ import annotations

from pathlib import Path

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.labels import derive_labels, derive_lateralities
from extractors.reports.scoring import score_labels

GOLD = Path(__file__).parent / "data" / "gold_reports.tsv"


def test_gold_set_bars(extractor: ReportFindingExtractor) -> None:
    onto = extractor.onto
    names = [n for n, _ in onto.label_set("chestxray14")]
    gold, pred = {}, {}
    hits = total = 0
    rows = [ln.split("\t") for ln in GOLD.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(rows) >= 150
    texts = [r[3].replace("\\n", "\n") for r in rows]
    for (rid, pos, lat, _), ms in zip(rows, extractor.extract_many(texts), strict=True):
        gold[rid] = {n: int(n in pos.split(",")) for n in names}
        pred[rid] = derive_labels(ms, onto, "chestxray14")
        sides = derive_lateralities(ms, onto, "chestxray14")
        for kv in [] if lat == "-" else lat.split(","):
            name, side = kv.split("=")
            total += 1
            hits += sides[name] == side
    scores = score_labels(pred, gold, names)
    assert scores.micro.f1 >= 0.95, scores.per_label
    assert hits / total >= 0.95
    assert all(s.support for s in scores.per_label)  # every ChestX-ray14 label is exercised
