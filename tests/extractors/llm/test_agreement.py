"""Rules vs LLM agreement: pairing by code and span, per-finding flags, the disagreement table."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from extractors.llm.agreement import (
    DISAGREEMENT_SCHEMA,
    agreement_flags,
    agreement_tables,
    compare_report,
)
from schemas.ontology import Ontology
from schemas.tables import FINDING_SCHEMA, empty_row


def f(fid: str, extractor: str, code: str, start: int, end: int, certainty: str = "present",
      laterality: str = "none", flags: list[str] | None = None) -> dict[str, Any]:
    rec = empty_row(FINDING_SCHEMA)
    rec.update(finding_id=fid, report_id="rep1", source="s", code=code, span_start=start, span_end=end,
               certainty=certainty, laterality=laterality, extractor=extractor, sentence=f"s{start // 100}",
               flags=flags or [], model="m" if extractor == "llm" else None)
    return rec


def test_pairs_and_flags(onto: Ontology) -> None:
    rules = [f("r1", "rules", "pleural_effusion", 10, 26, laterality="left"),
             f("r2", "rules", "pneumothorax", 40, 52, certainty="absent"),
             f("r3", "rules", "cardiomegaly", 200, 212)]
    llm = [f("l1", "llm", "pleural_effusion", 5, 26, laterality="left"),
           f("l2", "llm", "pneumothorax", 40, 52, certainty="uncertain"),
           f("l3", "llm", "nodule", 300, 306)]
    result = compare_report(rules, llm, onto)
    assert [(r["finding_id"], m["finding_id"], d) for r, m, d in result.pairs] == [
        ("r1", "l1", ()), ("r2", "l2", ("certainty",))]
    assert [r["finding_id"] for r in result.rules_only] == ["r3"]
    assert [m["finding_id"] for m in result.llm_only] == ["l3"]
    assert result.agreement == 0.25  # 1 agreeing pair / (3 + 3 - 2)
    assert agreement_flags(result) == {"r1": "agreement:match", "l1": "agreement:match",
                                       "r2": "agreement:certainty", "l2": "agreement:certainty",
                                       "r3": "agreement:rules_only", "l3": "agreement:llm_only"}


def test_related_codes_pair_with_a_code_difference(onto: Ontology) -> None:
    child = next(c for c in onto.descendants("lung_opacity") if onto.get(c).kind == "finding")
    result = compare_report([f("r", "rules", "lung_opacity", 0, 8)], [f("l", "llm", child, 0, 8)], onto)
    assert [d for *_, d in result.pairs] == [("code",)]
    assert compare_report([], [], onto).agreement == 1.0


def test_tables_skip_fallback_rows_and_reports_without_llm(onto: Ontology) -> None:
    rows = [f("r1", "rules", "pneumothorax", 0, 12), f("l1", "llm", "pneumothorax", 0, 12, certainty="absent"),
            {**f("r9", "rules", "edema", 0, 5), "report_id": "rep2", "flags": ["llm_fallback"]}]
    dis, reports = agreement_tables(pa.Table.from_pylist(rows, schema=FINDING_SCHEMA), onto)
    assert dis.schema == DISAGREEMENT_SCHEMA
    (row,) = dis.to_pylist()
    assert (row["kind"], row["rules_finding_id"], row["llm_finding_id"], row["llm_certainty"], row["model"]) == (
        "certainty", "r1", "l1", "absent", "m")
    assert reports.column("report_id").to_pylist() == ["rep1"]
    assert agreement_tables(rows, onto)[0].equals(dis)  # deterministic, from rows or a table
