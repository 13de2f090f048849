"""Run the development evaluation end to end and render it (what `findings eval` and bench/findings.py print).

`run_dev` reads both gold files, runs one engine (rules, or an LLM endpoint: then the rules too, for
their agreement), scores CMC and NegEx per split, and times the rule extraction of the CMC reports in
process CPU seconds with the extractor already built (reports/s/core net of start-up; one process).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.reports.evaluation import harness as h
from extractors.reports.evaluation.cmc import CmcReport, Icd9Rule, parse_cmc, read_icd9_table
from extractors.reports.evaluation.negex_kit import parse_negex
from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.labels import UNCERTAIN_POLICIES
from extractors.reports.scoring import LabelScore
from schemas.ontology import Ontology


@dataclass(frozen=True)
class DevReport:
    engine: str
    label_set: str
    uncertain: str
    cmc: h.CmcResult
    negex_extract: dict[str, h.NegexCounts]
    negex_scope: dict[str, h.NegexCounts] | None  # rules only: ConText on the concept span
    rules_cmc: h.CmcResult | None  # llm only: the rules on the same reports
    agreement: dict[str, h.Agreement] | None  # llm only: LLM vs rules labels, per split
    rules_cpu_s: float
    n_reports: int
    policy_dev_f1: dict[str, tuple[float, float]]  # --uncertain policy → (micro, macro) F1 on dev, this engine


def run_dev(dev_dir: Path, onto: Ontology, *, engine: str = "rules", endpoint: str | None = None,
            model: str = "default", label_set: str = "chestxray14", uncertain: str = "negative",
            limit: int | None = None, max_concurrency: int = 4) -> DevReport:
    every = parse_cmc(dev_dir / h.CMC_FILE)
    reports = every[:limit]
    items = parse_negex(dev_dir / h.NEGEX_FILE)[:limit]
    icd9 = read_icd9_table(onto=onto)
    extractor = ReportFindingExtractor(onto)
    rules = h.rules_engine(extractor)
    ids, texts = h.cmc_inputs(reports)
    rules(ids[:8], texts[:8])  # warm-up: lazy vocab and matcher state, outside the timing
    rule_rows, _, cpu_s = h.timed(rules, ids, texts)
    rules_cmc = h.evaluate_cmc(reports, rule_rows, onto, label_set, icd9, uncertain=uncertain, universe=every)
    if engine == "rules":
        neg_rows, _ = rules(h.negex_ids(items), [it.sentence for it in items])
        return DevReport(engine, label_set, uncertain, rules_cmc, h.negex_extract(items, neg_rows),
                         h.negex_scope(items, extractor), None, None, cpu_s, len(reports),
                         policy_f1(reports, rule_rows, onto, label_set, icd9, every))
    if engine != "llm" or not endpoint:
        raise ValueError("engine must be 'rules', or 'llm' with an endpoint URL")
    llm = h.llm_engine(endpoint, model, onto, max_concurrency=max_concurrency)
    llm_rows, failed = llm(ids, texts)
    cmc = h.evaluate_cmc(reports, llm_rows, onto, label_set, icd9, uncertain=uncertain, failed=failed,
                         universe=every)
    neg_rows, _ = llm(h.negex_ids(items), [it.sentence for it in items])
    labels = [c for c in cmc.export.columns if c != "normal"]
    agree = {split: h.agreement(cmc.export.values, rules_cmc.export.values,
                                [r.rid for r in reports if h.split_of(r.rid) == split], labels)
             for split in h.SPLITS}
    return DevReport(engine, label_set, uncertain, cmc, h.negex_extract(items, neg_rows), None, rules_cmc, agree,
                     cpu_s, len(reports), policy_f1(reports, llm_rows, onto, label_set, icd9, every))


def policy_f1(reports: list[CmcReport], rows: h.Rows, onto: Ontology, label_set: str, icd9: list[Icd9Rule],
              every: list[CmcReport]) -> dict[str, tuple[float, float]]:
    """Dev micro/macro F1 of the export under each --uncertain policy (choose on dev, quote held-out)."""
    out = {}
    for policy in UNCERTAIN_POLICIES:
        s = h.evaluate_cmc(reports, rows, onto, label_set, icd9, uncertain=policy, universe=every).scores["dev"]
        out[policy] = (s.micro.f1, s.macro_f1)
    return out


def _f(x: float) -> str:
    return "  -  " if math.isnan(x) else f"{x:.3f}"


def _score_line(s: LabelScore) -> str:
    p = _f(s.precision) if s.tp + s.fp else "  -  "
    r = _f(s.recall) if s.support else "  -  "
    return f"    {s.label:<14} P {p}  R {r}  F1 {_f(s.f1)}  tp {s.tp} fp {s.fp} fn {s.fn}"


def render(rep: DevReport) -> list[str]:
    name = "rules" if rep.engine == "rules" else "LLM"
    g = rep.cmc.gold
    out = [f"CMC 2007 ({rep.n_reports} reports, gold = coders' majority ICD-9; labels: {rep.label_set}, "
           f"--uncertain {rep.uncertain}; engine: {name})",
           f"  scored labels: {', '.join(g.labels)}; reachable but no gold support: {', '.join(g.unscored) or '-'}"]
    if rep.cmc.failed:
        out.append(f"  {len(rep.cmc.failed)} report(s) got no LLM answer: all their labels count as 0")
    for split in h.SPLITS:
        s = rep.cmc.scores[split]
        out.append(f"  {split:<8} ({s.n_reports} reports): micro P {_f(s.micro.precision)} R {_f(s.micro.recall)} "
                   f"F1 {_f(s.micro.f1)}  macro-F1 {_f(s.macro_f1)}")
        out += [_score_line(x) for x in s.per_label]
        out.append("    by ICD-9 code:")
        out += ["  " + _score_line(x) for x in rep.cmc.by_code[split]]
    out.append("  dev micro/macro-F1 by --uncertain policy: "
               + ", ".join(f"{p} {_f(mi)}/{_f(ma)}" for p, (mi, ma) in rep.policy_dev_f1.items()))
    if rep.rules_cmc is not None and rep.agreement is not None:
        for split in h.SPLITS:
            s, a = rep.rules_cmc.scores[split], rep.agreement[split]
            out.append(f"  {split:<8} rules on the same reports: micro-F1 {_f(s.micro.f1)} macro-F1 {_f(s.macro_f1)}; "
                       f"LLM vs rules agreement {a.agree}/{a.pairs} (report, label) pairs, kappa {_f(a.kappa)}")
    out.append(f"NegEx kit ({sum(c.items for c in rep.negex_extract.values())} sentences, gold = annotated "
               "Negated/Affirmed)")
    for label, counts in (("ConText on the concept span", rep.negex_scope),
                          (f"{name} FINDING rows overlapping the concept", rep.negex_extract)):
        if counts is None:
            continue
        out.append(f"  {label}:")
        for split in h.SPLITS:
            c = counts[split]
            out.append(f"    {split:<8} accuracy {_f(c.accuracy)} over {c.scored}/{c.items} items, "
                       f"Negated F1 {_f(c.negated_f1)} (tp {c.tp} fp {c.fp} fn {c.fn})")
    if rep.rules_cpu_s > 0:
        out.append(f"rules throughput: {rep.n_reports / rep.rules_cpu_s:.0f} reports/s/core "
                   f"({rep.n_reports} CMC reports in {rep.rules_cpu_s:.2f} CPU s, start-up excluded)")
    return out


def _score_dict(s: LabelScore) -> dict[str, Any]:
    f1 = None if math.isnan(s.f1) else s.f1
    return {"label": s.label, "tp": s.tp, "fp": s.fp, "fn": s.fn, "support": s.support,
            "precision": s.precision, "recall": s.recall, "f1": f1}


def as_json(rep: DevReport) -> dict[str, Any]:
    def nan(x: float) -> float | None:
        return None if math.isnan(x) else x

    doc: dict[str, Any] = {"engine": rep.engine, "label_set": rep.label_set, "uncertain": rep.uncertain,
                           "n_reports": rep.n_reports, "cmc": {}, "negex": {},
                           "rules_reports_per_cpu_s": nan(rep.n_reports / rep.rules_cpu_s if rep.rules_cpu_s else
                                                          float("nan")),
                           "llm_failed": sorted(rep.cmc.failed),
                           "dev_f1_by_policy": {p: {"micro": nan(mi), "macro": nan(ma)}
                                                for p, (mi, ma) in rep.policy_dev_f1.items()}}
    for split in h.SPLITS:
        s = rep.cmc.scores[split]
        doc["cmc"][split] = {"n_reports": s.n_reports, "micro": _score_dict(s.micro), "macro_f1": nan(s.macro_f1),
                             "per_label": [_score_dict(x) for x in s.per_label],
                             "by_code": [_score_dict(x) for x in rep.cmc.by_code[split]]}
        if rep.agreement is not None and rep.rules_cmc is not None:
            a = rep.agreement[split]
            doc["cmc"][split]["rules_micro_f1"] = nan(rep.rules_cmc.scores[split].micro.f1)
            doc["cmc"][split]["agreement"] = {"pairs": a.pairs, "agree": a.agree, "kappa": nan(a.kappa)}
        for kind, counts in (("scope", rep.negex_scope), ("extract", rep.negex_extract)):
            if counts is not None:
                c = counts[split]
                doc["negex"].setdefault(kind, {})[split] = {
                    "items": c.items, "scored": c.scored, "correct": c.correct, "accuracy": nan(c.accuracy),
                    "tp": c.tp, "fp": c.fp, "fn": c.fn, "negated_f1": nan(c.negated_f1)}
                if split == "dev":  # what to look at when tuning; held-out errors stay unlisted
                    doc["negex"][kind]["dev"]["errors"] = [{"item": i, "gold": g, "predicted": p}
                                                           for i, g, p in c.errors]
    doc["cmc"]["dev"]["errors"] = cmc_dev_errors(rep.cmc)
    return doc


def cmc_dev_errors(res: h.CmcResult) -> list[dict[str, str]]:
    """The dev reports whose exported label disagrees with the gold: {rid, label, kind: fp|fn}."""
    out = []
    for rid, gold in sorted(res.gold.values.items()):
        if h.split_of(rid) != "dev" or rid not in res.export.values:
            continue
        for label in res.gold.labels:
            p, g = res.export.values[rid].get(label) == 1, gold[label] == 1
            if p != g:
                out.append({"rid": rid, "label": label, "kind": "fp" if p else "fn"})
    return out
