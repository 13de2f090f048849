"""The LLM findings extractor end to end against the server double: rows, cache, faults, fallback."""

from __future__ import annotations

from pathlib import Path

from extractors.llm.cache import LlmResponseCache
from extractors.llm.findings import LlmFindingExtractor
from extractors.llm.prompts import load_prompt
from schemas.ontology import Ontology
from tests.doubles.openai_server import OpenAIServerDouble, phrase_responder
from tests.extractors.llm.conftest import TABLE, TEXT, fast_client, report

REPORTS = [report("r1"), report("r2", "No pneumothorax. Heart size normal."), report("r3", "NOTHING here.")]


def extractor(url: str, onto: Ontology, cache_dir: Path | None, fallback=None, **kw) -> LlmFindingExtractor:
    cache = LlmResponseCache(cache_dir) if cache_dir is not None else None
    return LlmFindingExtractor(fast_client(url, **kw), onto, load_prompt("findings", "1"), cache, fallback)


def test_rows_then_cache_hits_on_rerun(onto: Ontology, tmp_path: Path) -> None:
    with OpenAIServerDouble(phrase_responder(TABLE, start_shift=3)) as srv:
        first = extractor(srv.base_url, onto, tmp_path).extract_many(REPORTS, ["i1", "i2", "i3"])
        assert srv.requests == 3 and [o.status for o in first] == ["llm", "llm", "llm"]
        again = extractor(srv.base_url, onto, tmp_path).extract_many(REPORTS, ["i1", "i2", "i3"])
        assert srv.requests == 3  # nothing asked again
        assert [o.status for o in again] == ["cache", "cache", "cache"]
        assert [o.rows for o in again] == [o.rows for o in first]  # same bytes from the cache
    rows = first[0].rows
    assert [(r["code"], r["certainty"], r["laterality"]) for r in rows] == [
        ("pleural_effusion", "present", "left"), ("pneumothorax", "absent", "none")]
    assert all(TEXT[r["span_start"] : r["span_end"]] == r["phrase"] for r in rows)
    assert all("llm_span_relocated" in r["flags"] for r in rows)  # the double mis-stated every offset
    assert first[2].rows == [] and first[2].rejects == []
    body = srv.bodies[0]
    assert body["response_format"]["type"] == "json_schema" and body["temperature"] == 0.0
    assert "pleural_effusion" in body["messages"][1]["content"]  # the allowed codes are listed


def test_other_model_or_prompt_misses_the_cache(onto: Ontology, tmp_path: Path) -> None:
    with OpenAIServerDouble(phrase_responder(TABLE)) as srv:
        extractor(srv.base_url, onto, tmp_path).extract_many(REPORTS[:1], [None])
        extractor(srv.base_url, onto, tmp_path, model="other-llm").extract_many(REPORTS[:1], [None])
        assert srv.requests == 2


def test_transient_errors_retried_then_answered(onto: Ontology, tmp_path: Path) -> None:
    with OpenAIServerDouble(phrase_responder(TABLE), default=["429", "500", "ok"]) as srv:
        (out,) = extractor(srv.base_url, onto, tmp_path, max_retries=2).extract_many(REPORTS[:1], ["i1"])
        assert srv.requests == 3 and out.status == "llm" and len(out.rows) == 2


def test_exhausted_retries_fall_back_to_rules_flagged(onto: Ontology, tmp_path: Path, rules) -> None:
    with OpenAIServerDouble(phrase_responder(TABLE), plan={"Heart size": ["503"]}) as srv:
        outs = extractor(srv.base_url, onto, tmp_path, rules, max_retries=1).extract_many(REPORTS[:2], ["i1", "i2"])
        assert srv.requests == 1 + 2  # r1 once, r2 twice (1 retry)
    ok, fell = outs
    assert ok.status == "llm" and fell.status == "fallback" and fell.error == "http_5xx"
    assert [r["code"] for r in fell.rows] == ["pneumothorax"]
    assert all(r["extractor"] == "rules" for r in fell.rows)
    assert all({"llm_fallback", "llm_error:http_5xx"} <= set(r["flags"]) for r in fell.rows)
    assert len(LlmResponseCache(tmp_path)) == 1  # failures are never cached


def test_slow_answers_time_out_and_fall_back(onto: Ontology, rules) -> None:
    with OpenAIServerDouble(phrase_responder(TABLE), default=["slow"], slow_s=1.0) as srv:
        (out,) = extractor(srv.base_url, onto, None, rules, timeout_s=0.2, max_retries=1).extract_many(
            REPORTS[:1], ["i1"])
        assert srv.requests == 2
    assert out.status == "fallback" and out.error == "timeout"
    assert [r["code"] for r in out.rows] == ["pleural_effusion", "pneumothorax", "pleural_effusion"]


def test_invalid_answers_fall_back_and_are_asked_again_next_run(onto: Ontology, tmp_path: Path, rules) -> None:
    with OpenAIServerDouble(phrase_responder(TABLE), default=["invalid_json", "bad_schema", "fenced"]) as srv:
        ext = extractor(srv.base_url, onto, tmp_path, rules)
        (a,) = ext.extract_many(REPORTS[:1], [None])
        (b,) = ext.extract_many(REPORTS[:1], [None])
        (c,) = ext.extract_many(REPORTS[:1], [None])
        (d,) = ext.extract_many(REPORTS[:1], [None])
        assert srv.requests == 3  # the valid (fenced) answer was cached; d is a hit
    assert (a.status, a.error, b.status, b.error) == ("fallback", "invalid_json", "fallback", "schema")
    assert all("llm_error:invalid_json" in r["flags"] for r in a.rows)
    assert (c.status, d.status) == ("llm", "cache") and c.rows == d.rows and len(c.rows) == 2


def test_unknown_codes_are_rejected_not_kept(onto: Ontology) -> None:
    with OpenAIServerDouble(phrase_responder(TABLE), default=["unknown_codes"]) as srv:
        (out,) = extractor(srv.base_url, onto, None).extract_many(REPORTS[:1], [None])
    # "left pleural effusion" still maps through its phrase; "pneumothorax" maps by its phrase too
    assert sorted(r["code"] for r in out.rows) == ["pleural_effusion", "pneumothorax"]
    assert all("llm_code_mapped" in r["flags"] for r in out.rows)
    unknown = {"NOTHING here.": {"code": "zz"}, "nothing": {"code": "zz_made_up"}}
    with OpenAIServerDouble(phrase_responder(unknown)) as srv:
        (none,) = extractor(srv.base_url, onto, None).extract_many([report("r3", "NOTHING here.")], [None])
    assert none.rows == [] and {r.reason for r in none.rejects} == {"unknown_code"} and len(none.rejects) == 2


def test_no_fallback_means_failed_outcome(onto: Ontology) -> None:
    with OpenAIServerDouble(phrase_responder(TABLE), default=["500"]) as srv:
        (out,) = extractor(srv.base_url, onto, None, max_retries=0).extract_many(REPORTS[:1], [None])
    assert out.status == "failed" and out.rows == [] and out.error == "http_5xx"
