from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from qc.accounting import account, format_accounting, quarantine_breakdown


def test_balanced_corpus_accounts_every_input(corpus: Path) -> None:
    rows = {(r["source"], r["unit"]): r for r in account(corpus).to_pylist()}
    nih_images = rows[("sources.nih_cxr14", "image")]
    assert (nih_images["inputs"], nih_images["written"], nih_images["quarantined"]) == (5, 4, 1)
    assert rows[("sources.rsna_pneumonia", "annotation")]["quarantined"] == 1
    assert all(r["balanced"] for r in rows.values())
    assert ("sources.nih_cxr14", "region") not in rows  # derived units are not inputs


def test_written_counts_come_from_the_tables(corpus: Path) -> None:
    images = pq.read_table(corpus / "tables/images").to_pylist()
    rows = {(r["source"], r["unit"]): r for r in account(corpus).to_pylist()}
    assert sum(r["written"] for (_, unit), r in rows.items() if unit == "image") == len(images)


def test_missing_rows_unbalance_the_books(make_corpus: Callable[..., Path]) -> None:
    corpus = make_corpus(extra_inputs=2)
    rows = {(r["source"], r["unit"]): r for r in account(corpus).to_pylist()}
    assert rows[("sources.nih_cxr14", "image")]["balanced"] is False
    text = format_accounting(account(corpus))
    assert "UNBALANCED" in text and "7 =       4 +           1" in text


def test_corpus_without_manifest_inputs_counts_written_as_unbalanced(corpus: Path) -> None:
    manifest = json.loads((corpus / "manifest.json").read_text())
    manifest["inputs"] = {}
    (corpus / "manifest.json").write_text(json.dumps(manifest))
    assert not any(account(corpus).column("balanced").to_pylist())


def test_format_prints_the_equation(corpus: Path) -> None:
    text = format_accounting(account(corpus))
    assert "inputs =" in text and "written +" in text and "quarantined" in text
    assert "UNBALANCED" not in text
    assert "sources.rsna_pneumonia" in text


def test_quarantine_breakdown_by_stage(corpus: Path) -> None:
    rows = quarantine_breakdown(corpus).to_pylist()
    stages = {(r["source"], r["unit"], r["stage"], r["error_kind"]) for r in rows}
    assert ("sources.nih_cxr14", "image", "ingest.decode", "missing_file") in stages
    assert ("sources.nih_cxr14", "region", "masks.classical", "stage_error") in stages
    assert sum(r["n"] for r in rows) == pq.read_table(corpus / "tables/quarantine").num_rows


def test_empty_tables_are_empty_views(corpus: Path) -> None:
    for part in (corpus / "tables/reports").glob("*.parquet"):
        part.unlink()
    rows = {(r["source"], r["unit"]): r for r in account(corpus).to_pylist()}
    assert rows[("sources.nih_cxr14", "report")]["written"] == 0
    assert rows[("sources.nih_cxr14", "report")]["balanced"] is False
