"""Repair of validated answers: spans re-located in the text, codes mapped by synonyms or rejected."""

from __future__ import annotations

from typing import Any

from extractors.llm.answer import FindingAnswer
from extractors.llm.repair import Provenance, answer_rows, locate_span, map_code, map_locations
from schemas.ontology import Ontology
from schemas.tables import FINDING_SCHEMA
from tests.extractors.llm.conftest import TEXT, report

PROV = Provenance("double-llm", "findings-v1", "ab" * 32)


def ans(phrase: str, code: str, start: int | None = None, **kw: Any) -> FindingAnswer:
    fields = {"sentence": None, "certainty": "present", "laterality": "none", "location_codes": [],
              "size_mm": [], "severity": None, "change": None}
    return FindingAnswer(phrase=phrase, start=start, code=code, **{**fields, **kw})


def test_locate_span() -> None:
    text = "Effusion on the left. Small effusion on the right."
    assert locate_span(text, "effusion", 28, None) == (28, 36, False)  # offset right: kept as is
    assert locate_span(text, "effusion", 30, None) == (28, 36, True)  # nearest occurrence
    assert locate_span(text, "effusion", None, "Small effusion on the right.") == (28, 36, True)
    assert locate_span(text, "EFFUSION  on", 0, None) == (0, 11, True)  # case and spacing
    assert locate_span(text, "pneumothorax", 0, None) is None


def test_map_code(onto: Ontology) -> None:
    assert map_code(onto, "pleural_effusion", "x") == ("pleural_effusion", False)
    assert map_code(onto, "effusion", "x") == ("pleural_effusion", True)  # synonym
    assert map_code(onto, "heart_enlargement", "x") == ("cardiomegaly", True)
    assert map_code(onto, "zz_made_up", "PTX") == ("pneumothorax", True)  # the phrase maps
    assert map_code(onto, "zz_made_up", "blah") == (None, False)
    assert map_code(onto, "left_lung", "blah") == (None, False)  # anatomy is not a finding code
    assert map_locations(onto, ["left_lung", "right lung", "zz"]) == (["left_lung", "right_lung"], True)


def test_answer_rows_repairs_flags_and_rejects(onto: Ontology) -> None:
    answers = [
        ans("left pleural effusion", "pleural_effusion", start=16, laterality="left", severity=" Small ",
            location_codes=["left_lung"], size_mm=[12.0, -1.0]),
        ans("pneumothorax", "PTX", start=2, certainty="absent"),  # wrong offset, abbreviation code
        ans("pleural effusion", "pleural_effusion", start=21),  # a sub-span of the first: its own row
        ans("consolidation", "consolidation", start=0),  # not in the text: invented
        ans("Effusion", "zz_unknown", start=68),  # code nothing maps; phrase maps ('effusion')
        ans("IMPRESSION", "zz_unknown"),  # neither code nor phrase maps
    ]
    rows, rejects = answer_rows(answers, report(), onto, PROV, image_id="img1")
    assert sorted((r.reason, r.label) for r in rejects) == [("span_not_found", "consolidation"),
                                                            ("unknown_code", "zz_unknown")]
    by_phrase = {r["phrase"]: r for r in rows}
    assert set(by_phrase) == {"left pleural effusion", "pleural effusion", "pneumothorax", "Effusion"}
    for r in rows:
        assert TEXT[r["span_start"] : r["span_end"]] == r["phrase"]
        assert set(r) == set(FINDING_SCHEMA.names) and r["extractor"] == "llm"
        assert r["model"] == "double-llm" and r["prompt_version"] == "findings-v1" and r["input_hash"] == "ab" * 32
        assert r["code_path"][-1] == r["code"] and r["image_id"] == "img1"
    first = by_phrase["left pleural effusion"]
    assert (first["severity"], first["size_mm"], first["location_codes"], first["flags"]) == (
        "small", [12.0], ["left_lung"], [])
    assert first["section"] == "findings" and first["sentence"] == "Small left pleural effusion."
    ptx = by_phrase["pneumothorax"]
    assert ptx["code"] == "pneumothorax" and ptx["flags"] == ["llm_code_mapped", "llm_span_relocated"]
    assert by_phrase["Effusion"]["section"] == "impression" and by_phrase["Effusion"]["flags"] == ["llm_code_mapped"]
    assert [r["span_start"] for r in rows] == sorted(r["span_start"] for r in rows)
    assert len({r["finding_id"] for r in rows}) == len(rows)


def test_duplicates_collapse(onto: Ontology) -> None:
    twice = [ans("pneumothorax", "pneumothorax", start=42), ans("pneumothorax", "pneumothorax", start=42)]
    rows, rejects = answer_rows(twice, report(), onto, PROV)
    assert len(rows) == 1 and rejects == []
