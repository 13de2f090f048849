"""`labels.dataset`: the dataset's own image-level labels become FINDING rows (extractor=dataset)."""

from __future__ import annotations

from extractors.records import short_hash
from pipelines.registry import register_stage
from pipelines.stage import Resources, Sample, Stage, item_of
from schemas.tables import FINDING_SCHEMA, empty_row


@register_stage
class DatasetLabelsStage(Stage):
    name = "labels.dataset"
    description = "image-level dataset labels → FINDING rows with extractor=dataset (codes set by ontology.normalize)"
    consumes = ("item", "image")
    produces = ("findings",)
    default_resources = Resources(num_cpus=0.25, batch_size=32)

    def process_sample(self, sample: Sample) -> Sample:
        item = item_of(sample)
        image = sample["image"]
        findings = list(sample.get("findings") or [])
        for lab in item.get("labels") or []:
            rec = empty_row(FINDING_SCHEMA)
            rec.update(
                finding_id=short_hash(image["image_id"], lab["ref"], lab["label"]),
                study_id=image["study_id"],
                image_id=image["image_id"],
                source=item["source"],
                phrase=lab["label"].replace("_", " "),
                label=lab["label"],
                certainty=lab.get("certainty") or "present",
                laterality="none",
                extractor="dataset",
                annotator=lab.get("annotator"),
                input_ref=lab["ref"],
                confidence=1.0,
            )
            findings.append(rec)
        sample["findings"] = findings
        return sample
