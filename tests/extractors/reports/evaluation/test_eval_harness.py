"""The development harness: splits, NegEx scoring, agreement, and the CMC path through the label export.

Figures on the project-written stand-ins are wiring checks (unit tests), not accuracy.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from extractors.reports.evaluation import harness as h
from extractors.reports.evaluation.cmc import parse_cmc, read_icd9_table
from extractors.reports.evaluation.dev import as_json, render, run_dev
from extractors.reports.evaluation.negex_kit import parse_negex
from extractors.reports.extractor import ReportFindingExtractor
from pipelines.cli.findings import register
from schemas.ontology import load_ontology
from tests.doubles.openai_server import OpenAIServerDouble, phrase_responder
from tests.extractors.reports.evaluation.conftest import CMC_XML, NEGEX_TSV


def test_split_by_id_parity() -> None:
    assert [h.split_of(x) for x in ("10", "11", "97636670", "3")] == ["held-out", "dev", "held-out", "dev"]
    assert h.split_of("abc") in h.SPLITS


def test_agreement_kappa() -> None:
    a = {"r1": {"A": 1, "B": 0}, "r2": {"A": 0, "B": 0}}
    assert h.agreement(a, a, ["r1", "r2"], ["A", "B"]).kappa == 1.0
    b = {"r1": {"A": 0, "B": 0}, "r2": {"A": 1, "B": 0}}
    ag = h.agreement(a, b, ["r1", "r2"], ["A", "B"])
    assert (ag.pairs, ag.agree) == (4, 2) and ag.kappa == pytest.approx(-1 / 3)


def test_negex_scope_and_extract(extractor: ReportFindingExtractor) -> None:
    items = parse_negex(NEGEX_TSV)
    scope = h.negex_scope(items, extractor)
    both = [scope[s] for s in h.SPLITS]
    assert sum(c.items for c in both) == 6 and sum(c.scored for c in both) == 5  # one concept is not located
    assert scope["dev"].scored == 2 and scope["held-out"].scored == 3  # report 5 (odd) is the unlocated one
    assert scope["held-out"].tp == 2  # "no evidence of PNEUMONIA", "Denies CHEST PAIN"
    rows, _ = h.rules_engine(extractor)(h.negex_ids(items), [it.sentence for it in items])
    ext = h.negex_extract(items, rows)
    # the ontology knows pneumonia, pleural effusion and pneumothorax, not fever or chest pain
    assert ext["held-out"].scored == 1 and ext["dev"].scored == 2
    assert ext["held-out"].correct == 1 and ext["dev"].tp == 1  # "no ..., or PNEUMOTHORAX" is negated


def test_evaluate_cmc_scores_the_export(extractor: ReportFindingExtractor) -> None:
    onto = extractor.onto
    reports = parse_cmc(CMC_XML)
    ids, texts = h.cmc_inputs(reports)
    assert texts[1].startswith("CLINICAL HISTORY: Cough") and "\n\nIMPRESSION: No pneumonia" in texts[1]
    rows, _ = h.rules_engine(extractor)(ids, texts)
    res = h.evaluate_cmc(reports, rows, onto, "chestxray14", read_icd9_table(onto=onto))
    assert res.export.values["11"]["Pneumonia"] == 0  # history "rule out pneumonia" never labels
    dev, held = res.scores["dev"], res.scores["held-out"]
    assert dev.n_reports == 3 and held.n_reports == 3
    pneu_held = next(s for s in held.per_label if s.label == "Pneumonia")
    assert (pneu_held.tp, pneu_held.fp, pneu_held.fn) == (1, 0, 0)  # report 10
    pneu_dev = next(s for s in dev.per_label if s.label == "Pneumonia")
    assert (pneu_dev.tp, pneu_dev.fp, pneu_dev.fn) == (1, 0, 1)  # 15 found; 13 ("Normal chest") is the coders' word
    assert [s.label for s in res.by_code["dev"]] == ["486", "511.9"]


def test_harness_labels_equal_the_cli_export(tmp_path: Path, extractor: ReportFindingExtractor) -> None:
    """The harness's labels are what `findings extract` + `findings labels` write for the same reports."""
    reports = parse_cmc(CMC_XML)
    with (tmp_path / "r.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", *h.CMC_TEXT_COLS])
        w.writeheader()
        w.writerows({"id": r.rid, **r.columns()} for r in reports)
    app = typer.Typer()
    register(app)
    run = CliRunner().invoke
    res = run(app, ["findings", "extract", str(tmp_path / "r.csv"), "--text-cols", ",".join(h.CMC_TEXT_COLS),
                    "--out", str(tmp_path / "F.parquet")])
    assert res.exit_code == 0, res.output
    res = run(app, ["findings", "labels", str(tmp_path / "F.parquet"), "--uncertain", "negative",
                    "--out", str(tmp_path / "L.csv")])
    assert res.exit_code == 0, res.output
    with (tmp_path / "L.csv").open() as fh:
        cli = {r["id"]: {k: int(v) for k, v in r.items() if k != "id"} for r in csv.DictReader(fh)}
    ids, texts = h.cmc_inputs(reports)
    rows, _ = h.rules_engine(extractor)(ids, texts)
    res_h = h.evaluate_cmc(reports, rows, extractor.onto, "chestxray14", read_icd9_table(onto=extractor.onto))
    assert cli == res_h.export.values
    assert len(pq.read_table(tmp_path / "F.parquet")) == len(rows)


def test_run_dev_llm_double(tiny_dev: Path) -> None:
    """TEST DOUBLE endpoint: checks the LLM wiring (rows → export → scores, failures, agreement); its scores
    mean nothing."""
    responder = phrase_responder({"pneumonia": {"code": "pneumonia"}, "atelectasis": {"code": "atelectasis"},
                                  "pneumothorax": {"code": "pneumothorax", "certainty": "absent"}})
    with OpenAIServerDouble(responder, plan={"Normal chest": ["invalid_json"]}) as srv:
        rep = run_dev(tiny_dev, load_ontology(), engine="llm", endpoint=srv.base_url, model="double")
    assert rep.cmc.failed == {"13"}
    assert all(v == 0 for k, v in rep.cmc.export.values["13"].items() if k != "normal")
    # the double answers the first "pneumonia" of the text, in the history: history never labels
    assert rep.cmc.export.values["11"]["Pneumonia"] == 0
    assert rep.cmc.export.values["10"]["Pneumonia"] == 1 and rep.cmc.export.values["12"]["Atelectasis"] == 1
    assert rep.agreement is not None and rep.rules_cmc is not None
    assert rep.agreement["dev"].pairs == 3 * 14
    assert rep.negex_scope is None and rep.negex_extract["dev"].tp == 1
    text = "\n".join(render(rep))
    assert "engine: LLM" in text and "1 report(s) got no LLM answer" in text and "kappa" in text
    doc = as_json(rep)
    assert doc["llm_failed"] == ["13"] and "agreement" in doc["cmc"]["dev"]
    assert set(doc["dev_f1_by_policy"]) == {"positive", "negative", "probable"}
    assert "errors" not in doc["cmc"]["held-out"]


def test_run_dev_real(reports_dev: Path) -> None:
    rep = run_dev(reports_dev, load_ontology())
    dev, held = rep.cmc.scores["dev"], rep.cmc.scores["held-out"]
    assert dev.n_reports + held.n_reports == 978
    assert dev.micro.support + held.micro.support == 70 + 16 + 1  # 486, 518.0, 511.9 reports
    for counts in (rep.negex_scope, rep.negex_extract):
        assert counts is not None and sum(c.items for c in counts.values()) == 2376
    assert rep.negex_scope["dev"].scored > 1500
    assert not math.isnan(held.micro.f1) and rep.rules_cpu_s > 0
    assert rep.policy_dev_f1["negative"][0] == pytest.approx(dev.micro.f1)  # the run's own policy, same figure
    doc = as_json(rep)
    errors = doc["cmc"]["dev"]["errors"]
    assert len(errors) == dev.micro.fp + dev.micro.fn and all(int(e["rid"]) % 2 == 1 for e in errors)
    assert len(doc["negex"]["scope"]["dev"]["errors"]) == rep.negex_scope["dev"].scored - rep.negex_scope["dev"].correct
