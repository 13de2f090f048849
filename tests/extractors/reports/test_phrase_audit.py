"""The coverage audit of the public phrase lists and NegBio's patterns (data/phrase_audit.tsv): one test per row, each
through the real extractor, the FINDING rows and the chestxray14 label export. Project-written from rule
definitions (the CheXpert labeler's mention/unmention lists, NegBio's ChestX-ray14 phrases and patterns, issue 15's
label rules): a unit test of the rules, not evidence of accuracy on real reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.findings_table import finding_rows
from extractors.reports.label_export import FindingRow, export_labels
from extractors.reports.labels import derive_labels, label_columns

AUDIT = Path(__file__).resolve().parent / "data" / "phrase_audit.tsv"
LABEL_SET = "chestxray14"
COLUMNS = 9


def audit_rows() -> list[list[str]]:
    rows = []
    for line in AUDIT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            parts = line.split("\t")
            assert len(parts) == COLUMNS, line
            rows.append(parts)
    return rows


ROWS = audit_rows()


def values_of(extractor: ReportFindingExtractor, text: str) -> tuple[set[str], dict[str, int | None]]:
    """The labels = 1 in the binary export and the chexpert-scheme values of the same FINDING rows."""
    rows = finding_rows(extractor.extract(text), extractor.onto, report_id="r1", source="audit")
    export = export_labels(rows, ["r1"], extractor.onto, LABEL_SET)
    positives = {k for k, v in export.values["r1"].items() if v == 1 and k != "normal"}
    scheme = derive_labels([FindingRow.of(r) for r in rows], extractor.onto, LABEL_SET, scheme="chexpert")
    return positives, scheme


VALUES = {"1": {1}, "0": {0}, "-1": {-1}, "0|blank": {0, None}}


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_audit_row(extractor: ReportFindingExtractor, row: list[str]) -> None:
    _id, label, _form, _template, sentence, positives, value, _source, _note = row
    got_positives, scheme = values_of(extractor, sentence)
    assert got_positives == (set() if positives == "-" else set(positives.split("|")))
    if label != "-":
        for name in label.split("|"):
            assert scheme.get(name) in VALUES[value], (name, scheme.get(name))


def test_audit_is_well_formed(extractor: ReportFindingExtractor) -> None:
    names = set(label_columns(extractor.onto, LABEL_SET)) - {"normal"}
    assert len({r[0] for r in ROWS}) == len(ROWS)
    for _id, label, _form, _t, _s, positives, value, _src, _note in ROWS:
        assert label == "-" or set(label.split("|")) <= names
        assert positives == "-" or set(positives.split("|")) <= names
        assert value == "-" if label == "-" else value in VALUES
    assert names <= {n for r in ROWS for n in r[1].split("|")}  # every label audited
