"""Benchmark: medground's rule-based report extractor vs medspaCy's default pipeline, same process.

    .venv/bin/python bench/findings.py [--repeat 20] [--batch-size 64]

Both run single-threaded over the same reports (the hand-written gold set in
tests/extractors/reports/data/gold_reports.tsv, repeated) with `nlp.pipe` batching; reports/s per
core is reports / process CPU seconds. medspaCy gets `medspacy.load()` (PyRuSH sentences, target
matcher, ConText with its default rules) and target rules for the same ontology surface forms, so
the comparison is of the pipelines, not of the vocabularies; its debug logging is switched off.
Accuracy: micro/macro F1 of the ChestX-ray14 labels on the gold set (labels derived the same way for
both: medspaCy negated → absent, uncertain/hypothetical → uncertain, historical → flagged), and the
laterality accuracy of ours (medspaCy's default pipeline has no laterality).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from extractors.reports.extractor import ReportFindingExtractor  # noqa: E402
from extractors.reports.labels import derive_labels, derive_lateralities  # noqa: E402
from extractors.reports.scoring import score_labels  # noqa: E402
from schemas.ontology import Ontology  # noqa: E402

GOLD = REPO / "tests" / "extractors" / "reports" / "data" / "gold_reports.tsv"
LABEL_SET = "chestxray14"


@dataclass(frozen=True)
class GoldReport:
    rid: str
    positives: frozenset[str]
    sides: dict[str, str]
    text: str


@dataclass(frozen=True)
class BaselineMention:
    code: str
    section: str
    certainty: str
    flags: tuple[str, ...]
    laterality: str = "none"


def read_gold(path: Path = GOLD) -> list[GoldReport]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        rid, pos, lat, text = line.split("\t")
        sides = dict(kv.split("=") for kv in lat.split(",")) if lat != "-" else {}
        out.append(GoldReport(rid, frozenset(() if pos == "-" else pos.split(",")), sides,
                              text.replace("\\n", "\n")))
    return out


def build_medspacy(onto: Ontology):  # type: ignore[no-untyped-def]
    import medspacy
    from loguru import logger
    from medspacy.ner import TargetRule

    logger.disable("PyRuSH")
    nlp = medspacy.load()
    rules = [TargetRule(form, code.upper()) for form, code in sorted(onto.surface_forms().items())
             if onto.get(code).kind in ("finding", "device") and code != "no_finding"]
    nlp.get_pipe("medspacy_target_matcher").add(rules)
    return nlp


def medspacy_mentions(doc) -> list[BaselineMention]:  # type: ignore[no-untyped-def]
    out = []
    for ent in doc.ents:
        if ent._.is_negated:
            cert = "absent"
        elif ent._.is_uncertain or ent._.is_hypothetical:
            cert = "uncertain"
        else:
            cert = "present"
        flags = ("historical",) if ent._.is_historical else ()
        out.append(BaselineMention(ent.label_.lower(), "unsectioned", cert, flags))
    return out


def accuracy(onto: Ontology, gold: list[GoldReport], mentions: list[list]) -> tuple[float, float, float]:
    names = [n for n, _ in onto.label_set(LABEL_SET)]
    g = {r.rid: {n: int(n in r.positives) for n in names} for r in gold}
    p = {r.rid: derive_labels(ms, onto, LABEL_SET) for r, ms in zip(gold, mentions, strict=True)}
    s = score_labels(p, g, names)
    hits = total = 0
    for r, ms in zip(gold, mentions, strict=True):
        lats = derive_lateralities(ms, onto, LABEL_SET)
        for name, side in r.sides.items():
            total += 1
            hits += lats[name] == side
    return s.micro.f1, s.macro_f1, hits / total if total else float("nan")


def throughput(run, texts: list[str]) -> float:  # type: ignore[no-untyped-def]
    t0 = time.process_time()
    n = sum(1 for _ in run(texts))
    return n / (time.process_time() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    gold = read_gold()
    ours = ReportFindingExtractor()
    base = build_medspacy(ours.onto)
    texts = [r.text for r in gold]
    corpus = texts * args.repeat

    ours_ms = list(ours.extract_many(texts, args.batch_size))
    base_ms = [medspacy_mentions(d) for d in base.pipe(texts, batch_size=args.batch_size)]
    ours_acc, base_acc = accuracy(ours.onto, gold, ours_ms), accuracy(ours.onto, gold, base_ms)

    def run_base(ts: list[str]):  # type: ignore[no-untyped-def]
        return (medspacy_mentions(d) for d in base.pipe(ts, batch_size=args.batch_size))

    throughput(lambda ts: ours.extract_many(ts[:50], args.batch_size), corpus)  # warm-up
    ours_rps = throughput(lambda ts: ours.extract_many(ts, args.batch_size), corpus)
    base_rps = throughput(run_base, corpus)
    print(f"reports: {len(corpus)} ({len(gold)} gold reports x {args.repeat}), batch {args.batch_size}, 1 core")
    print(f"medground rules : {ours_rps:9.1f} reports/s/core  micro-F1 {ours_acc[0]:.4f}  "
          f"macro-F1 {ours_acc[1]:.4f}  laterality acc {ours_acc[2]:.4f}")
    print(f"medspaCy default: {base_rps:9.1f} reports/s/core  micro-F1 {base_acc[0]:.4f}  "
          f"macro-F1 {base_acc[1]:.4f}  laterality acc n/a")
    print(f"speed ratio (medground / medspaCy): {ours_rps / base_rps:.2f}x")


if __name__ == "__main__":
    main()
