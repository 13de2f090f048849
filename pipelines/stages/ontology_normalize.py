"""`ontology.normalize`: every FINDING/REGION label becomes an ontology node, and the rules are checked.

Labels map through the source's label map, then names/synonyms (schemas.ontology.map_label); `code`
and `code_path` (root … code: a positive child implies its ancestors) are filled. A label the
ontology cannot map is quarantined (`unknown: quarantine`, kind unknown_label) or kept with code null
and the flag `ontology.unknown_label` (`unknown: flag`); a label the source's map drops on purpose is
always quarantined (unknown_label, with the map's reason). Rule violations (extractors.ontology_rules:
modality, exclusions, containment) are appended to `flags`/`qc_flags`, or quarantined as
rule_violation with `violations: quarantine`. A region inside its parent gets `parent_region_id`.
"""

from __future__ import annotations

from typing import Any, Literal

from extractors.ontology_rules import RuleFlag, check_containment, check_exclusions, check_modality
from pipelines.registry import register_stage
from pipelines.stage import Resources, Sample, Stage, StageParams, item_of
from schemas.ontology import Ontology, load_ontology

UNKNOWN_FLAG = "ontology.unknown_label"


class OntologyNormalizeParams(StageParams):
    unknown: Literal["quarantine", "flag"] = "quarantine"
    violations: Literal["flag", "quarantine"] = "flag"
    containment_tolerance: float = 0.1  # a child may lie this fraction outside its parent regions
    check_containment: bool = True
    ontology_path: str | None = None  # default: the shipped ontology


@register_stage
class OntologyNormalizeStage(Stage):
    name = "ontology.normalize"
    description = "labels → ontology codes + ancestor paths; unknown labels quarantined; hierarchy rules flagged"
    consumes = ("item", "image", "findings", "regions")
    produces = ("findings", "regions", "quarantine")
    default_resources = Resources(num_cpus=0.25, batch_size=32)
    Params = OntologyNormalizeParams
    params: OntologyNormalizeParams

    def setup(self) -> None:
        self.onto: Ontology = load_ontology(self.params.ontology_path)

    def process_sample(self, sample: Sample) -> Sample:
        source = item_of(sample)["source"]
        image = sample.get("image") or {}
        findings = self.normalise_records(sample, list(sample.get("findings") or []), source, "finding")
        regions = self.normalise_records(sample, list(sample.get("regions") or []), source, "annotation")
        flags: dict[tuple[str, int], list[RuleFlag]] = {}
        for kind, records in (("finding", findings), ("annotation", regions)):
            for i, rec in enumerate(records):
                if rec.get("code") is not None:
                    flag = check_modality(self.onto, rec["code"], image.get("modality"))
                    if flag is not None:
                        flags.setdefault((kind, i), []).append(flag)
        for idx, flag in check_exclusions(self.onto, [*findings, *regions]).items():
            key = ("finding", idx) if idx < len(findings) else ("annotation", idx - len(findings))
            flags.setdefault(key, []).append(flag)
        if self.params.check_containment and regions:
            shape = (image["height"], image["width"]) if image.get("height") and image.get("width") else None
            placed = check_containment(self.onto, regions, self.params.containment_tolerance, shape)
            for i, result in placed.items():
                if result.flag is not None:
                    flags.setdefault(("annotation", i), []).append(result.flag)
                elif regions[i].get("parent_region_id") is None:
                    regions[i]["parent_region_id"] = result.parent_region_id
        sample["findings"] = self.apply_flags(sample, findings, "finding", flags)
        sample["regions"] = self.apply_flags(sample, regions, "annotation", flags)
        return sample

    def normalise_records(self, sample: Sample, records: list[dict[str, Any]], source: str, unit: str) -> list:
        """Fill code and code_path; quarantine (or flag) what cannot be mapped."""
        out = []
        for rec in records:
            code = rec.get("code")
            if code not in self.onto:
                text = code or rec.get("label") or rec.get("phrase") or ""
                match = self.onto.map_label(text, source=source)
                if match is None:
                    if self.lose(sample, rec, input_unit(rec, unit), source, text):
                        continue
                    rec["code"], rec["code_path"] = None, []
                    add_flags(rec, unit, [UNKNOWN_FLAG])
                    out.append(rec)
                    continue
                code = match.code
            rec["code"] = code
            rec["code_path"] = self.onto.path(code)
            out.append(rec)
        return out

    def lose(self, sample: Sample, rec: dict[str, Any], unit: str, source: str, text: str) -> bool:
        """Quarantine an unmappable record if configured (or dropped on purpose); True if it is gone."""
        reason = self.onto.drop_reason(text, source)
        if reason is None and self.params.unknown == "flag":
            return False
        message = (
            f"label dropped by the {source} label map: {reason}" if reason is not None
            else f"label {text!r} maps to no ontology node (source {source})"
        )
        self.quarantine(sample, unit, record_ref(rec, unit), "unknown_label", message)
        return True

    def apply_flags(
        self, sample: Sample, records: list[dict[str, Any]], unit: str, flags: dict[tuple[str, int], list]
    ) -> list[dict[str, Any]]:
        out = []
        for i, rec in enumerate(records):
            found = flags.get((unit, i), [])
            if found and self.params.violations == "quarantine":
                message = "; ".join(f.text for f in found)
                self.quarantine(sample, input_unit(rec, unit), record_ref(rec, unit), "rule_violation", message)
                continue
            add_flags(rec, unit, [f.text for f in found])
            out.append(rec)
        return out


def add_flags(rec: dict[str, Any], unit: str, texts: list[str]) -> None:
    """Append flags to a FINDING's `flags` or a REGION's `qc_flags`, once each (re-runs add nothing)."""
    column = "flags" if unit == "finding" else "qc_flags"
    current = list(rec.get(column) or [])
    rec[column] = current + [t for t in dict.fromkeys(texts) if t not in current]


def record_ref(rec: dict[str, Any], unit: str) -> str:
    """The source row a dataset record came from, else the record's own id."""
    if rec.get("input_ref"):
        return str(rec["input_ref"])
    return str(rec.get("finding_id") or rec.get("region_id"))


def input_unit(rec: dict[str, Any], unit: str) -> str:
    """The accounting unit of a lost record: dataset labels/annotations are inputs; the rest derived."""
    if unit == "finding":
        return "label" if rec.get("extractor") == "dataset" else "finding"
    return "annotation" if rec.get("origin") == "dataset_gt" else "region"
