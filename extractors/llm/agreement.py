"""Rules vs LLM agreement: per finding and per report, with disagreements as a FINDING-like table.

Within one report, every LLM finding is paired with at most one rule finding: same or related code
(one `is_a` the other) and overlapping spans (else the same sentence), best pair first. A pair that
differs in code, certainty or laterality is a disagreement; an unpaired finding is `llm_only` or
`rules_only`. Per report, agreement = agreeing pairs / (rule + LLM findings − pairs) (1.0 when both
are empty). Rows that fell back to rules (`llm_fallback`) have no LLM answer and are left out.
The review export picks the disagreement table up (`tables/llm_disagreements`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from schemas.ontology import Ontology

DISAGREEMENT_KINDS = ("code", "certainty", "laterality", "llm_only", "rules_only")
DISAGREEMENT_SCHEMA = pa.schema(
    [
        pa.field("disagreement_id", pa.string(), nullable=False),
        pa.field("report_id", pa.string(), nullable=False),
        pa.field("study_id", pa.string()),
        pa.field("image_id", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # one of DISAGREEMENT_KINDS
        pa.field("code", pa.string()),  # the LLM's code where there is one, else the rules'
        pa.field("code_path", pa.list_(pa.string())),
        pa.field("rules_finding_id", pa.string()),
        pa.field("llm_finding_id", pa.string()),
        pa.field("rules_code", pa.string()),
        pa.field("llm_code", pa.string()),
        pa.field("rules_certainty", pa.string()),
        pa.field("llm_certainty", pa.string()),
        pa.field("rules_laterality", pa.string()),
        pa.field("llm_laterality", pa.string()),
        pa.field("span_start", pa.int32()),
        pa.field("span_end", pa.int32()),
        pa.field("phrase", pa.string()),
        pa.field("sentence", pa.string()),
        pa.field("model", pa.string()),
        pa.field("prompt_ref", pa.string()),  # prompt tag : input hash of the LLM answer
        pa.field("report_agreement", pa.float32()),
    ],
    metadata={"table": "llm_disagreements", "schema_version": "1.0.0"},
)
REPORT_AGREEMENT_SCHEMA = pa.schema(
    [
        pa.field("report_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("model", pa.string()),
        pa.field("n_rules", pa.int32()),
        pa.field("n_llm", pa.int32()),
        pa.field("n_pairs", pa.int32()),
        pa.field("n_agree", pa.int32()),
        pa.field("agreement", pa.float32()),
    ],
    metadata={"table": "llm_agreement", "schema_version": "1.0.0"},
)

Row = dict[str, Any]


@dataclass(frozen=True)
class ReportAgreement:
    pairs: list[tuple[Row, Row, tuple[str, ...]]]  # (rules, llm, differing fields)
    rules_only: list[Row]
    llm_only: list[Row]

    @property
    def agreement(self) -> float:
        union = len(self.pairs) + len(self.rules_only) + len(self.llm_only)
        return 1.0 if union == 0 else round(sum(1 for *_, d in self.pairs if not d) / union, 4)


def _overlap(a: Row, b: Row) -> int:
    if a.get("span_start") is None or b.get("span_start") is None:
        return 0
    return max(0, min(a["span_end"], b["span_end"]) - max(a["span_start"], b["span_start"]))


def compare_report(rules: list[Row], llm: list[Row], onto: Ontology) -> ReportAgreement:
    """Pair one report's rule and LLM findings and say where they differ."""
    candidates = []
    for i, r in enumerate(rules):
        for j, m in enumerate(llm):
            related = r["code"] == m["code"] or onto.is_a(r["code"], m["code"]) or onto.is_a(m["code"], r["code"])
            near = _overlap(r, m) > 0 or (r.get("sentence") is not None and r.get("sentence") == m.get("sentence"))
            if related and near:
                candidates.append((-(r["code"] == m["code"]), -_overlap(r, m), i, j))
    used_r, used_m, pairs = set(), set(), []
    for *_, i, j in sorted(candidates):
        if i in used_r or j in used_m:
            continue
        used_r.add(i)
        used_m.add(j)
        r, m = rules[i], llm[j]
        diff = tuple(k for k in ("code", "certainty", "laterality") if r.get(k) != m.get(k))
        pairs.append((r, m, diff))
    return ReportAgreement(
        pairs=pairs,
        rules_only=[r for i, r in enumerate(rules) if i not in used_r],
        llm_only=[m for j, m in enumerate(llm) if j not in used_m],
    )


def agreement_flags(result: ReportAgreement) -> dict[str, str]:
    """finding_id → its agreement flag (`agreement:match`, `agreement:certainty`, `agreement:llm_only`, ...)."""
    out: dict[str, str] = {}
    for r, m, diff in result.pairs:
        flag = "agreement:" + ("+".join(diff) if diff else "match")
        out[r["finding_id"]] = out[m["finding_id"]] = flag
    out.update({r["finding_id"]: "agreement:rules_only" for r in result.rules_only})
    out.update({m["finding_id"]: "agreement:llm_only" for m in result.llm_only})
    return out


def disagreement_rows(result: ReportAgreement) -> list[Row]:
    """One row per disagreeing field of a pair and per unpaired finding, sorted by span then kind."""
    rows = [_row(kind, r, m) for r, m, diff in result.pairs for kind in diff]
    rows += [_row("rules_only", r, None) for r in result.rules_only]
    rows += [_row("llm_only", None, m) for m in result.llm_only]
    for row in rows:
        row["report_agreement"] = result.agreement
    return sorted(rows, key=lambda x: (x["span_start"] if x["span_start"] is not None else -1, x["kind"],
                                       x["disagreement_id"]))


def _row(kind: str, r: Row | None, m: Row | None) -> Row:
    base = m if m is not None else r
    assert base is not None
    ids = f"{base['report_id']}|{kind}|{r and r['finding_id']}|{m and m['finding_id']}"
    return {
        "disagreement_id": hashlib.sha256(ids.encode()).hexdigest()[:20],
        **{k: base.get(k) for k in ("report_id", "study_id", "image_id", "source", "code", "code_path",
                                    "span_start", "span_end", "phrase", "sentence")},
        "kind": kind,
        "rules_finding_id": r and r["finding_id"], "llm_finding_id": m and m["finding_id"],
        "rules_code": r and r["code"], "llm_code": m and m["code"],
        "rules_certainty": r and r["certainty"], "llm_certainty": m and m["certainty"],
        "rules_laterality": r and r["laterality"], "llm_laterality": m and m["laterality"],
        "model": m and m.get("model"),
        "prompt_ref": m and f"{m.get('prompt_version')}:{m.get('input_hash')}",
    }


def split_by_extractor(findings: list[Row]) -> dict[str, tuple[list[Row], list[Row]]]:
    """report_id → (rule rows, LLM rows), fallback rows left out, each list sorted by span."""
    out: dict[str, tuple[list[Row], list[Row]]] = defaultdict(lambda: ([], []))
    for f in findings:
        if f.get("report_id") is None or "llm_fallback" in (f.get("flags") or []) or f.get("code") is None:
            continue
        if f.get("extractor") in ("rules", "llm"):
            out[f["report_id"]][f["extractor"] == "llm"].append(f)
    key = lambda f: (f.get("span_start") or 0, f.get("span_end") or 0, f["code"], f["finding_id"])  # noqa: E731
    return {rid: (sorted(a, key=key), sorted(b, key=key)) for rid, (a, b) in sorted(out.items())}


def agreement_tables(findings: pa.Table | list[Row], onto: Ontology) -> tuple[pa.Table, pa.Table]:
    """(disagreements, per-report agreement) of a FINDING table holding both rule and LLM rows."""
    rows = findings.to_pylist() if isinstance(findings, pa.Table) else findings
    dis, per_report = [], []
    for rid, (rules, llm) in split_by_extractor(rows).items():
        if not llm:
            continue  # no LLM answer for this report: nothing to compare
        result = compare_report(rules, llm, onto)
        dis += disagreement_rows(result)
        per_report.append({"report_id": rid, "source": llm[0]["source"], "model": llm[0].get("model"),
                           "n_rules": len(rules), "n_llm": len(llm), "n_pairs": len(result.pairs),
                           "n_agree": sum(1 for *_, d in result.pairs if not d), "agreement": result.agreement})
    return (pa.Table.from_pylist(dis, schema=DISAGREEMENT_SCHEMA),
            pa.Table.from_pylist(per_report, schema=REPORT_AGREEMENT_SCHEMA))
