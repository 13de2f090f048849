"""`medground findings extract | labels | eval`: the CSV → Parquet → CSV round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import typer
from typer.testing import CliRunner

from pipelines.cli.findings import register
from schemas.tables import FINDING_SCHEMA

REPORTS = [
    {"uid": "r1", "findings": "Small left pleural effusion. No pneumothorax.", "impression": "Left effusion."},
    {"uid": "r2", "findings": "Lungs are clear. No effusion.", "impression": "Normal."},
    {"uid": "r3", "findings": "Heart is enlarged.", "impression": "Cardiomegaly, possible pneumonia."},
]


def app() -> typer.Typer:
    a = typer.Typer()
    register(a)
    return a


def write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_extract_labels_eval_round_trip(tmp_path: Path) -> None:
    runner = CliRunner()
    write_csv(tmp_path / "reports.csv", REPORTS)
    f = tmp_path / "F.parquet"
    res = runner.invoke(app(), ["findings", "extract", str(tmp_path / "reports.csv"), "--id-col", "uid",
                                "--text-cols", "findings,impression", "--out", str(f)])
    assert res.exit_code == 0, res.output
    table = pq.read_table(f)
    assert table.schema.names == FINDING_SCHEMA.names
    rows = table.to_pylist()
    assert {r["report_id"] for r in rows} == {"r1", "r2", "r3"}
    assert all(r["extractor"] == "rules" for r in rows)
    r1 = [r for r in rows if r["report_id"] == "r1"]
    assert r1[0]["section"] == "findings" and r1[-1]["section"] == "impression"

    labels = tmp_path / "LABELS.csv"
    res = runner.invoke(app(), ["findings", "labels", str(f), "--label-set", "chestxray14", "--out", str(labels)])
    assert res.exit_code == 0, res.output
    with labels.open() as fh:
        got = list(csv.DictReader(fh))
    assert list(got[0]) == ["uid", "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule",
                            "Pneumonia", "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis",
                            "Pleural_Thickening", "Hernia", "normal"]
    by = {r["uid"]: r for r in got}
    assert by["r1"]["Effusion"] == "1" and by["r1"]["Pneumothorax"] == "0" and by["r1"]["normal"] == "0"
    assert by["r2"]["normal"] == "1"  # a report with no positive mention still has its row
    assert by["r3"]["Cardiomegaly"] == "1" and by["r3"]["Pneumonia"] == "0"

    gold = [dict(r) for r in got]
    gold[2]["Pneumonia"] = "1"  # one false negative
    write_csv(tmp_path / "gold.csv", gold)
    out = tmp_path / "scores.json"
    res = runner.invoke(app(), ["findings", "eval", str(labels), str(tmp_path / "gold.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    scores = json.loads(out.read_text())
    pneu = next(s for s in scores["per_label"] if s["label"] == "Pneumonia")
    assert (pneu["tp"], pneu["fn"], pneu["recall"]) == (0, 1, 0.0)
    assert scores["micro"]["fn"] == 1 and scores["micro"]["fp"] == 0


def test_extract_reports_missing_columns(tmp_path: Path) -> None:
    write_csv(tmp_path / "r.csv", REPORTS)
    res = CliRunner().invoke(app(), ["findings", "extract", str(tmp_path / "r.csv"), "--id-col", "nope",
                                     "--out", str(tmp_path / "F.parquet")])
    assert res.exit_code == 2 and "nope" in res.output
