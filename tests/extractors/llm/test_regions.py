"""Region descriptions: context from the ontology/image, the template, the LLM check and fallback."""

from __future__ import annotations

import json
from typing import Any

from extractors.grounding.scene import build_scene
from extractors.llm.describe import LlmRegionDescriber
from extractors.llm.prompts import load_prompt
from extractors.llm.regions import check_description, region_context, template_description
from schemas.ontology import Ontology
from schemas.tables import IMAGE_SCHEMA, REGION_SCHEMA, empty_row
from tests.doubles.openai_server import OpenAIServerDouble
from tests.extractors.llm.conftest import fast_client


def image() -> dict[str, Any]:
    rec = empty_row(IMAGE_SCHEMA)
    rec.update(image_id="i1", source="sources.nih_cxr14", source_key="k", modality="DX", body_part="CHEST",
               view="PA", height=100, width=100, pixel_spacing_x=0.5, pixel_spacing_y=0.5)
    return rec


def region(code: str = "nodule", x: float = 70, y: float = 20) -> dict[str, Any]:
    rec = empty_row(REGION_SCHEMA)
    rec.update(region_id="r1", image_id="i1", source="sources.nih_cxr14", code=code, origin="dataset_gt",
               box_x=x, box_y=y, box_w=10, box_h=8, area=80)
    return rec


def test_context_and_template(onto: Ontology) -> None:
    img, reg = image(), region()
    ctx = region_context(onto, img, reg, build_scene(img, [reg]), {"certainty": "uncertain", "severity": "small",
                                                                   "location_codes": ["left_lung"]})
    assert (ctx["modality"], ctx["label"], ctx["kind"], ctx["anatomy"]) == ("X-ray", "nodule", "finding", ["left lung"])
    assert ctx["side"] == "left"  # PA film: the image's right half is the patient's left
    assert (ctx["size_mm"], ctx["area_mm2"], ctx["image_fraction_pct"]) == ([5.0, 4.0], 20.0, 0.8)
    text = template_description(ctx)
    assert text.startswith("Possible small nodule on the patient's left") and "chest X-ray" in text
    assert "about 5.0 x 4.0 mm, 20 mm², 0.8% of the image." in text
    assert template_description(ctx) == text  # deterministic
    bare = region_context(onto, {**img, "pixel_spacing_x": None}, region("left_lung"), None)
    assert bare["side"] is None and bare["anatomy"] == ["left lung"]
    assert "80 pixels" in template_description(bare)


def test_check_description() -> None:
    ctx = {"side": "left", "size_mm": [5.0, 4.0], "label": "nodule"}
    tpl = "Nodule on the patient's left, about 5.0 x 4.0 mm."
    assert check_description("A 5 mm nodule in the left lung.", ctx, tpl) is None
    assert check_description("A nodule in the right lung.", ctx, tpl) == "unsupported_side"
    assert check_description("A 12 mm nodule on the left.", ctx, tpl) == "unsupported_number"
    assert check_description("word " * 61, ctx, tpl) == "length"


def test_llm_descriptions_checked_cached_and_falling_back(onto: Ontology, tmp_path) -> None:
    from extractors.llm.cache import LlmResponseCache

    def respond(body: dict[str, Any]) -> dict[str, Any]:
        ctx = json.loads(body["messages"][1]["content"].split("Context (JSON):\n", 1)[1].split("\n\n", 1)[0])
        side = "right" if ctx.get("label") == "mass" else ctx.get("side", "")  # a made-up side for masses
        return {"description": f"A {ctx['label']} seen on the {side} side of the chest.".replace("  ", " ")}

    img = image()
    regs = [region("nodule"), {**region("mass"), "region_id": "r2"}]
    scene = build_scene(img, regs)
    contexts = [region_context(onto, img, r, scene) for r in regs]
    with OpenAIServerDouble(respond) as srv:
        prompt = load_prompt("region", "1")
        describer = LlmRegionDescriber(fast_client(srv.base_url), prompt, LlmResponseCache(tmp_path))
        good, bad = describer.describe_many(contexts)
        again = describer.describe_many(contexts[:1])
        assert srv.requests == 2 and again[0] == good  # the valid answer came from the cache
    assert good.method == "llm" and good.text == "A nodule seen on the left side of the chest."
    assert bad.method == "template" and "llm_error:unsupported_side" in bad.flags and "llm_fallback" in bad.flags
    assert bad.text == template_description(contexts[1])
