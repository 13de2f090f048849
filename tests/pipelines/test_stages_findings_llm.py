"""`findings.llm` against the OpenAI server double: rows, cache hits on re-run, fallback, quarantine, agreement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pydantic import ValidationError

from extractors.llm.agreement import agreement_tables
from pipelines.registry import get_stage
from pipelines.stage import RunContext
from pipelines.stages.findings_llm import FindingsLlmParams, FindingsLlmStage, build_vllm_processor_config
from pipelines.stages.findings_rules import FindingsRulesStage
from schemas.errors import ConfigError
from schemas.ontology import load_ontology
from schemas.tables import FINDING_SCHEMA, IMAGE_SCHEMA, REPORT_SCHEMA, SAMPLE_SCHEMA, empty_row
from tests.doubles.openai_server import OpenAIServerDouble, phrase_responder

TEXT = "FINDINGS: Small left pleural effusion. No pneumothorax."
AGREEING = {"left pleural effusion": {"code": "pleural_effusion", "laterality": "left", "severity": "small"},
            "pneumothorax": {"code": "pneumothorax", "certainty": "absent"}}


OTHER = "NO ACUTE disease. Stable cardiomegaly."


def sample(key: str, text: str = TEXT) -> dict[str, Any]:
    row = empty_row(SAMPLE_SCHEMA)
    image = empty_row(IMAGE_SCHEMA)
    image.update(image_id=f"img-{key}", source="sources.iu_xray", source_key=key, study_id="st1")
    report = empty_row(REPORT_SCHEMA)
    report.update(report_id=f"rep-{key}", study_id="st1", source="sources.iu_xray", text=text, sections=[])
    row.update(sample_key=key, shard="train-000000", status="ok", image=image, reports=[report], findings=[],
               item=json.dumps({"source": "sources.iu_xray", "key": key}))
    return row


def params(url: str, cache: Path | None, **kw: Any) -> FindingsLlmParams:
    endpoint = {"base_url": url, "model": "double-llm", "timeout_s": 2, "max_retries": 1, "backoff_s": 0.01}
    return FindingsLlmParams(endpoint={**endpoint, **kw.pop("endpoint", {})},
                             cache_dir=str(cache) if cache else None, **kw)


def run(p: FindingsLlmParams, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stage = FindingsLlmStage(p, RunContext(salt="t", debug=True))
    return stage.process_batch(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)).to_pylist()


def by_extractor(out: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [f for f in out["findings"] if f["extractor"] == name]


def test_registered_and_params_validated() -> None:
    assert get_stage("findings.llm") is FindingsLlmStage and FindingsLlmStage.stateful
    with pytest.raises(ValidationError, match="base_url"):
        FindingsLlmParams(endpoint={"model": "m"})
    with pytest.raises(ValidationError, match="base_url"):
        FindingsLlmParams(endpoint={"kind": "vllm_engine", "model": "m", "base_url": "http://x"})
    with pytest.raises(ValidationError):
        FindingsLlmParams(endpoint={"base_url": "http://x/v1", "model": "m", "max_concurrency": 0})
    with pytest.raises(ValidationError):
        FindingsLlmParams(endpoint={"base_url": "http://x/v1", "model": "m"}, colour="blue")


def test_rows_agreement_and_cache_hits_on_rerun(tmp_path: Path) -> None:
    with OpenAIServerDouble(phrase_responder(AGREEING), plan={"NO ACUTE": ["ok"]}) as srv:
        rows = [sample("a"), sample("b", OTHER)]
        first = run(params(srv.base_url, tmp_path, endpoint={"max_concurrency": 2}), rows)
        assert srv.requests == 2
        second = run(params(srv.base_url, tmp_path), [sample("a"), sample("b", OTHER)])
        assert srv.requests == 2  # every answer came from the cache
    assert second == first
    a, b = first
    llm, rules = by_extractor(a, "llm"), by_extractor(a, "rules")
    assert [(f["code"], f["certainty"]) for f in llm] == [("pleural_effusion", "present"), ("pneumothorax", "absent")]
    assert all(TEXT[f["span_start"] : f["span_end"]] == f["phrase"] for f in llm)
    assert all(f["model"] == "double-llm" and f["prompt_version"] == "findings-v1" and f["input_hash"] for f in llm)
    assert all("agreement:match" in f["flags"] for f in llm) and rules
    assert {f["flags"][-1] for f in by_extractor(b, "rules")} == {"agreement:rules_only"}  # llm found nothing
    assert all(set(f) == set(FINDING_SCHEMA.names) for f in a["findings"])


def test_failures_fall_back_to_rules_flagged(tmp_path: Path) -> None:
    with OpenAIServerDouble(phrase_responder(AGREEING), default=["500"]) as srv:
        (out,) = run(params(srv.base_url, tmp_path), [sample("a")])
        assert srv.requests == 2  # one retry
    assert out["status"] == "ok" and by_extractor(out, "llm") == []
    rules = by_extractor(out, "rules")
    assert [f["code"] for f in rules] == ["pleural_effusion", "pneumothorax"]
    assert all({"llm_fallback", "llm_error:http_5xx"} <= set(f["flags"]) for f in rules)


def test_existing_rule_rows_are_reused_not_duplicated() -> None:
    rows = FindingsRulesStage(FindingsRulesStage.Params(), RunContext(salt="t", debug=True)).process_batch(
        pa.Table.from_pylist([sample("a")], schema=SAMPLE_SCHEMA)).to_pylist()
    with OpenAIServerDouble(phrase_responder(AGREEING), default=["429"]) as srv:
        (out,) = run(params(srv.base_url, None), rows)
    rules = by_extractor(out, "rules")
    assert len(rules) == 2 and len(out["findings"]) == 2
    assert all("llm_error:http_429" in f["flags"] for f in rules)


def test_rejects_are_quarantined_and_no_fallback_quarantines_the_report() -> None:
    table = {"FINDINGS": {"code": "zz_nothing"}, "Small": {"code": "pleural_effusion"}}
    with OpenAIServerDouble(phrase_responder(table), plan={"other": ["500"]}) as srv:
        out = run(params(srv.base_url, None, fallback="none", keep_rules=False),
                  [sample("a"), sample("b", "other text")])
    kinds = sorted((q["unit"], q["error_kind"], q["input_ref"]) for o in out for q in o["quarantine"])
    assert kinds == [("finding", "unknown_label", "rep-a:zz_nothing"), ("report", "stage_error", "rep-b")]
    assert [(f["code"], f["phrase"]) for f in out[0]["findings"]] == [("pleural_effusion", "Small")]
    assert all(o["status"] == "ok" for o in out)


def test_disagreement_table_from_the_findings() -> None:
    disagreeing = {"pleural effusion": {"code": "pleural_effusion", "laterality": "right"},
                   "pneumothorax": {"code": "pneumothorax", "certainty": "present"},
                   "FINDINGS": {"code": "consolidation"}}
    with OpenAIServerDouble(phrase_responder(disagreeing)) as srv:
        (out,) = run(params(srv.base_url, None), [sample("a")])
    kinds = {f["code"]: f["flags"][-1] for f in by_extractor(out, "llm")}
    assert kinds == {"pleural_effusion": "agreement:laterality", "pneumothorax": "agreement:certainty",
                     "consolidation": "agreement:llm_only"}
    dis, per_report = agreement_tables(pa.Table.from_pylist(out["findings"], schema=FINDING_SCHEMA), load_ontology())
    got = sorted((r["kind"], r["code"], r["rules_certainty"], r["llm_certainty"], r["rules_laterality"],
                  r["llm_laterality"]) for r in dis.to_pylist())
    assert got == [("certainty", "pneumothorax", "absent", "present", "none", "none"),
                   ("laterality", "pleural_effusion", "present", "present", "left", "right"),
                   ("llm_only", "consolidation", None, "present", None, "none")]
    (rep,) = per_report.to_pylist()
    assert (rep["n_rules"], rep["n_llm"], rep["n_pairs"], rep["n_agree"], rep["agreement"]) == (2, 3, 2, 0, 0.0)


def test_vllm_engine_is_config_only() -> None:
    engine = {"kind": "vllm_engine", "model": "org/model", "engine_kwargs": {"max_model_len": 4096}}
    p = FindingsLlmParams(endpoint=engine)
    with pytest.raises(ConfigError, match="vllm_engine"):
        FindingsLlmStage(p, RunContext(salt="t")).setup()
    try:
        config = build_vllm_processor_config(p.endpoint)
    except ConfigError as err:  # ray[llm] (aiohttp, vllm) not installed here
        assert "ray[llm]" in str(err)
    else:
        assert config.model_source == "org/model"
    with pytest.raises(ConfigError):
        build_vllm_processor_config(params("http://127.0.0.1:9/v1", None).endpoint)


def test_a_reports_findings_do_not_depend_on_its_batch() -> None:
    """Issue 14: one request per report, so a report's rows are the same alone or among others (no cache)."""
    with OpenAIServerDouble(phrase_responder(AGREEING)) as srv:
        p = params(srv.base_url, None, endpoint={"max_concurrency": 3})
        (alone,) = run(p, [sample("a")])
        crowd = run(p, [sample("x", OTHER), sample("y", OTHER), sample("a"), sample("z", OTHER)])
    (among,) = [r for r in crowd if r["sample_key"] == "a"]
    assert by_extractor(alone, "llm") and among["findings"] == alone["findings"]
