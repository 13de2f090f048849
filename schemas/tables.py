"""Arrow schemas of every table medground writes, and of the SAMPLE row that flows between stages.

The tables (IMAGE, REPORT, FINDING, REGION, GROUNDING, QUARANTINE) are what a corpus contains.
SAMPLE is the internal unit of work: one input image (or slice) with its pixels and nested lists of
the records derived from it; the writer explodes it into the tables. Writers always pass these
schemas explicitly; nothing is inferred from data.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "1.1.0"  # 1.1.0: REGION gains candidate, qc_score, candidate_reason (additive)

# Enumerations (kept as strings in the tables; validated by stages and QC).
CERTAINTIES = ("present", "absent", "uncertain")
LATERALITIES = ("left", "right", "bilateral", "none")
REGION_ORIGINS = ("dataset_gt", "classical", "sam_box", "sam_points", "sam_auto", "annotator")
EXTRACTORS = ("dataset", "rules", "llm")
GROUNDING_METHODS = ("dataset", "code_match", "anatomy", "overlap", "template", "llm", "annotator")
# image/annotation/label/report are inputs (counted by the accounting); finding/region are records a
# stage derived and then lost (counted per stage).
QUARANTINE_UNITS = ("image", "annotation", "label", "report", "finding", "region")
ERROR_KINDS = (
    "missing_file",  # a file referenced by the source index does not exist
    "unreadable",  # the file exists but cannot be decoded (truncated, corrupt, unsupported)
    "malformed_row",  # an index row that cannot be parsed
    "out_of_bounds",  # geometry outside the image
    "shape_mismatch",  # a mask whose shape differs from its image
    "unknown_label",  # a label the ontology cannot map
    "phi_risk",  # burned-in annotation / secondary capture: needs review before use
    "rule_violation",  # an ontology rule configured to quarantine
    "stage_error",  # an unexpected exception inside a stage (bug or unforeseen input)
    "transient",  # a named transient failure (I/O hiccup, timeout) still failing after the bounded retries
    "parent_quarantined",  # an annotation/label/report whose image was quarantined
    "duplicate",  # an exact copy (same pixel file, same slice) of an input that is kept (stage `scan`)
)
SAMPLE_STATUSES = ("ok", "quarantined")


def _strs() -> pa.DataType:
    return pa.list_(pa.string())


IMAGE_FIELDS: list[pa.Field] = [
    pa.field("image_id", pa.string(), nullable=False),  # sha256(source file bytes)[:24] (+ _<axis><slice>)
    pa.field("source", pa.string(), nullable=False),  # registered source name, e.g. sources.nih_cxr14
    pa.field("source_key", pa.string(), nullable=False),  # the dataset's own image key
    pa.field("source_path", pa.string()),  # path relative to the dataset root
    pa.field("patient_id", pa.string()),  # salted hash, never the raw value
    pa.field("study_id", pa.string()),  # salted hash
    pa.field("modality", pa.string()),  # DICOM modality code: CR, DX, CT, MR, US, ES, XC, SM, OP
    pa.field("body_part", pa.string()),
    pa.field("view", pa.string()),  # PA, AP, LL, axial, ...
    pa.field("height", pa.int32()),
    pa.field("width", pa.int32()),
    pa.field("original_height", pa.int32()),  # before any resize done by the dataset or us
    pa.field("original_width", pa.int32()),
    pa.field("pixel_spacing_y", pa.float64()),  # mm per pixel of the written image (rows)
    pa.field("pixel_spacing_x", pa.float64()),  # mm per pixel of the written image (columns)
    pa.field("volume_id", pa.string()),  # for slices of a 3D volume
    pa.field("slice_axis", pa.string()),
    pa.field("slice_index", pa.int32()),
    pa.field("bit_depth", pa.int8()),  # of the written PNG
    pa.field("intensity", pa.string()),  # how pixels were mapped: voi_lut, window:40/400, percentile, png
    pa.field("split", pa.string()),
    pa.field("license", pa.string()),
    pa.field("sha256", pa.string()),  # of the written PNG bytes
    pa.field("phash", pa.string()),  # perceptual hash (near-duplicate detection)
    pa.field("dup_group", pa.string()),
    pa.field("qc_flags", _strs()),  # e.g. secondary_capture
]
IMAGE_SCHEMA = pa.schema(IMAGE_FIELDS, metadata={"table": "images", "schema_version": SCHEMA_VERSION})

SECTION_TYPE = pa.struct(
    [pa.field("name", pa.string()), pa.field("start", pa.int32()), pa.field("end", pa.int32())]
)
REPORT_FIELDS: list[pa.Field] = [
    pa.field("report_id", pa.string(), nullable=False),
    pa.field("study_id", pa.string()),
    pa.field("source", pa.string(), nullable=False),
    pa.field("text", pa.string()),  # de-identified report text
    pa.field("sections", pa.list_(SECTION_TYPE)),  # char offsets into text
]
REPORT_SCHEMA = pa.schema(REPORT_FIELDS, metadata={"table": "reports", "schema_version": SCHEMA_VERSION})

FINDING_FIELDS: list[pa.Field] = [
    pa.field("finding_id", pa.string(), nullable=False),
    pa.field("study_id", pa.string()),
    pa.field("image_id", pa.string()),  # set for image-level dataset labels
    pa.field("report_id", pa.string()),
    pa.field("source", pa.string(), nullable=False),
    pa.field("section", pa.string()),
    pa.field("sentence", pa.string()),
    pa.field("span_start", pa.int32()),  # offsets into the report text; null for dataset labels
    pa.field("span_end", pa.int32()),
    pa.field("phrase", pa.string()),
    pa.field("label", pa.string()),  # the raw label / matched text before normalisation
    pa.field("code", pa.string()),  # ontology node code
    pa.field("code_path", _strs()),  # root ... code
    pa.field("certainty", pa.string()),
    pa.field("laterality", pa.string()),
    pa.field("location_codes", _strs()),
    pa.field("size_mm", pa.list_(pa.float32())),
    pa.field("severity", pa.string()),
    pa.field("change", pa.string()),
    pa.field("extractor", pa.string()),
    pa.field("annotator", pa.string()),  # e.g. VinDr rad_id
    pa.field("input_ref", pa.string()),  # the source row it came from (dataset labels), for the audit trail
    pa.field("model", pa.string()),  # extractor=llm: the model that answered
    pa.field("prompt_version", pa.string()),  # extractor=llm: prompt template name and version
    pa.field("input_hash", pa.string()),  # extractor=llm: sha256 of the request (the cache key)
    pa.field("confidence", pa.float32()),
    pa.field("flags", _strs()),
]
FINDING_SCHEMA = pa.schema(FINDING_FIELDS, metadata={"table": "findings", "schema_version": SCHEMA_VERSION})

REGION_FIELDS: list[pa.Field] = [
    pa.field("region_id", pa.string(), nullable=False),
    pa.field("image_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("label", pa.string()),  # the dataset's own label string
    pa.field("code", pa.string()),
    pa.field("code_path", _strs()),
    pa.field("origin", pa.string(), nullable=False),
    pa.field("box_x", pa.float64()),  # xywh in pixels of the written image
    pa.field("box_y", pa.float64()),
    pa.field("box_w", pa.float64()),
    pa.field("box_h", pa.float64()),
    pa.field("rle_counts", pa.string()),  # COCO compressed RLE counts; null for box-only regions
    pa.field("mask_height", pa.int32()),
    pa.field("mask_width", pa.int32()),
    pa.field("area", pa.int64()),  # mask pixels (box area for box-only regions)
    pa.field("prompt_region_id", pa.string()),  # the region whose box/points prompted this mask
    pa.field("parent_region_id", pa.string()),
    pa.field("predicted_iou", pa.float32()),
    pa.field("stability_score", pa.float32()),
    pa.field("dice_vs_gt", pa.float32()),
    pa.field("model", pa.string()),  # generator name and version
    pa.field("model_sha256", pa.string()),
    pa.field("annotator", pa.string()),
    pa.field("supersedes", pa.string()),  # region_id an annotator correction replaces
    pa.field("input_ref", pa.string()),  # the source row it came from (dataset annotations)
    pa.field("qc_flags", _strs()),
    pa.field("candidate", pa.string()),  # generated masks chosen among candidates: which won (sam_m0, ellipse, …)
    pa.field("qc_score", pa.float32()),  # its GT-free QC score (estimated Dice, extractors.masks.select)
    pa.field("candidate_reason", pa.string()),  # why it won: its score over the runner-up's
]
REGION_SCHEMA = pa.schema(REGION_FIELDS, metadata={"table": "regions", "schema_version": SCHEMA_VERSION})

GROUNDING_FIELDS: list[pa.Field] = [
    pa.field("grounding_id", pa.string(), nullable=False),
    pa.field("region_id", pa.string(), nullable=False),
    pa.field("finding_id", pa.string()),
    pa.field("image_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("phrase", pa.string()),
    pa.field("code", pa.string()),
    pa.field("method", pa.string(), nullable=False),
    pa.field("score", pa.float32()),
    pa.field("code_match", pa.string()),  # exact | descendant | ancestor | none
    pa.field("laterality_agrees", pa.bool_()),
    pa.field("location_agrees", pa.bool_()),
    pa.field("overlap", pa.float32()),
    pa.field("flags", _strs()),
]
GROUNDING_SCHEMA = pa.schema(
    GROUNDING_FIELDS, metadata={"table": "groundings", "schema_version": SCHEMA_VERSION}
)

QUARANTINE_FIELDS: list[pa.Field] = [
    pa.field("source", pa.string(), nullable=False),
    pa.field("unit", pa.string(), nullable=False),  # what was lost: image | annotation | report | ...
    pa.field("input_ref", pa.string(), nullable=False),  # dataset-relative path or file:row
    pa.field("stage", pa.string(), nullable=False),  # registered name of the stage that quarantined it
    pa.field("error_kind", pa.string(), nullable=False),
    pa.field("message", pa.string(), nullable=False),  # never contains a header value
    pa.field("image_id", pa.string()),
]
QUARANTINE_SCHEMA = pa.schema(
    QUARANTINE_FIELDS, metadata={"table": "quarantine", "schema_version": SCHEMA_VERSION}
)

TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "images": IMAGE_SCHEMA,
    "reports": REPORT_SCHEMA,
    "findings": FINDING_SCHEMA,
    "regions": REGION_SCHEMA,
    "groundings": GROUNDING_SCHEMA,
    "quarantine": QUARANTINE_SCHEMA,
}

# ---- SAMPLE: the row that flows through the stages -------------------------------------------------
# `item` carries what the source adapter read from the dataset index (paths, raw labels, boxes) as a
# JSON string, so sources with very different layouts share one Arrow type.
SAMPLE_FIELDS: list[pa.Field] = [
    pa.field("sample_key", pa.string(), nullable=False),  # deterministic, unique within a run
    pa.field("shard", pa.string(), nullable=False),  # e.g. train-000003
    pa.field("status", pa.string(), nullable=False),  # ok | quarantined
    pa.field("item", pa.string(), nullable=False),  # JSON: the source adapter's record
    pa.field("image_png", pa.binary()),
    pa.field("image", pa.struct(IMAGE_FIELDS)),
    pa.field("reports", pa.list_(pa.struct(REPORT_FIELDS))),
    pa.field("findings", pa.list_(pa.struct(FINDING_FIELDS))),
    pa.field("regions", pa.list_(pa.struct(REGION_FIELDS))),
    pa.field("groundings", pa.list_(pa.struct(GROUNDING_FIELDS))),
    pa.field("quarantine", pa.list_(pa.struct(QUARANTINE_FIELDS))),
]
SAMPLE_SCHEMA = pa.schema(SAMPLE_FIELDS, metadata={"table": "sample", "schema_version": SCHEMA_VERSION})


# Model scores written to REGION (predicted_iou, stability_score, dice_vs_gt) are rounded to this many
# decimals, so float noise below 1e-4 (batch composition, BLAS kernels, bf16 on GPU) cannot change bytes.
SCORE_DECIMALS = 4


def round_score(value: float | None) -> float | None:
    """A score as written to a table: rounded to SCORE_DECIMALS (None stays None)."""
    return None if value is None else round(float(value), SCORE_DECIMALS)


def empty_row(schema: pa.Schema) -> dict[str, object]:
    """A dict with every column of `schema` set to None (lists to [])."""
    return {f.name: ([] if pa.types.is_list(f.type) else None) for f in schema}
