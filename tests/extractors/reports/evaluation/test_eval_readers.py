"""The CMC 2007 and NegEx kit readers, on project-written stand-ins and (when present) the real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.reports.evaluation.cmc import (
    ICD9_TABLE,
    cmc_gold,
    match_icd9,
    parse_cmc,
    read_icd9_table,
)
from extractors.reports.evaluation.negex_kit import locate_concept, parse_negex
from schemas.errors import ConfigError
from schemas.ontology import load_ontology
from tests.extractors.reports.evaluation.conftest import CMC_XML, NEGEX_TSV


def test_parse_cmc_majority_coders_and_section_order() -> None:
    reps = {r.rid: r for r in parse_cmc(CMC_XML)}
    assert list(reps) == ["10", "11", "12", "13", "14", "15"]
    r13 = reps["13"]
    assert r13.majority == ("486",) and r13.coders == {"COMPANY1": ("486", "V13.02")}
    assert [k for k, _ in r13.sections] == ["CLINICAL_HISTORY", "IMPRESSION"]  # history first, whatever the file
    assert r13.columns() == {"clinical history": "Pneumonia.", "impression": "Normal chest."}


def test_parse_cmc_rejects_other_xml() -> None:
    with pytest.raises(ValueError, match="expected <docs>"):
        parse_cmc("<reports></reports>")
    with pytest.raises(ValueError, match="no id"):
        parse_cmc("<docs><doc></doc></docs>")


def test_icd9_prefix_rules() -> None:
    rules = read_icd9_table()
    assert match_icd9("486", rules).code == "pneumonia"
    assert match_icd9("511.9", rules).code == "pleural_effusion"
    assert match_icd9("511.0", rules).code is None  # pleurisy without effusion: not an effusion
    assert match_icd9("277.00", rules).prefix == "277.0"  # a decimal prefix takes its sub-codes
    assert match_icd9("4860", rules) is None  # but a bare one never swallows a longer code
    assert match_icd9("V13.02", rules).prefix == "V"
    assert match_icd9("999.9", rules) is None


def test_icd9_table_targets_are_nodes(tmp_path: Path) -> None:
    onto = load_ontology()
    assert all(r.code is None or r.code in onto for r in read_icd9_table(ICD9_TABLE, onto))
    bad = tmp_path / "t.tsv"
    bad.write_text("486\tno_such_node\tx\n")
    with pytest.raises(ConfigError, match="no_such_node"):
        read_icd9_table(bad, onto)


def test_cmc_gold_follows_the_label_definition() -> None:
    onto = load_ontology()
    gold = cmc_gold(parse_cmc(CMC_XML), onto, "chestxray14", read_icd9_table(onto=onto))
    assert gold.labels == ["Atelectasis", "Effusion", "Pneumonia"]
    assert gold.values["10"]["Pneumonia"] == 1 and gold.values["11"]["Pneumonia"] == 0
    assert gold.values["15"]["Effusion"] == 1 and gold.values["15"]["Pneumonia"] == 1
    assert gold.unmapped["786.2"][0] == 1 and "277.00" in gold.unmapped
    assert gold.unknown == {}


def test_parse_negex_and_locate_concept() -> None:
    items = parse_negex(NEGEX_TSV)
    assert [it.gold for it in items] == ["Negated", "Affirmed", "Affirmed", "Negated", "Negated", "Affirmed"]
    eff = items[2]
    assert eff.sentence[slice(*eff.span)] == "PLEURAL   EFFUSION"  # runs of spaces as the sentence has them
    assert items[3].sentence.startswith("No effusion") and items[3].sentence[slice(*items[3].span)] == "PNEUMOTHORAX"
    assert items[5].span is None  # unlocated: kept, never dropped
    assert locate_concept("effusion here, EFFUSION there", "effusion") == (15, 23)  # capitals preferred
    with pytest.raises(ValueError, match="header"):
        parse_negex("a\tb\tc\td\n")


def test_real_cmc_every_code_accounted(reports_dev: Path) -> None:
    onto = load_ontology()
    reports = parse_cmc(reports_dev / "cmc2007_train.xml")
    assert len(reports) == 978 and all(r.majority for r in reports)
    gold = cmc_gold(reports, onto, "chestxray14", read_icd9_table(onto=onto))
    assert gold.unknown == {}  # every majority code has a row in the table
    assert gold.labels == ["Atelectasis", "Effusion", "Pneumonia"]
    assert sum(v["Pneumonia"] for v in gold.values.values()) == 70


def test_real_negex_kit(reports_dev: Path) -> None:
    items = parse_negex(reports_dev / "negex_annotations_1_120.tsv")
    assert len(items) == 2376 and sum(it.gold == "Negated" for it in items) == 491
    assert sum(it.span is None for it in items) <= 20
