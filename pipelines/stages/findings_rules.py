"""`findings.rules`: REPORT rows → FINDING rows with the rule-based extractor (extractors/reports).

`label_sections` names the report sections whose mentions feed labels (default findings, impression and
unsectioned text); mentions from other sections (comparison, technique, indication, history) are still
written, flagged `outside_label_sections`, and label derivation leaves them out.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import field_validator

from extractors.reports.sections import LABEL_SECTIONS, SECTION_NAMES
from pipelines.registry import register_stage
from pipelines.stage import Resources, Sample, Stage, StageParams


class FindingsRulesParams(StageParams):
    abbreviation_detector: bool = True  # scispaCy's detector of abbreviations defined in the report
    batch_size: int = 64  # reports per nlp.pipe batch
    label_sections: tuple[str, ...] = LABEL_SECTIONS  # sections whose mentions feed labels

    @field_validator("label_sections")
    @classmethod
    def known_sections(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(SECTION_NAMES))
        if unknown or not value:
            raise ValueError(f"label_sections must be a non-empty subset of {SECTION_NAMES}; unknown: {unknown}")
        return tuple(sorted(set(value), key=SECTION_NAMES.index))


@register_stage
class FindingsRulesStage(Stage):
    name = "findings.rules"
    description = "report text → one FINDING row per finding/device mention (rules: certainty, side, site, size)"
    consumes = ("reports", "image")
    produces = ("findings",)
    stateful = True  # builds the spaCy pipeline and phrase matcher once per worker
    default_resources = Resources(num_cpus=0.5, concurrency=1, batch_size=32)
    Params: ClassVar[type[StageParams]] = FindingsRulesParams

    def setup(self) -> None:
        from extractors.reports.extractor import ReportFindingExtractor

        params = self.params
        assert isinstance(params, FindingsRulesParams)
        self.extractor = ReportFindingExtractor(abbreviation_detector=params.abbreviation_detector)

    def process_sample(self, sample: Sample) -> Sample:
        from extractors.reports.findings_table import finding_rows

        reports = [r for r in sample.get("reports") or [] if r.get("text")]
        image = sample.get("image") or {}
        findings = list(sample.get("findings") or [])
        texts = [r["text"] for r in reports]
        params = self.params
        assert isinstance(params, FindingsRulesParams)
        for report, mentions in zip(reports, self.extractor.extract_many(texts, params.batch_size), strict=True):
            try:
                findings.extend(finding_rows(
                    mentions, self.extractor.onto, report_id=report["report_id"], source=report["source"],
                    study_id=report.get("study_id"), image_id=image.get("image_id"),
                    label_sections=params.label_sections,
                ))
            except KeyError:  # a code the ontology no longer knows: this report's findings are lost, not the sample
                self.quarantine(sample, "report", report["report_id"], "unknown_label",
                                "a matched code is not in the loaded ontology")
        sample["findings"] = findings
        return sample
