"""The development gold beside the checkout (skip when absent) and small project-written stand-ins.

The stand-ins (CMC_XML, NEGEX_TSV) are written here in the files' own formats: they test the readers
and the harness wiring (unit tests), and their scores are evidence of nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.reports.evaluation.harness import CMC_FILE, DEV_DIR, NEGEX_FILE


@pytest.fixture(scope="session")
def reports_dev() -> Path:
    if not ((DEV_DIR / CMC_FILE).is_file() and (DEV_DIR / NEGEX_FILE).is_file()):
        pytest.skip("../shared/datasets/reports_dev is not beside this checkout")
    return DEV_DIR


def doc(rid: str, codes: list[str], history: str, impression: str, others: list[str] | None = None) -> str:
    majority = "".join(f'<code origin="CMC_MAJORITY" type="ICD-9-CM">{c}</code>' for c in codes)
    coder = "".join(f'<code origin="COMPANY1" type="ICD-9-CM">{c}</code>' for c in (others or codes))
    return (f'<doc id="{rid}" type="RADIOLOGY_REPORT"><codes>{majority}{coder}</codes><texts>'
            f'<text origin="X" type="IMPRESSION">{impression}</text>'
            f'<text origin="X" type="CLINICAL_HISTORY">{history}</text></texts></doc>')


CMC_XML = "<?xml version='1.0'?><docs>" + "".join([
    doc("10", ["486"], "Fever and cough.", "Right lower lobe pneumonia."),
    doc("11", ["786.2"], "Cough, rule out pneumonia.", "No pneumonia. Lungs are clear."),
    doc("12", ["518.0", "786.07"], "Wheezing.", "Left lower lobe atelectasis."),
    doc("13", ["486"], "Pneumonia.", "Normal chest.", others=["486", "V13.02"]),
    doc("14", ["277.00"], "Cystic fibrosis.", "Bronchial wall thickening. No focal consolidation."),
    doc("15", ["511.9", "486"], "Fever.", "Left pleural effusion and left lower lobe pneumonia."),
]) + "</docs>"

NEGEX_TSV = "\n".join([
    "Report No.\tConcept\tSentence\tNegation",
    "2\tpneumonia\tThere is no evidence of PNEUMONIA.\tNegated",
    "2\tfever\tThe patient had FEVER and chills.\tAffirmed",
    "3\tpleural effusion\tSmall left PLEURAL   EFFUSION is seen.\tAffirmed",
    "3\tpneumothorax\t\"No effusion, atelectasis, or PNEUMOTHORAX.\"\tNegated",
    "4\tchest pain\tDenies CHEST PAIN but reports cough.\tNegated",
    "5\tnot there\tThis sentence lacks it.\tAffirmed",
]) + "\n"


@pytest.fixture()
def tiny_dev(tmp_path: Path) -> Path:
    (tmp_path / CMC_FILE).write_text(CMC_XML, encoding="utf-8")
    (tmp_path / NEGEX_FILE).write_text(NEGEX_TSV, encoding="utf-8")
    return tmp_path
