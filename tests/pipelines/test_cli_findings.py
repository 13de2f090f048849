"""`medground findings extract | labels | eval`: the CSV → Parquet → CSV round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
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


LAT_REPORTS = [
    {"uid": "a", "findings": "Small left pleural effusion. No pneumothorax.", "impression": "Left effusion."},
    {"uid": "b", "findings": "Left pleural effusion and right pleural effusion.",
     "impression": "Right apical pneumothorax."},
    {"uid": "c", "findings": "Lungs are clear.", "impression": "No acute disease."},
    {"uid": "d", "findings": "Heart is enlarged. Possible right lower lobe pneumonia.", "impression": ""},
    {"uid": "e", "findings": "Bilateral pleural effusions. Bibasilar atelectasis.", "impression": ""},
]


def extract_and_label(tmp_path: Path, uncertain: str) -> tuple[dict[str, dict[str, str]], list[dict[str, str]]]:
    runner = CliRunner()
    write_csv(tmp_path / "reports.csv", LAT_REPORTS)
    f = tmp_path / "F.parquet"
    res = runner.invoke(app(), ["findings", "extract", str(tmp_path / "reports.csv"), "--id-col", "uid",
                                "--text-cols", "findings,impression", "--out", str(f)])
    assert res.exit_code == 0, res.output
    labels, lat = tmp_path / f"L-{uncertain}.csv", tmp_path / f"lat-{uncertain}.jsonl"
    res = runner.invoke(app(), ["findings", "labels", str(f), "--label-set", "chestxray14", "--out", str(labels),
                                "--laterality-out", str(lat), "--uncertain", uncertain])
    assert res.exit_code == 0, res.output
    with labels.open() as fh:
        csv_rows = {r["uid"]: r for r in csv.DictReader(fh)}
    return csv_rows, [json.loads(line) for line in lat.read_text().splitlines()]


@pytest.mark.parametrize("uncertain", ["positive", "negative", "probable"])
def test_laterality_jsonl_agrees_with_csv(tmp_path: Path, uncertain: str) -> None:
    csv_rows, recs = extract_and_label(tmp_path, uncertain)
    assert all(set(r) == {"uid", "finding", "laterality"} for r in recs)
    assert all(r["laterality"] in ("left", "right", "bilateral", "none") for r in recs)
    positives = {(uid, k) for uid, row in csv_rows.items() for k, v in row.items() if k != "uid" and v == "1"}
    assert {(r["uid"], r["finding"]) for r in recs} == positives  # one row per positive, no other
    assert len(recs) == len(positives)
    side = {(r["uid"], r["finding"]): r["laterality"] for r in recs}
    assert side[("a", "Effusion")] == "left"
    assert side[("b", "Effusion")] == "bilateral" and side[("b", "Pneumothorax")] == "right"
    assert side[("c", "normal")] == "none"
    assert side[("e", "Effusion")] == "bilateral"
    assert (("d", "Pneumonia") in side) == (uncertain == "positive")
    if uncertain == "positive":
        assert side[("d", "Pneumonia")] == "right"


def test_eval_dev_folder_and_llm_double(tmp_path: Path) -> None:
    """`findings eval` without files runs the development evaluation; the LLM run uses the TEST DOUBLE
    endpoint (its scores mean nothing). The gold files here are project-written stand-ins."""
    from tests.doubles.openai_server import OpenAIServerDouble, phrase_responder
    from tests.extractors.reports.evaluation.conftest import CMC_XML, NEGEX_TSV

    (tmp_path / "cmc2007_train.xml").write_text(CMC_XML)
    (tmp_path / "negex_annotations_1_120.tsv").write_text(NEGEX_TSV)
    runner = CliRunner()
    out = tmp_path / "dev.json"
    res = runner.invoke(app(), ["findings", "eval", "--dev", str(tmp_path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "held-out" in res.output and "reports/s/core" in res.output
    doc = json.loads(out.read_text())
    assert doc["engine"] == "rules" and doc["cmc"]["dev"]["n_reports"] == 3 and "scope" in doc["negex"]
    with OpenAIServerDouble(phrase_responder({"pneumonia": {"code": "pneumonia"}})) as srv:
        res = runner.invoke(app(), ["findings", "eval", "--dev", str(tmp_path), "--engine", "llm",
                                    "--endpoint", srv.base_url, "--out", str(out)])
        assert srv.requests == 6 + 6  # every CMC report and every NegEx sentence
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["cmc"]["held-out"]["agreement"]["pairs"] == 3 * 14
    res = runner.invoke(app(), ["findings", "eval", "--dev", str(tmp_path), "--engine", "llm"])
    assert res.exit_code == 2 and "--endpoint" in res.output
    res = runner.invoke(app(), ["findings", "eval", str(tmp_path / "only-one.csv")])
    assert res.exit_code == 2
    res = runner.invoke(app(), ["findings", "eval", "--dev", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "lacks" in res.output


@pytest.mark.parametrize("fallback", ["rules", "none"])
def test_extract_llm_engine_double(tmp_path: Path, fallback: str) -> None:
    """`extract --engine llm` against the TEST DOUBLE endpoint, then `labels`: the LLM rows go through the
    same export. The double answers by phrase lookup; nothing here measures a model."""
    from tests.doubles.openai_server import OpenAIServerDouble, phrase_responder

    runner = CliRunner()
    write_csv(tmp_path / "reports.csv", REPORTS)
    f = tmp_path / "F.parquet"
    responder = phrase_responder({"left effusion": {"code": "pleural_effusion", "laterality": "left"},
                                  "cardiomegaly": {"code": "cardiomegaly"}})
    with OpenAIServerDouble(responder, plan={"Lungs are clear": ["invalid_json"]}) as srv:
        res = runner.invoke(app(), ["findings", "extract", str(tmp_path / "reports.csv"), "--id-col", "uid",
                                    "--text-cols", "findings,impression", "--out", str(f), "--engine", "llm",
                                    "--endpoint", srv.base_url, "--fallback", fallback])
    assert res.exit_code == 0, res.output
    assert "1 report(s) got no LLM answer" in res.output
    rows = pq.read_table(f).to_pylist()
    llm = [r for r in rows if r["extractor"] == "llm"]
    assert {(r["report_id"], r["code"], r["section"]) for r in llm} == {
        ("r1", "pleural_effusion", "impression"), ("r3", "cardiomegaly", "impression")}
    r2 = [r for r in rows if r["report_id"] == "r2"]
    assert bool(r2) == (fallback == "rules") and all("llm_fallback" in r["flags"] for r in r2)
    labels, lat = tmp_path / "L.csv", tmp_path / "lat.jsonl"
    res = runner.invoke(app(), ["findings", "labels", str(f), "--out", str(labels), "--laterality-out", str(lat)])
    assert res.exit_code == 0, res.output
    recs = {(r["uid"], r["finding"]): r["laterality"] for r in map(json.loads, lat.read_text().splitlines())}
    assert recs[("r1", "Effusion")] == "left" and ("r3", "Cardiomegaly") in recs
    res = runner.invoke(app(), ["findings", "extract", str(tmp_path / "reports.csv"), "--id-col", "uid",
                                "--out", str(f), "--engine", "llm"])
    assert res.exit_code == 2
