"""`findings.rules`: REPORT rows in a SAMPLE → FINDING rows with spans into the report text."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from pydantic import ValidationError

from pipelines.registry import get_stage
from pipelines.stage import RunContext
from pipelines.stages.findings_rules import FindingsRulesStage
from schemas.tables import FINDING_SCHEMA, IMAGE_SCHEMA, REPORT_SCHEMA, SAMPLE_SCHEMA, empty_row

TEXT = "INDICATION: cough.\nFINDINGS: Small left pleural effusion. No pneumothorax.\nIMPRESSION: Effusion."


def sample(key: str, text: str | None = TEXT) -> dict[str, Any]:
    row = empty_row(SAMPLE_SCHEMA)
    image = empty_row(IMAGE_SCHEMA)
    image.update(image_id=f"img-{key}", source="sources.iu_xray", source_key=key, study_id="st1")
    report = empty_row(REPORT_SCHEMA)
    report.update(report_id=f"rep-{key}", study_id="st1", source="sources.iu_xray", text=text, sections=[])
    row.update(sample_key=key, shard="train-000000", status="ok", image=image,
               item=json.dumps({"source": "sources.iu_xray", "key": key}),
               reports=[report] if text is not None else [], findings=[])
    return row


def run(rows: list[dict[str, Any]], **params: Any) -> list[dict[str, Any]]:
    stage = FindingsRulesStage(FindingsRulesStage.Params(**params), RunContext(salt="t", debug=True))
    return stage.process_batch(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)).to_pylist()


def test_registered_and_contract() -> None:
    assert get_stage("findings.rules") is FindingsRulesStage
    assert FindingsRulesStage.stateful and FindingsRulesStage.produces == ("findings",)
    assert set(FindingsRulesStage.consumes) == {"reports", "image"}


def test_one_finding_row_per_mention_with_exact_spans() -> None:
    (out,) = run([sample("a")])
    found = out["findings"]
    assert [f["code"] for f in found] == ["pleural_effusion", "pneumothorax", "pleural_effusion"]
    for f in found:
        assert TEXT[f["span_start"] : f["span_end"]] == f["phrase"]
        assert f["extractor"] == "rules" and f["report_id"] == "rep-a" and f["image_id"] == "img-a"
        assert f["code_path"][-1] == f["code"]
        assert set(f) == set(FINDING_SCHEMA.names)
    first, neg, _ = found
    assert (first["certainty"], first["laterality"], first["severity"]) == ("present", "left", "small")
    assert neg["certainty"] == "absent" and neg["section"] == "findings"
    assert len({f["finding_id"] for f in found}) == 3


def test_deterministic_and_no_report_is_fine() -> None:
    assert run([sample("a")]) == run([sample("a")])
    (out,) = run([sample("b", text=None)])
    assert out["status"] == "ok" and out["findings"] == []


def test_label_sections_param_flags_mentions_from_other_sections() -> None:
    assert FindingsRulesStage.Params().label_sections == ("findings", "impression", "unsectioned")
    (out,) = run([sample("a")])
    assert all("outside_label_sections" not in f["flags"] for f in out["findings"])
    (out,) = run([sample("a")], label_sections=["impression"])
    flagged = [(f["section"], "outside_label_sections" in f["flags"]) for f in out["findings"]]
    assert flagged == [("findings", True), ("findings", True), ("impression", False)]
    text = "COMPARISON: Prior pneumothorax.\nFINDINGS: Clear."
    (out,) = run([sample("c", text)])
    assert [(f["code"], f["section"], f["flags"]) for f in out["findings"]] == [
        ("pneumothorax", "comparison", ["outside_label_sections"])]


def test_label_sections_must_be_known_sections() -> None:
    with pytest.raises(ValidationError, match="label_sections"):
        FindingsRulesStage.Params(label_sections=["findngs"])
    with pytest.raises(ValidationError):
        FindingsRulesStage.Params(label_sections=[])
    assert FindingsRulesStage.Params(label_sections=["impression", "findings"]).label_sections == (
        "findings", "impression")


@pytest.mark.ray
def test_runs_as_a_ray_actor_pool(ray_session: None) -> None:
    import ray.data

    from pipelines.chain import ChainActor, Step

    table = pa.Table.from_pylist([sample("a"), sample("b")], schema=SAMPLE_SCHEMA)
    step = Step(FindingsRulesStage, FindingsRulesStage.Params(), FindingsRulesStage.name)
    ds = ray.data.from_arrow(table).map_batches(  # the pipeline's actor pool host (pipelines/chain.py)
        ChainActor, fn_constructor_kwargs={"steps": [step], "ctx": RunContext(salt="t"), "chunk": 8},
        concurrency=1, num_cpus=0.5, batch_format="pyarrow", batch_size=8,
    )
    rows = sorted(ds.take_all(), key=lambda r: r["sample_key"])
    assert [len(r["findings"]) for r in rows] == [3, 3]
