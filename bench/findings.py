"""Benchmark: the report label export on text nobody here wrote, and its speed (vs medspaCy's pipeline).

    .venv/bin/python bench/findings.py [--repeat 5] [--batch-size 64] [--no-medspacy]

Accuracy: the development evaluation (extractors.reports.evaluation; `medground findings eval` prints the
same) on ../shared/datasets/reports_dev/: CMC 2007 (978 pediatric radiology reports, ICD-9 coded by
three coders, majority gold; coders do not code negated/uncertain findings, so --uncertain negative)
and the NegEx kit (2,376 annotated sentences). Reports with an odd id are `dev` (tune there), even
ones `held-out` (the untouched figure). Every figure is of the exported labels: text → FINDING rows
(as `findings extract`) → label_export (as `findings labels`).

Baseline: medspaCy's default pipeline (`medspacy.load()`: PyRuSH sentences, target matcher with the
ontology's surface forms, ConText default rules) through the same label export (negated → absent,
uncertain/hypothetical → uncertain, historical → flagged; section from the report's headers).

Speed: single process, reports / process CPU seconds over the CMC texts repeated `--repeat` times,
pipelines built and warmed up first (net of start-up).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from extractors.reports.evaluation import harness as h  # noqa: E402
from extractors.reports.evaluation.cmc import parse_cmc, read_icd9_table  # noqa: E402
from extractors.reports.evaluation.dev import render, run_dev  # noqa: E402
from extractors.reports.extractor import ReportFindingExtractor  # noqa: E402
from extractors.reports.sections import section_at, split_sections  # noqa: E402
from schemas.ontology import Ontology, load_ontology  # noqa: E402

LABEL_SET = "chestxray14"


def build_medspacy(onto: Ontology) -> Any:
    import medspacy
    from loguru import logger
    from medspacy.ner import TargetRule

    logger.disable("PyRuSH")
    nlp = medspacy.load()
    rules = [TargetRule(form, code.upper()) for form, code in sorted(onto.surface_forms().items())
             if onto.get(code).kind in ("finding", "device") and code != "no_finding"]
    nlp.get_pipe("medspacy_target_matcher").add(rules)
    return nlp


def medspacy_rows(rid: str, doc: Any) -> list[dict[str, Any]]:
    sections = split_sections(doc.text)
    out = []
    for ent in doc.ents:
        if ent._.is_negated:
            cert = "absent"
        elif ent._.is_uncertain or ent._.is_hypothetical:
            cert = "uncertain"
        else:
            cert = "present"
        out.append({"report_id": rid, "code": ent.label_.lower(), "section": section_at(sections, ent.start_char),
                    "certainty": cert, "flags": ["historical"] if ent._.is_historical else [], "laterality": "none"})
    return out


def reports_per_cpu_s(run: Any, texts: list[str]) -> float:
    t0 = time.process_time()
    n = sum(1 for _ in run(texts))
    return n / (time.process_time() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--no-medspacy", action="store_true", help="skip the medspaCy baseline")
    ap.add_argument("--dev", type=Path, default=h.DEV_DIR)
    args = ap.parse_args()
    if not (args.dev / h.CMC_FILE).is_file() or not (args.dev / h.NEGEX_FILE).is_file():
        sys.exit(f"{args.dev} lacks {h.CMC_FILE} / {h.NEGEX_FILE}: the development gold is not here")
    onto = load_ontology()
    rep = run_dev(args.dev, onto, label_set=LABEL_SET, uncertain="negative")
    print("\n".join(render(rep)))

    reports = parse_cmc(args.dev / h.CMC_FILE)
    ids, texts = h.cmc_inputs(reports)
    corpus = texts * args.repeat
    ours = ReportFindingExtractor(onto)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*\[W036\]")
        list(ours.extract_many(texts[:50], args.batch_size))  # warm-up
        ours_rps = reports_per_cpu_s(lambda ts: ours.extract_many(ts, args.batch_size), corpus)
    print(f"speed over {len(corpus)} CMC reports ({len(texts)} x {args.repeat}), batch {args.batch_size}, 1 process:")
    print(f"  medground rules : {ours_rps:9.1f} reports/s/core")
    if args.no_medspacy:
        return
    base = build_medspacy(onto)
    docs = base.pipe(texts, batch_size=args.batch_size)
    rows = [row for rid, doc in zip(ids, docs, strict=True) for row in medspacy_rows(rid, doc)]
    base_cmc = h.evaluate_cmc(reports, rows, onto, LABEL_SET, read_icd9_table(onto=onto), uncertain="negative")
    base_rps = reports_per_cpu_s(lambda ts: base.pipe(ts, batch_size=args.batch_size), corpus)
    print(f"  medspaCy default: {base_rps:9.1f} reports/s/core  (ratio {ours_rps / base_rps:.2f}x)")
    for split in h.SPLITS:
        s = base_cmc.scores[split]
        print(f"  medspaCy default, CMC {split:<8}: micro P {s.micro.precision:.3f} R {s.micro.recall:.3f} "
              f"F1 {s.micro.f1:.3f}  macro-F1 {s.macro_f1:.3f}")


if __name__ == "__main__":
    main()
