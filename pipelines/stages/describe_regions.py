"""`describe.regions`: a MedTrinity-style description for every labelled REGION, as a GROUNDING row.

Each region with an ontology code gets one sentence built from structured context (modality, anatomy
from the ontology, finding, side/zone, size, linked finding's certainty/severity) by a template
(`method: template`), or by the LLM when `llm` is configured (`method: llm`; checked against the
context, template fallback flagged `llm_fallback`). Rows carry the flag `region_description`; a re-run
replaces them (idempotent).

  params: {llm: {base_url, model, ...} | null, prompt_version: "1", cache_dir: ...}
"""

from __future__ import annotations

from typing import Any, ClassVar

from pipelines.registry import register_stage
from pipelines.stage import Resources, Sample, Stage, StageParams
from pipelines.stages.findings_llm import LlmEndpointParams
from schemas.errors import ConfigError


class DescribeRegionsParams(StageParams):
    llm: LlmEndpointParams | None = None  # None: template descriptions only
    prompt_version: str = "1"
    cache_dir: str | None = None
    ontology_path: str | None = None


@register_stage
class DescribeRegionsStage(Stage):
    name = "describe.regions"
    description = "one MedTrinity-style description per labelled region (template; LLM when configured)"
    consumes = ("image", "regions", "findings", "groundings")
    produces = ("groundings",)
    stateful = True  # an HTTP client and cache per worker when an LLM is configured
    default_resources = Resources(num_cpus=0.25, concurrency=1, batch_size=32)
    Params: ClassVar[type[StageParams]] = DescribeRegionsParams
    params: DescribeRegionsParams

    def setup(self) -> None:
        from schemas.ontology import load_ontology

        p = self.params
        self.onto = load_ontology(p.ontology_path)
        self.describer = None
        if p.llm is not None:
            if p.llm.kind != "openai":
                raise ConfigError("llm.kind", "describe.regions calls HTTP endpoints only", allowed=["openai"])
            from extractors.llm.cache import LlmResponseCache
            from extractors.llm.client import OpenAIChatClient
            from extractors.llm.describe import LlmRegionDescriber
            from extractors.llm.prompts import load_prompt

            cache = LlmResponseCache(p.cache_dir) if p.cache_dir else None
            self.describer = LlmRegionDescriber(OpenAIChatClient(p.llm.settings()),
                                                load_prompt("region", p.prompt_version), cache)

    def process_sample(self, sample: Sample) -> Sample:
        from extractors.grounding.rows import grounding_row
        from extractors.llm.describe import DESCRIPTION_FLAG, template_only

        image = sample.get("image") or {}
        regions = sorted((r for r in sample.get("regions") or [] if r.get("code")), key=lambda r: r["region_id"])
        kept = [g for g in sample.get("groundings") or [] if DESCRIPTION_FLAG not in (g.get("flags") or [])]
        from extractors.grounding.scene import build_scene

        scene = build_scene(image, sample.get("regions") or []) if image.get("height") and image.get("width") else None
        contexts = [self.context(sample, image, r, scene) for r in regions]
        if self.describer is not None and contexts:
            described = self.describer.describe_many(contexts)
        else:
            described = [template_only(c) for c in contexts]
        rows = [grounding_row(r, method=d.method, phrase=d.text, code=r["code"], score=None, flags=d.flags)
                for r, d in zip(regions, described, strict=True)]
        sample["groundings"] = [*kept, *rows]
        return sample

    def context(self, sample: Sample, image: dict[str, Any], region: dict[str, Any], scene: Any) -> dict[str, Any]:
        from extractors.llm.regions import region_context

        findings = {f["finding_id"]: f for f in sample.get("findings") or []}
        linked = sorted(g["finding_id"] for g in sample.get("groundings") or []
                        if g.get("region_id") == region["region_id"] and g.get("finding_id") in findings)
        return region_context(self.onto, image, region, scene, findings[linked[0]] if linked else None)
