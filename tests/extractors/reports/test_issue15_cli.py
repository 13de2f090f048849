"""Issue 15's named failure classes and misses, end to end through the command line exactly as measured:
`medground findings extract reports.csv --text-cols findings,impression` then `findings labels F.parquet
--label-set chestxray14 --laterality-out lat.jsonl` (default --uncertain probable).

Each case is one report (findings, impression), the exact set of chestxray14 labels that must be 1, and the
laterality row of the labels named. Project-written sentences in the wordings the issue names: a unit test of
the rules, not evidence of accuracy on real reports.
"""

from __future__ import annotations

import csv
import json

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli.findings import register

# (case id, findings, impression, labels that must be 1, {label: laterality} checked in the JSONL)
CASES: list[tuple[str, str, str, set[str], dict[str, str]]] = [
    # negation scope across coordinated lists with size/degree modifiers
    ("list_or_large", "No focal consolidation, pneumothorax or large pleural effusion.", "", set(), {}),
    ("list_without", "Lungs clear without focal airspace opacity, large effusion, or pneumothorax.", "", set(), {}),
    ("list_oxford", "There is no pneumothorax, large pleural effusion, or focal airspace consolidation.", "", set(),
     {}),
    ("list_significant", "No pleural effusion, pneumothorax, or significant consolidation.", "", set(), {}),
    ("list_moderate", "No evidence of focal airspace disease, moderate pleural effusion, or pneumothorax.", "",
     set(), {}),
    ("list_no_no", "No pneumothorax, no large effusion.", "", set(), {}),
    ("list_new_assertion", "No pneumothorax, small left pleural effusion.", "", {"Effusion"}, {"Effusion": "left"}),
    ("list_new_degree", "No pneumothorax, moderate cardiomegaly.", "", {"Cardiomegaly"}, {"Cardiomegaly": "none"}),
    ("unpunctuated_list", "No pneumothorax pleural effusion or consolidation the heart is enlarged", "",
     {"Cardiomegaly"}, {}),
    ("unpunctuated_closed_list", "No pneumothorax or effusion cardiomegaly", "", {"Cardiomegaly"}, {}),
    ("reopened_scope", "No focal consolidation, no pneumothorax, small left effusion.", "", {"Effusion"},
     {"Effusion": "left"}),
    ("reopened_hedge", "No effusion, possible pneumothorax.", "", set(), {}),
    ("mimic", "Nodular density in the left lower lung, likely nipple shadow.", "", set(), {}),
    # label definitions (NegBio's ChestX-ray14 concepts, MeSH coding)
    ("granuloma", "Calcified granuloma in the right upper lobe.", "", set(), {}),
    ("scarring", "Right lower lobe scarring.", "", set(), {}),
    ("hyperexpanded", "Hyperexpanded lungs.", "Hyperinflated lungs.", set(), {}),
    ("congestion", "Pulmonary vascular congestion.", "", set(), {}),
    ("soft_tissue_edema", "Soft tissue edema of the chest wall.", "", set(), {}),
    ("edema_of_soft_tissues", "Edema of the soft tissues of the chest wall.", "", set(), {}),
    # NegBio's ChestX-ray14 CUI list has C0038536 Subcutaneous Emphysema among its Emphysema concepts
    ("subcutaneous_emphysema", "Subcutaneous emphysema in the left chest wall.", "", {"Emphysema"},
     {"Emphysema": "left"}),
    ("subcutaneous_air_and_emphysema", "Subcutaneous air and emphysema in the neck.", "", {"Emphysema"}, {}),
    ("mediastinal_emphysema", "Mediastinal emphysema.", "", set(), {}),
    ("vertebral_collapse", "Compression fracture of T12 with collapse.", "", set(), {}),
    ("lobar_collapse", "", "Left lower lobe collapse.", {"Atelectasis"}, {"Atelectasis": "left"}),
    # sides of retrocardiac and diffuse findings
    ("retrocardiac", "", "Retrocardiac opacity consistent with atelectasis.", {"Atelectasis"},
     {"Atelectasis": "left"}),
    ("diffuse", "Diffuse interstitial fibrosis.", "", {"Fibrosis"}, {"Fibrosis": "bilateral"}),
    ("relational_side", "Left pleural effusion. There is adjacent atelectasis.", "", {"Effusion", "Atelectasis"},
     {"Effusion": "left", "Atelectasis": "left"}),
    # a post-negation inverted before its copula
    ("inverted_negation", "No longer seen is the right effusion.", "", set(), {}),
    # misses
    ("heart_size_enlarged", "Heart size is enlarged.", "", {"Cardiomegaly"}, {"Cardiomegaly": "none"}),
    ("heart_borderline_in_size", "The heart is borderline in size.", "", {"Cardiomegaly"}, {}),
    ("borderline_cardiomegaly", "", "Borderline cardiomegaly.", {"Cardiomegaly"}, {}),
    ("versus", "", "Atelectasis versus pneumonia in the left lower lobe.", {"Atelectasis", "Pneumonia"},
     {"Atelectasis": "left", "Pneumonia": "left"}),
    ("vs_dot", "Atelectasis vs. infiltrate at the left base.", "", {"Atelectasis", "Infiltration"}, {}),
    ("pleural_then_thickening", "Left pleural effusion and thickening.", "", {"Effusion", "Pleural_Thickening"},
     {"Effusion": "left", "Pleural_Thickening": "left"}),
    ("pleural_air", "Small right pleural air collection.", "", {"Pneumothorax"}, {"Pneumothorax": "right"}),
    ("nodular_prominence", "Nodular prominence in the right hilum.", "", {"Nodule"}, {"Nodule": "right"}),
    ("pneumonitis", "", "Findings consistent with pneumonitis.", {"Pneumonia"}, {}),
    ("pseudo_interval_change", "", "Without significant interval change of mild atelectasis.", {"Atelectasis"}, {}),
    ("pseudo_no_change_fibrosis", "", "No change in the appearance of the chronic interstitial fibrosis.",
     {"Fibrosis"}, {}),
    # recommendation sentences assert nothing
    ("recommend_exclude", "", "Recommend follow-up chest radiograph to exclude an underlying mass.", set(), {}),
    ("correlate_for", "", "Correlate clinically for pneumonia.", set(), {}),
    ("finding_then_recommend", "Right lower lobe pneumonia.", "Follow-up recommended to document resolution.",
     {"Pneumonia"}, {"Pneumonia": "right"}),
    # laterality audit classes (test_laterality_classes.py), through the CLI
    ("lat_sides_per_finding", "Right effusion and left atelectasis.", "", {"Effusion", "Atelectasis"},
     {"Effusion": "right", "Atelectasis": "left"}),
    ("lat_side_across_list", "Left lower lobe atelectasis and effusion.", "", {"Effusion", "Atelectasis"},
     {"Effusion": "left", "Atelectasis": "left"}),
    ("lat_device_side", "Right PICC; no pneumothorax.", "Right PICC. Small effusion.", {"Effusion"},
     {"Effusion": "none"}),
    ("lat_two_sentences", "Small left pleural effusion.", "Right pleural effusion.", {"Effusion"},
     {"Effusion": "bilateral"}),
    ("lat_sided_and_unsided", "Small left pleural effusion.", "Small effusion.", {"Effusion"}, {"Effusion": "left"}),
    ("lat_plural", "", "Small pleural effusions.", {"Effusion"}, {"Effusion": "bilateral"}),
    ("lat_r_gt_l", "", "Effusions, R>L.", {"Effusion"}, {"Effusion": "bilateral"}),
    ("lat_comparative", "", "Effusions, greater on the right.", {"Effusion"}, {"Effusion": "bilateral"}),
    ("lat_without", "Left effusion without right effusion.", "", {"Effusion"}, {"Effusion": "left"}),
    ("lat_unpaired", "Left effusion and cardiomegaly.", "", {"Effusion", "Cardiomegaly"},
     {"Effusion": "left", "Cardiomegaly": "none"}),
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, str]], list[dict[str, str]]]:
    """CSV rows by uid and the JSONL records of every case, through the CLI."""
    tmp = tmp_path_factory.mktemp("issue15")
    with (tmp / "reports.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["uid", "findings", "impression"])
        w.writeheader()
        w.writerows({"uid": cid, "findings": f, "impression": i} for cid, f, i, _, _ in CASES)
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    res = runner.invoke(app, ["findings", "extract", str(tmp / "reports.csv"), "--id-col", "uid",
                              "--text-cols", "findings,impression", "--out", str(tmp / "F.parquet")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["findings", "labels", str(tmp / "F.parquet"), "--label-set", "chestxray14",
                              "--out", str(tmp / "labels.csv"), "--laterality-out", str(tmp / "lat.jsonl")])
    assert res.exit_code == 0, res.output
    with (tmp / "labels.csv").open() as fh:
        rows = {r["uid"]: r for r in csv.DictReader(fh)}
    records = [json.loads(line) for line in (tmp / "lat.jsonl").read_text().splitlines() if line.strip()]
    return rows, records


@pytest.mark.parametrize(("cid", "findings", "impression", "labels", "sides"), CASES, ids=[c[0] for c in CASES])
def test_issue15_case_through_the_cli(exported: tuple[dict[str, dict[str, str]], list[dict[str, str]]], cid: str,
                                      findings: str, impression: str, labels: set[str],
                                      sides: dict[str, str]) -> None:
    rows, records = exported
    row = rows[cid]
    assert {k for k, v in row.items() if v == "1" and k not in ("uid", "normal")} == labels
    assert row["normal"] == ("0" if labels else "1")
    mine = {r["finding"]: r["laterality"] for r in records if r["uid"] == cid}
    assert set(mine) == (labels or {"normal"})  # one JSONL row per positive (report, label)
    for label, side in sides.items():
        assert mine[label] == side


def test_jsonl_rows_have_the_contract_keys(exported: tuple[dict[str, dict[str, str]], list[dict[str, str]]]) -> None:
    _, records = exported
    assert records and all(set(r) == {"uid", "finding", "laterality"} for r in records)
    assert all(r["laterality"] in ("left", "right", "bilateral", "none") for r in records)
