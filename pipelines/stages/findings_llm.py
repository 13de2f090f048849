"""`findings.llm`: REPORT rows → FINDING rows from an LLM, cached, validated, audited against the rules.

Config (`params`):
  endpoint: {kind: openai | vllm_engine, base_url, model, api_key_env, max_concurrency, qps, timeout_s,
             max_retries, backoff_s}   # openai: any OpenAI-compatible server (vLLM, Ollama, TGI, hosted)
  prompt_version: "1"                  # extractors/llm/prompts/findings-v<version>.json
  cache_dir: /shared/llm-cache         # answers cached by (model, prompt version, input hash)
  fallback: rules | none               # what a report gets when the LLM fails (flagged llm_fallback)
  keep_rules: true                     # keep the rule findings next to the LLM ones
  agreement: true                      # flag each finding agreement:<match|certainty|...|llm_only|rules_only>

All reports of a batch are sent together (bounded concurrency and QPS). Answer items the ontology
cannot map, or whose phrase is not in the report, are quarantined as `finding` (unknown_label /
malformed_row); a report with no answer and no fallback is quarantined as `report`. The disagreement
table is derived from the findings table: `extractors.llm.agreement.agreement_tables(findings, onto)`.

`kind: vllm_engine` is for GPU clusters: the config is validated here and
`build_vllm_processor_config` builds Ray Data's `vLLMEngineProcessorConfig` (see its docstring); this
stage itself only calls HTTP endpoints.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field, model_validator

from extractors.llm.client import EndpointSettings
from pipelines.registry import register_stage
from pipelines.stage import Resources, Sample, Stage, StageParams
from schemas.errors import ConfigError

REJECT_KINDS = {"unknown_code": "unknown_label", "span_not_found": "malformed_row"}


class LlmEndpointParams(StageParams):
    kind: Literal["openai", "vllm_engine"] = "openai"
    base_url: str | None = None  # openai: http(s)://host:port/v1
    model: str = Field(min_length=1)
    api_key_env: str | None = None  # the NAME of the environment variable holding the key
    max_concurrency: int = Field(4, ge=1, le=256)
    qps: float = Field(0.0, ge=0.0)  # 0 = no limit
    timeout_s: float = Field(60.0, gt=0.0, le=600.0)
    max_retries: int = Field(3, ge=0, le=10)
    backoff_s: float = Field(0.5, ge=0.0, le=60.0)
    # vllm_engine only (Ray Data LLM on GPU workers)
    engine_kwargs: dict[str, Any] = Field(default_factory=dict)
    batch_size: int = Field(16, ge=1)
    concurrency: int = Field(1, ge=1)
    accelerator_type: str | None = None

    @model_validator(mode="after")
    def _check_kind(self) -> LlmEndpointParams:
        if self.kind == "openai" and not (self.base_url or "").startswith(("http://", "https://")):
            raise ValueError("endpoint.base_url: an http(s) URL is required for kind openai")
        if self.kind == "vllm_engine" and self.base_url is not None:
            raise ValueError("endpoint.base_url: not used by kind vllm_engine (the model runs in-process)")
        return self

    def settings(self) -> EndpointSettings:
        return EndpointSettings(
            base_url=self.base_url or "", model=self.model, api_key_env=self.api_key_env,
            max_concurrency=self.max_concurrency, qps=self.qps, timeout_s=self.timeout_s,
            max_retries=self.max_retries, backoff_s=self.backoff_s,
        )


class FindingsLlmParams(StageParams):
    endpoint: LlmEndpointParams
    prompt_version: str = "1"
    cache_dir: str | None = None  # None: ctx.extra["cache_dir"]/llm if the run sets it, else no cache
    fallback: Literal["rules", "none"] = "rules"
    keep_rules: bool = True
    agreement: bool = True
    ontology_path: str | None = None


def build_vllm_processor_config(endpoint: LlmEndpointParams) -> Any:
    """Ray Data's `vLLMEngineProcessorConfig` for `kind: vllm_engine` (cluster use; needs `ray[llm]`/vLLM).

    Use on a GPU cluster as `ray.data.llm.build_processor(config, preprocess=..., postprocess=...)`
    where preprocess turns a REPORT row into `{"messages": LlmFindingExtractor.request(r)["messages"],
    "sampling_params": {**prompt.sampling, "guided_decoding": {"json": json_schema(FindingsAnswer)}}}`
    and postprocess feeds `generated_text` to `parse_answer` + `answer_rows` (the same validation and
    repair as the HTTP path). Not run by this stage or in tests.
    """
    if endpoint.kind != "vllm_engine":
        raise ConfigError("endpoint.kind", "a vLLM engine processor needs kind vllm_engine")
    try:
        from ray.data.llm import vLLMEngineProcessorConfig
    except ImportError as err:
        raise ConfigError("endpoint.kind", f"vllm_engine needs ray[llm] and vllm installed ({err})") from None
    kwargs: dict[str, Any] = {"model_source": endpoint.model, "engine_kwargs": dict(endpoint.engine_kwargs),
                              "batch_size": endpoint.batch_size, "concurrency": endpoint.concurrency}
    if endpoint.accelerator_type:
        kwargs["accelerator_type"] = endpoint.accelerator_type
    return vLLMEngineProcessorConfig(**kwargs)


@register_stage
class FindingsLlmStage(Stage):
    name = "findings.llm"
    description = "report text → FINDING rows from an LLM (JSON schema, cache, retries, rule fallback, agreement)"
    consumes = ("reports", "image", "findings")
    produces = ("findings", "quarantine")
    stateful = True  # one HTTP client, cache connection and rule fallback per worker
    default_resources = Resources(num_cpus=0.25, concurrency=1, batch_size=32)
    Params: ClassVar[type[StageParams]] = FindingsLlmParams
    params: FindingsLlmParams

    def setup(self) -> None:
        from extractors.llm.cache import LlmResponseCache
        from extractors.llm.client import OpenAIChatClient
        from extractors.llm.findings import LlmFindingExtractor, rules_fallback
        from extractors.llm.prompts import load_prompt
        from schemas.ontology import load_ontology

        p = self.params
        if p.endpoint.kind == "vllm_engine":
            raise ConfigError("endpoint.kind", "vllm_engine runs as a Ray Data LLM processor on a GPU cluster "
                              "(build_vllm_processor_config); this stage calls HTTP endpoints only")
        self.onto = load_ontology(p.ontology_path)
        cache_dir = p.cache_dir or (f"{self.ctx.extra['cache_dir']}/llm" if self.ctx.extra.get("cache_dir") else None)
        cache = LlmResponseCache(cache_dir) if cache_dir else None
        self._rules = rules_fallback(self.onto) if p.fallback == "rules" else None
        self.extractor = LlmFindingExtractor(OpenAIChatClient(p.endpoint.settings()), self.onto,
                                             load_prompt("findings", p.prompt_version), cache, self._rules)
        self._outcomes: dict[tuple[str, str], Any] = {}

    def process_batch(self, table: pa.Table) -> pa.Table:
        """Ask for every report of the batch at once (concurrently), then assemble sample by sample."""
        self.ensure_ready()
        todo = [(s["sample_key"], r, (s.get("image") or {}).get("image_id"))
                for s in table.to_pylist() if s["status"] == "ok" for r in texts_of(s)]
        outcomes = self.extractor.extract_many([r for _, r, _ in todo], [i for *_, i in todo])
        self._outcomes = {(k, r["report_id"]): o for (k, r, _), o in zip(todo, outcomes, strict=True)}
        try:
            return super().process_batch(table)
        finally:
            self._outcomes = {}

    def process_sample(self, sample: Sample) -> Sample:
        reports = texts_of(sample)
        image_id = (sample.get("image") or {}).get("image_id")
        missing = [r for r in reports if (sample["sample_key"], r["report_id"]) not in self._outcomes]
        if missing:  # called outside process_batch
            for r, o in zip(missing, self.extractor.extract_many(missing, [image_id] * len(missing)), strict=True):
                self._outcomes[(sample["sample_key"], r["report_id"])] = o
        findings = list(sample.get("findings") or [])
        for report in reports:
            findings = self.merge(sample, findings, report, self._outcomes[(sample["sample_key"], report["report_id"])])
        sample["findings"] = findings
        return sample

    def merge(self, sample: Sample, findings: list[dict[str, Any]], report: dict[str, Any], outcome: Any) -> list:
        from extractors.llm.agreement import agreement_flags, compare_report

        rid = report["report_id"]
        for rej in outcome.rejects:
            self.quarantine(sample, "finding", f"{rid}:{rej.label}", REJECT_KINDS[rej.reason], rej.message)
        rules = [f for f in findings if f.get("report_id") == rid and f.get("extractor") == "rules"]
        if outcome.status == "failed":
            self.quarantine(sample, "report", rid, "stage_error", f"LLM unavailable ({outcome.error}), no fallback")
            return findings
        if outcome.status == "fallback":
            if not rules:
                return [*findings, *outcome.rows]
            extra = ["llm_fallback", f"llm_error:{outcome.error}"]
            for f in rules:  # the rule findings already there stand in for the LLM's
                f["flags"] = sorted({*(f.get("flags") or []), *extra})
            return findings
        llm = outcome.rows
        fresh = []
        if not rules and self._rules is not None and (self.params.agreement or self.params.keep_rules):
            rules = fresh = self._rules(report, (sample.get("image") or {}).get("image_id"))
        if self.params.agreement and rules:
            flags = agreement_flags(compare_report(rules, llm, self.onto))
            for f in [*rules, *llm]:
                f["flags"] = sorted({*(f.get("flags") or []), flags[f["finding_id"]]})
        if not self.params.keep_rules:
            findings = [f for f in findings if not (f.get("report_id") == rid and f.get("extractor") == "rules")]
            fresh = []
        return [*findings, *fresh, *llm]


def texts_of(sample: Sample) -> list[dict[str, Any]]:
    return [r for r in sample.get("reports") or [] if r.get("text")]
