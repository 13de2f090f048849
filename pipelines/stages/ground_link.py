"""`ground.link` and `ground.templates`: GROUNDING rows linking regions to phrases.

`ground.link` (after ontology.normalize and the mask stages):
1. automatic `sam_auto` masks inherit the code of the labelled region containing them
   (`parent_region_id`, qc flag `inherited_label`, an `overlap` grounding), the rest are flagged `unlabelled`;
2. dataset-given phrases (MS-CXR style annotations with `phrase`) pass through with method `dataset`;
3. positive findings link to regions by ontology code, checked for laterality and location
   (method `code_match`, review flags `laterality_conflict`, `low_confidence`, ...);
4. report sentences link to anatomy regions their location phrases name (method `anatomy`).

Accounting — counted from the tables, never from logs: a positive finding that grounds no region gets
the FINDING flag `ungrounded`; a labelled region that no finding, dataset phrase or sentence grounds gets
the REGION qc flag `ungrounded`; an automatic mask that inherits no label keeps the qc flag `unlabelled`.
A region with a contradicting or low-confidence link gets the qc flag `grounding_review`, so the review
export selects it with `list_contains(r.qc_flags, 'grounding_review')`.

`ground.templates`: deterministic template phrases from the ontology for every labelled region
(method `template`; users keep or drop them by method).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from extractors.grounding.anatomy import anatomy_links
from extractors.grounding.dataset_links import dataset_links
from extractors.grounding.inherit import inherit_labels
from extractors.grounding.links import is_groundable_finding, link_findings
from extractors.grounding.rows import add_flag, drop_flags
from extractors.grounding.scene import build_scene
from extractors.grounding.templates import template_rows
from extractors.records import short_hash
from pipelines.registry import register_stage
from pipelines.stage import Resources, Sample, Stage, StageParams, item_of
from schemas.ontology import Ontology, load_ontology

LINK_METHODS = ("dataset", "code_match", "anatomy", "overlap")
UNGROUNDED = "ungrounded"
REVIEW = "grounding_review"  # region qc flag: one of its links carries a REVIEW_FLAGS flag
REVIEW_FLAGS = frozenset({"laterality_conflict", "location_conflict", "low_confidence", "bilateral_one_side"})


class GroundLinkParams(StageParams):
    min_score: float = Field(0.5, ge=0.0, le=1.0)  # links scoring below are flagged low_confidence
    inherit_min_containment: float = Field(0.6, gt=0.0, le=1.0)  # auto-mask share inside its parent
    anatomy_links: bool = True
    ontology_path: str | None = None  # default: the shipped ontology


def dataset_phrases(item: dict[str, Any], image_id: str) -> dict[str, list[str]]:
    """region_id → the dataset's phrases for it (ids made as ingest makes them: extractors.records)."""
    out: dict[str, list[str]] = {}
    for ann in item.get("annotations") or []:
        if ann.get("phrase"):
            out.setdefault(short_hash(image_id, ann["ref"], ann["label"]), []).append(ann["phrase"])
    return out


def orientation_of(item: dict[str, Any]) -> str | None:
    return (item.get("meta") or {}).get("orientation")


@register_stage
class GroundLinkStage(Stage):
    name = "ground.link"
    description = "findings, dataset phrases, sentences ↔ regions with evidence and review flags"
    consumes = ("item", "image", "findings", "regions", "groundings")
    produces = ("findings", "regions", "groundings")
    default_resources = Resources(num_cpus=0.25, batch_size=16)
    Params = GroundLinkParams
    params: GroundLinkParams

    def setup(self) -> None:
        self.onto: Ontology = load_ontology(self.params.ontology_path)

    def process_sample(self, sample: Sample) -> Sample:
        item, image = item_of(sample), sample["image"]
        findings = list(sample.get("findings") or [])
        inherited = inherit_labels(self.onto, list(sample.get("regions") or []), int(image["height"]),
                                   int(image["width"]), self.params.inherit_min_containment)
        regions = inherited.regions
        scene = build_scene(image, regions, orientation_of(item))
        rows = [
            *dataset_links(self.onto, scene, regions, dataset_phrases(item, image["image_id"])),
            *link_findings(self.onto, scene, findings, regions, self.params.min_score),
            *(anatomy_links(self.onto, image["image_id"], findings, regions) if self.params.anatomy_links else []),
            *inherited.groundings,
        ]
        kept = [g for g in sample.get("groundings") or [] if g["method"] not in LINK_METHODS]
        sample["groundings"] = [*kept, *rows]
        sample["findings"] = self.count_findings(findings, rows, image["image_id"])
        sample["regions"] = self.count_regions(regions, rows)
        return sample

    def count_findings(self, findings: list[dict], rows: list[dict], image_id: str) -> list[dict]:
        grounded = {g["finding_id"] for g in rows if g["method"] == "code_match"}
        out = []
        for f in findings:
            f = {**f, "flags": drop_flags(f.get("flags"), (UNGROUNDED,))}
            if is_groundable_finding(self.onto, f, image_id) and f["finding_id"] not in grounded:
                f["flags"] = add_flag(f["flags"], UNGROUNDED)
            out.append(f)
        return out

    def count_regions(self, regions: list[dict], rows: list[dict]) -> list[dict]:
        grounded = {g["region_id"] for g in rows if g["method"] in ("dataset", "code_match", "anatomy")}
        review = {g["region_id"] for g in rows if REVIEW_FLAGS & set(g["flags"])}
        out = []
        for r in regions:
            r = {**r, "qc_flags": drop_flags(r.get("qc_flags"), (UNGROUNDED, REVIEW))}
            if r.get("code") is not None and r.get("origin") != "sam_auto" and r["region_id"] not in grounded:
                r["qc_flags"] = add_flag(r["qc_flags"], UNGROUNDED)
            if r["region_id"] in review:
                r["qc_flags"] = add_flag(r["qc_flags"], REVIEW)
            out.append(r)
        return out


class GroundTemplatesParams(StageParams):
    variants: int = Field(4, ge=1, le=16)  # phrases per region
    ontology_path: str | None = None


@register_stage
class GroundTemplatesStage(Stage):
    name = "ground.templates"
    description = "deterministic template phrases from the ontology for every labelled region (method=template)"
    consumes = ("item", "image", "regions", "groundings")
    produces = ("groundings",)
    default_resources = Resources(num_cpus=0.25, batch_size=32)
    Params = GroundTemplatesParams
    params: GroundTemplatesParams

    def setup(self) -> None:
        self.onto: Ontology = load_ontology(self.params.ontology_path)

    def process_sample(self, sample: Sample) -> Sample:
        regions = list(sample.get("regions") or [])
        scene = build_scene(sample["image"], regions, orientation_of(item_of(sample)))
        kept = [g for g in sample.get("groundings") or [] if g["method"] != "template"]
        sample["groundings"] = [*kept, *template_rows(self.onto, scene, regions, self.params.variants)]
        return sample
