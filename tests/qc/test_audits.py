from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from qc.audits import AUDIT_NAMES, run_audits
from qc.audits.integrity import checksum_audit, schema_audit
from qc.audits.leakage import leakage, leakage_dask
from qc.audits.phi import phi_scan
from qc.corpus import connect, read_table
from schemas.tables import FINDING_SCHEMA


def test_clean_corpus_passes_integrity_and_writes_parquet(corpus: Path) -> None:
    result = run_audits(corpus)
    m = result.metrics
    assert (m["schema_errors"], m["checksum_mismatches"], m["leakage"], m["phi_hits"]) == (0, 0, 0, 0)
    assert m["accounting_unbalanced"] == 0 and m["ontology_violations"] == 0
    for name in AUDIT_NAMES:
        assert pq.read_table(corpus / "qc" / f"{name}.parquet").num_rows == result.tables[name].num_rows
    assert json.loads((corpus / "qc/metrics.json").read_text())["rows_images"] == 6


def test_audits_are_deterministic(corpus: Path) -> None:
    run_audits(corpus)
    first = {p.name: p.read_bytes() for p in sorted((corpus / "qc").iterdir())}
    run_audits(corpus)
    assert first == {p.name: p.read_bytes() for p in sorted((corpus / "qc").iterdir())}


def test_tampered_shard_is_a_checksum_mismatch(make_corpus: Callable[..., Path]) -> None:
    corpus = make_corpus(tamper=True)
    status = {r["file"]: r["status"] for r in checksum_audit(corpus).to_pylist()}
    assert status["shards/val-000000.tar"] == "mismatch"
    (corpus / "shards/test-000000.tar").unlink()
    (corpus / "shards/extra.tar").write_bytes(b"x")
    status = {r["file"]: r["status"] for r in checksum_audit(corpus).to_pylist()}
    assert status["shards/test-000000.tar"] == "missing" and status["shards/extra.tar"] == "unlisted"


def test_schema_audit_flags_a_wrong_type(corpus: Path) -> None:
    bad = pa.table({"image_id": ["x"], "source": ["s"], "height": ["64"]})
    pq.write_table(bad, corpus / "tables/images/part-bad.parquet")
    rows = {r["file"]: r for r in schema_audit(corpus).to_pylist()}
    problem = rows["tables/images/part-bad.parquet"]["problem"]
    assert "missing column source_key" in problem and "height is string" in problem
    assert rows["tables/images/part-train-000000.parquet"]["ok"]


def test_label_distribution_counts_every_hierarchy_level(corpus: Path) -> None:
    dist = run_audits(corpus, write=False).tables["label_distribution"].to_pylist()
    nih_train = [r for r in dist if r["source"] == "sources.nih_cxr14" and r["split"] == "train"
                 and r["kind"] == "region" and r["origin"] == "dataset_gt"]
    assert {(r["level"], r["code"], r["n"]) for r in nih_train} == {
        (0, "pleural_abnormality", 2), (1, "pleural_effusion", 2)}


def test_box_mask_inconsistency_is_measured(make_corpus: Callable[..., Path]) -> None:
    result = run_audits(make_corpus(bad_box=True), write=False)
    stats = {r["region_id"]: r for r in result.tables["mask_stats"].to_pylist()}
    assert stats["r00cl"]["box_consistent"] is False and stats["r01cl"]["box_consistent"] is True
    assert stats["r01cl"]["components"] == 1 and 0 < stats["r01cl"]["area_fraction"] < 0.1
    assert result.metrics["box_mask_inconsistent"] == 1


def test_ontology_violations(corpus: Path) -> None:
    assert run_audits(corpus, write=False).metrics["ontology_violations"] == 0
    row = read_table(corpus, "findings").filter(pc.equal(pc.field("finding_id"), "f00ds")).to_pylist()[0]
    bad = [dict(row, finding_id="fx1", code="no_finding", code_path=["no_finding"]),
           dict(row, finding_id="fx2", code="not_a_code"),
           dict(row, finding_id="fx3", code_path=["pleural_effusion"])]
    pq.write_table(pa.Table.from_pylist(bad, schema=FINDING_SCHEMA), corpus / "tables/findings/part-x.parquet")
    result = run_audits(corpus, write=False)
    rules = {(r["row_id"], r["rule"]) for r in result.tables["ontology_violations"].to_pylist()}
    assert rules == {("fx2", "unknown_code"), ("fx3", "code_path_mismatch"),
                     ("img00", "no_finding_with_finding")}
    assert result.metrics["violation_rate"] > 0


def test_leakage_duckdb_and_dask_agree(make_corpus: Callable[..., Path]) -> None:
    corpus = make_corpus(leak_patient=True)
    duck = leakage(connect(corpus)).to_pylist()
    assert len(duck) == 1 and duck[0]["key"] == "patient_id" and duck[0]["splits"] == ["test", "train"]
    assert leakage_dask(corpus, scheduler="synchronous").to_pylist() == duck
    assert leakage_dask(make_corpus(), scheduler="synchronous").num_rows == 0


def test_phi_scan_finds_planted_values_without_copying_them(make_corpus: Callable[..., Path]) -> None:
    corpus = make_corpus(phi_text="Dr. Phiplant")
    hits = phi_scan(corpus, forbidden=["PHIPLANT"]).to_pylist()
    where = {(h["location"], h["column"], h["pattern"]) for h in hits}
    assert ("tables/reports", "text", "forbidden_value") in where
    assert ("shards/train-000000.tar", "image.body_part", "forbidden_value") in where
    assert ("tables/reports", "text", "titled_name") in where
    assert not any("Phiplant" in str(v) for h in hits for v in h.values())


@pytest.mark.parametrize("text", ["seen 03/04/2021", "call 555-123-4567", "MRN: 12345678", "a@b.org"])
def test_phi_patterns(text: str) -> None:
    from qc.audits.phi import text_hits

    assert text_hits(text, []) != []
    assert text_hits("Small left pleural effusion, 12 mm.", []) == []


def test_extractor_agreement(corpus: Path) -> None:
    result = run_audits(corpus, write=False)
    agree = {r["report_id"]: r["agree"] for r in result.tables["agreement"].to_pylist()}
    assert agree == {"rep00": True, "rep01": False}
    assert result.metrics["extractor_agreement"] == 0.5



def test_no_agreement_without_llm_findings(make_corpus: Callable[..., Path]) -> None:
    result = run_audits(make_corpus(llm_findings=False), write=False)
    assert result.tables["agreement"].num_rows == 0 and result.metrics["extractor_agreement"] is None
