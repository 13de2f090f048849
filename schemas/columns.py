"""Column-name constants shared by every table (use these, not string literals, in code)."""

# identity / provenance
IMAGE_ID = "image_id"
STUDY_ID = "study_id"
PATIENT_ID = "patient_id"
REPORT_ID = "report_id"
FINDING_ID = "finding_id"
REGION_ID = "region_id"
GROUNDING_ID = "grounding_id"
SOURCE = "source"
SOURCE_KEY = "source_key"
SOURCE_PATH = "source_path"
SPLIT = "split"
SHARD = "shard"

# labels
CODE = "code"
CODE_PATH = "code_path"
LABEL = "label"
PHRASE = "phrase"
CERTAINTY = "certainty"
LATERALITY = "laterality"
ORIGIN = "origin"
METHOD = "method"

# accounting
STATUS = "status"
QUARANTINE = "quarantine"
STAGE = "stage"
ERROR_KIND = "error_kind"
MESSAGE = "message"
UNIT = "unit"
INPUT_REF = "input_ref"

# sample-only (internal row flowing through Ray)
IMAGE_PNG = "image_png"
ITEM = "item"
REGIONS = "regions"
FINDINGS = "findings"
GROUNDINGS = "groundings"
REPORTS = "reports"
