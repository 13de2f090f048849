"""The development evaluation of report labels on text nobody here wrote (`../shared/datasets/reports_dev/`).

Both gold sets are scored through the path users run: report text → FINDING rows (the rule extractor
through `extractors.reports.report_table`, as `findings extract` does, or the LLM extractor as the
`findings.llm` stage does) → `label_export.export_labels` (what `findings labels` writes). So every
figure is a figure of the exported labels.

- CMC 2007 (extractors.reports.evaluation.cmc): per-label and per-ICD-9-code P/R/F1, micro/macro, of the
  exported labels against the coders' majority. Coders do not code negated or uncertain diagnoses, so
  `uncertain="negative"` is the policy that matches the gold's convention (the default here).
- NegEx kit (extractors.reports.evaluation.negex_kit): Negated/Affirmed accuracy two ways: `scope`, the
  rule extractor's ConText (same pipeline, triggers and `assert_mention`) asked about the annotated
  concept itself, whatever the ontology knows; `extract`, the FINDING rows whose span overlaps the
  concept (coverage reported: most kit concepts are not chest X-ray findings). Negated = certainty
  "absent"; present and uncertain are Affirmed.

Split (fixed): a report whose id (CMC doc id, NegEx report number) is odd is `dev`, even is `held-out`
(the parity the rule work of issue 15 was told to tune on); tune on dev, quote held-out as the
untouched figure.
"""

from __future__ import annotations

import time
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors.reports.context import assert_mention
from extractors.reports.evaluation.cmc import CmcGold, CmcReport, Icd9Rule, cmc_gold, match_icd9, section_column
from extractors.reports.evaluation.negex_kit import NEGATED, NegexItem
from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.label_export import LabelExport, export_labels
from extractors.reports.labels import speaks_for
from extractors.reports.report_table import compose_text, llm_rows_fn, rule_rows
from extractors.reports.scoring import LabelScore, Scores, score_labels
from schemas.ontology import Ontology

DEV_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "reports_dev"
CMC_FILE, NEGEX_FILE = "cmc2007_train.xml", "negex_annotations_1_120.tsv"
SPLITS = ("dev", "held-out")
CMC_TEXT_COLS = (section_column("CLINICAL_HISTORY"), section_column("IMPRESSION"))
Rows = list[dict[str, Any]]
RowsFn = Callable[[Sequence[str], Sequence[str]], tuple[Rows, set[str]]]  # (ids, texts) → rows, failed ids


def split_of(rid: str) -> str:
    """dev for an odd id, held-out for an even one (ids without digits: by CRC32 parity)."""
    digits = "".join(c for c in rid if c.isdigit())
    n = int(digits) if digits else zlib.crc32(rid.encode())
    return SPLITS[(n + 1) % 2]


def cmc_inputs(reports: Sequence[CmcReport]) -> tuple[list[str], list[str]]:
    """Report ids and texts, composed as `findings extract --text-cols "clinical history,impression"`."""
    return [r.rid for r in reports], [compose_text(r.columns(), CMC_TEXT_COLS) for r in reports]


def rules_engine(extractor: ReportFindingExtractor, batch_size: int = 64) -> RowsFn:
    def run(ids: Sequence[str], texts: Sequence[str]) -> tuple[Rows, set[str]]:
        return rule_rows(extractor, ids, texts, source="eval", batch_size=batch_size), set()

    return run


def llm_engine(base_url: str, model: str, onto: Ontology, *, max_concurrency: int = 4, timeout_s: float = 60.0,
               prompt_version: str = "1") -> RowsFn:
    """The LLM extractor as `findings extract --engine llm` runs it, without the rule fallback: a report
    whose answer fails counts as failed (all labels 0), never as the rules' answer."""
    return llm_rows_fn(base_url, model, onto, max_concurrency=max_concurrency, timeout_s=timeout_s,
                       prompt_version=prompt_version, fallback=False, source="eval")


@dataclass(frozen=True)
class CmcResult:
    gold: CmcGold
    export: LabelExport
    scores: dict[str, Scores]  # split → per-label scores
    by_code: dict[str, list[LabelScore]]  # split → per-ICD-9-code scores
    failed: set[str]


def evaluate_cmc(reports: Sequence[CmcReport], rows: Rows, onto: Ontology, label_set: str, rules: list[Icd9Rule],
                 *, uncertain: str = "negative", failed: set[str] | None = None,
                 universe: Sequence[CmcReport] | None = None) -> CmcResult:
    """Scores of the export of `rows` on `reports`; the scored labels are those with gold support in
    `universe` (default: `reports`), so a sample of the file is scored on the file's labels."""
    gold = cmc_gold(list(universe or reports), onto, label_set, rules)
    export = export_labels(rows, [r.rid for r in reports], onto, label_set, uncertain=uncertain)
    scores, by_code = {}, {}
    for split in SPLITS:
        part = [r for r in reports if split_of(r.rid) == split]
        scores[split] = score_labels(export.values, {r.rid: gold.values[r.rid] for r in part}, gold.labels)
        by_code[split] = code_scores(part, export, onto, label_set, rules)
    return CmcResult(gold, export, scores, by_code, failed or set())


def code_scores(reports: Sequence[CmcReport], export: LabelExport, onto: Ontology, label_set: str,
                rules: list[Icd9Rule]) -> list[LabelScore]:
    """Per mapped ICD-9 code of the majority: gold = the code is there; predicted = a label its node counts
    for is 1 in the export."""
    pairs = onto.label_set(label_set)
    coded: dict[str, set[str]] = {}
    rule_of: dict[str, Icd9Rule] = {}
    for rep in reports:
        for icd in rep.majority:
            rule = match_icd9(icd, rules)
            if rule is not None and rule.code is not None:
                coded.setdefault(icd, set()).add(rep.rid)
                rule_of[icd] = rule
    out = []
    for icd in sorted(coded):
        names = [n for n, lc in pairs if speaks_for(onto, rule_of[icd].code or "", label_set, n, lc)]
        tp = fp = fn = 0
        for rep in reports:
            g = rep.rid in coded[icd]
            p = any(export.values[rep.rid].get(n) == 1 for n in names)
            tp, fp, fn = tp + (g and p), fp + (p and not g), fn + (g and not p)
        out.append(LabelScore(icd, tp, fp, fn, tp + fn))
    return out


@dataclass
class NegexCounts:
    """Negated/Affirmed agreement over the items one split scored."""

    items: int = 0  # items in the split
    scored: int = 0  # items with a prediction (scope: concept located; extract: a row overlaps it)
    correct: int = 0
    tp: int = 0  # Negated, predicted negated
    fp: int = 0
    fn: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (item index, gold, predicted)

    def add(self, item: NegexItem, negated: bool | None) -> None:
        self.items += 1
        if negated is None:
            return
        gold = item.gold == NEGATED
        self.scored += 1
        self.correct += gold == negated
        self.tp += gold and negated
        self.fp += negated and not gold
        self.fn += gold and not negated
        if gold != negated:
            self.errors.append((item.index, item.gold, "Negated" if negated else "Affirmed"))

    @property
    def accuracy(self) -> float:
        return self.correct / self.scored if self.scored else float("nan")

    @property
    def negated_f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else float("nan")


def negex_scope(items: Sequence[NegexItem], extractor: ReportFindingExtractor) -> dict[str, NegexCounts]:
    """The rule ConText asked about each annotated concept span (located items only)."""
    out = {s: NegexCounts() for s in SPLITS}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*\[W036\]")  # scispaCy's empty global matcher
        docs = list(extractor.nlp.pipe([it.sentence for it in items], batch_size=64))
    for it, doc in zip(items, docs, strict=True):
        negated = None
        span = doc.char_span(*it.span, alignment_mode="expand") if it.span else None
        if span is not None and len(span):
            sent = next(s for s in doc.sents if s.start <= span.start < s.end)
            certainty = assert_mention(doc, span.start, span.end, sent, extractor.context.triggers(doc)).certainty
            negated = certainty == "absent"
        out[split_of(it.report)].add(it, negated)
    return out


def negex_ids(items: Sequence[NegexItem]) -> list[str]:
    return [f"negex-{it.index}" for it in items]


def negex_extract(items: Sequence[NegexItem], rows: Rows) -> dict[str, NegexCounts]:
    """The FINDING rows of each sentence (ids from `negex_ids`) whose span overlaps the concept: the row with
    the largest overlap speaks (ties: the first)."""
    by_id: dict[str, Rows] = {}
    for r in rows:
        by_id.setdefault(r["report_id"], []).append(r)
    out = {s: NegexCounts() for s in SPLITS}
    for it, rid in zip(items, negex_ids(items), strict=True):
        negated = None
        if it.span is not None:
            lo, hi = it.span
            overlaps = [(min(hi, r["span_end"]) - max(lo, r["span_start"]), n, r)
                        for n, r in enumerate(by_id.get(rid, [])) if r["span_start"] < hi and lo < r["span_end"]]
            if overlaps:
                best = max(overlaps, key=lambda t: (t[0], -t[1]))[2]
                negated = best["certainty"] == "absent"
        out[split_of(it.report)].add(it, negated)
    return out


@dataclass(frozen=True)
class Agreement:
    pairs: int
    agree: int
    kappa: float


def agreement(a: Mapping[str, Mapping[str, int | None]], b: Mapping[str, Mapping[str, int | None]],
              ids: Sequence[str], labels: Sequence[str]) -> Agreement:
    """Raw agreement and Cohen's kappa of two label exports (positive = 1) over every (report, label)."""
    n = both = pa_ = pb = 0
    for rid in ids:
        for lab in labels:
            x, y = (a.get(rid) or {}).get(lab) == 1, (b.get(rid) or {}).get(lab) == 1
            n, both, pa_, pb = n + 1, both + (x == y), pa_ + x, pb + y
    if not n:
        return Agreement(0, 0, float("nan"))
    po = both / n
    pe = (pa_ / n) * (pb / n) + (1 - pa_ / n) * (1 - pb / n)
    return Agreement(n, both, (po - pe) / (1 - pe) if pe < 1 else 1.0)


def timed(fn: RowsFn, ids: Sequence[str], texts: Sequence[str]) -> tuple[Rows, set[str], float]:
    """Rows, failed ids and the process CPU seconds they took (start-up excluded: the engine is built)."""
    t0 = time.process_time()
    rows, failed = fn(ids, texts)
    return rows, failed, time.process_time() - t0
