"""label_export: the CSV values and the laterality rows agree by construction, for both label schemes."""

from __future__ import annotations

from typing import Any

from extractors.reports.label_export import FindingRow, combine_sides, export_labels
from schemas.ontology import load_ontology


def row(rid: str, code: str, certainty: str = "present", laterality: str | None = "none", **kw: Any) -> dict:
    return {"report_id": rid, "code": code, "section": "findings", "certainty": certainty, "flags": [],
            "laterality": laterality, **kw}


def test_combine_sides() -> None:
    assert combine_sides(["left", "right"]) == "bilateral"
    assert combine_sides(["left", "none", "left"]) == "left"
    assert combine_sides(["bilateral", "left"]) == "bilateral"
    assert combine_sides(["none"]) == "none" and combine_sides([]) == "none"


def test_finding_row_defaults() -> None:
    m = FindingRow.of({"code": "atelectasis", "section": None, "certainty": "present", "flags": None,
                       "laterality": "sideways"})
    assert (m.section, m.flags, m.laterality) == ("unsectioned", (), "none")


def test_binary_export_rows_match_values() -> None:
    onto = load_ontology()
    rows = [row("a", "pleural_effusion", laterality="left"), row("a", "pleural_effusion", laterality="right"),
            row("a", "atelectasis", "uncertain", "left"), row("b", "pneumothorax", "absent", "right")]
    exp = export_labels(rows, ["a", "b", "c"], onto, "chestxray14", uncertain="positive")
    assert exp.sides["a"] == {"Atelectasis": "left", "Effusion": "bilateral"}
    assert exp.sides["b"] == {"normal": "none"} and exp.sides["c"] == {"normal": "none"}
    neg = export_labels(rows, ["a"], onto, "chestxray14", uncertain="negative")
    assert neg.sides["a"] == {"Effusion": "bilateral"}
    for e in (exp, neg):
        assert {(r["uid"], r["finding"]) for r in e.jsonl_rows()} == {
            (rid, k) for rid, v in e.values.items() for k, x in v.items() if x == 1}


def test_chexpert_uncertain_gets_no_row() -> None:
    onto = load_ontology()
    exp = export_labels([row("a", "atelectasis", "uncertain", "left")], ["a", "b"], onto, "chexpert",
                        uncertain="negative")
    assert exp.values["a"]["Atelectasis"] == -1 and "Atelectasis" not in exp.sides["a"]
    assert exp.sides["b"] == {"No Finding": "none"}
