"""`describe.regions`: one description GROUNDING row per labelled region (template, or LLM double)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from pipelines.registry import get_stage
from pipelines.stage import RunContext
from pipelines.stages.describe_regions import DescribeRegionsParams, DescribeRegionsStage
from schemas.tables import IMAGE_SCHEMA, REGION_SCHEMA, SAMPLE_SCHEMA, empty_row
from tests.doubles.openai_server import OpenAIServerDouble


def sample() -> dict[str, Any]:
    row = empty_row(SAMPLE_SCHEMA)
    image = empty_row(IMAGE_SCHEMA)
    image.update(image_id="i1", source="sources.nih_cxr14", source_key="k", modality="DX", view="PA",
                 height=100, width=100)
    regions = []
    for rid, code in (("r1", "nodule"), ("r2", None)):
        reg = empty_row(REGION_SCHEMA)
        reg.update(region_id=rid, image_id="i1", source="sources.nih_cxr14", code=code, origin="dataset_gt",
                   box_x=70, box_y=20, box_w=10, box_h=8, area=80)
        regions.append(reg)
    row.update(sample_key="k", shard="train-000000", status="ok", image=image, regions=regions, groundings=[],
               item=json.dumps({"source": "sources.nih_cxr14", "key": "k"}))
    return row


def run(params: DescribeRegionsParams, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stage = DescribeRegionsStage(params, RunContext(salt="t", debug=True))
    return stage.process_batch(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)).to_pylist()


def test_template_descriptions_idempotent() -> None:
    assert get_stage("describe.regions") is DescribeRegionsStage
    (out,) = run(DescribeRegionsParams(), [sample()])
    (g,) = out["groundings"]
    assert (g["region_id"], g["method"], g["code"], g["flags"]) == ("r1", "template", "nodule", ["region_description"])
    assert g["phrase"].startswith("Nodule on the patient's left") and "X-ray" in g["phrase"]
    (again,) = run(DescribeRegionsParams(), [out])
    assert again["groundings"] == out["groundings"]


def test_llm_descriptions_with_fallback() -> None:
    with OpenAIServerDouble(lambda body: {"description": "A nodule in the left upper chest."},
                            default=["ok", "500"]) as srv:
        llm = {"base_url": srv.base_url, "model": "double-llm", "max_retries": 0, "timeout_s": 2}
        (first,) = run(DescribeRegionsParams(llm=llm), [sample()])
        (second,) = run(DescribeRegionsParams(llm=llm), [sample()])
        assert srv.requests == 2
    assert [(g["method"], g["phrase"]) for g in first["groundings"]] == [("llm", "A nodule in the left upper chest.")]
    (fell,) = second["groundings"]
    assert fell["method"] == "template" and {"llm_fallback", "llm_error:http_5xx"} <= set(fell["flags"])
