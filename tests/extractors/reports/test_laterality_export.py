"""Laterality of the --laterality-out JSONL (label_export, as `findings labels` writes it) for common side wordings.

Project-written unit cases: they test the rules, they are not evidence of laterality accuracy on real reports.
"""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.findings_table import finding_rows
from extractors.reports.label_export import export_labels


def jsonl_sides(extractor: ReportFindingExtractor, text: str) -> dict[str, str]:
    rows = finding_rows(extractor.extract(text), extractor.onto, report_id="r1", source="test")
    export = export_labels(rows, ["r1"], extractor.onto, "chestxray14")
    recs = export.jsonl_rows()
    assert all(set(r) == {"uid", "finding", "laterality"} and r["uid"] == "r1" for r in recs)
    return {r["finding"]: r["laterality"] for r in recs}


CASES = [
    # (report text, label, laterality in the JSONL)
    ("Pleural effusions, left greater than right.", "Effusion", "bilateral"),
    ("Left greater than right pleural effusions.", "Effusion", "bilateral"),
    ("Right greater than left basilar atelectasis.", "Atelectasis", "bilateral"),
    ("R>L pleural effusions.", "Effusion", "bilateral"),
    ("Pleural effusions R>L.", "Effusion", "bilateral"),
    ("Small effusions, L > R.", "Effusion", "bilateral"),
    ("Bibasilar atelectasis.", "Atelectasis", "bilateral"),
    ("Bilateral pleural effusions.", "Effusion", "bilateral"),
    ("Small effusions bilaterally.", "Effusion", "bilateral"),
    ("Opacities in both lungs consistent with pneumonia.", "Pneumonia", "bilateral"),
    ("Left and right pleural effusions.", "Effusion", "bilateral"),
    ("Pleural effusions on the left and right.", "Effusion", "bilateral"),
    ("Small left and moderate right pleural effusions.", "Effusion", "bilateral"),
    ("Atelectasis in the right and left lower lobes.", "Atelectasis", "bilateral"),
    ("Right lower lobe and left lower lobe atelectasis.", "Atelectasis", "bilateral"),
    ("Right-sided pleural effusion.", "Effusion", "right"),
    ("Atelectasis in the left lung base.", "Atelectasis", "left"),
    ("Small pleural effusion on the right.", "Effusion", "right"),
    ("Pneumothorax on the left.", "Pneumothorax", "left"),
    ("Nodule in the left lung.", "Nodule", "left"),
    ("Small left pleural effusion and right basilar atelectasis.", "Effusion", "left"),
    ("Small left pleural effusion and right basilar atelectasis.", "Atelectasis", "right"),
    ("Right chest tube, and left pleural effusion.", "Effusion", "left"),
    ("Lungs are clear on the right, and left lower lobe pneumonia.", "Pneumonia", "left"),
    # a side does not leak into a later sentence ...
    ("Left lower lobe consolidation. Small pleural effusion.", "Effusion", "none"),
    ("Right upper lobe mass. Mediastinal widening. Pleural effusion.", "Effusion", "none"),
    ("Left lower lobe opacity. Pneumonia is likely.", "Pneumonia", "none"),
    ("Heart size is enlarged. Left pleural effusion.", "Cardiomegaly", "none"),
    # ... unless the finding is an anaphor of it
    ("Left lower lobe opacity. This likely represents pneumonia.", "Pneumonia", "left"),
    ("Small left pleural effusion. The effusion has increased.", "Effusion", "left"),
    ("No left effusion. Small right effusion.", "Effusion", "right"),
    # no side written
    ("Cardiomegaly.", "Cardiomegaly", "none"),
    ("Small pleural effusion.", "Effusion", "none"),
]


@pytest.mark.parametrize(("text", "label", "side"), CASES)
def test_jsonl_laterality(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


def test_normal_report_gets_one_none_row(extractor: ReportFindingExtractor) -> None:
    assert jsonl_sides(extractor, "No left pleural effusion. No right pneumothorax.") == {"normal": "none"}
