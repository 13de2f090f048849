"""The dataset card's YAML front matter (Hugging Face format): licences, task categories, size category,
and `configs` whose data_files point at the Parquet tables so `datasets.load_dataset(corpus_dir)` works."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from qc.corpus import table_parts
from schemas.tables import TABLE_SCHEMAS

SHARD_PART = re.compile(r"^part-(train|val|test)-\d+\.parquet$")
HF_SPLIT = {"train": "train", "val": "validation", "test": "test"}
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                   (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))
KNOWN_LICENSES = {"cc0-1.0", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0",
                  "cc-by-nc-nd-4.0", "mit", "apache-2.0", "odc-by", "pddl", "other"}
DEFAULT_CONFIG = "regions"


def hf_license(text: str | None) -> str:
    value = (text or "other").strip().lower()
    return value if value in KNOWN_LICENSES else "other"


def size_category(n: int) -> str:
    for bound, name in SIZE_CATEGORIES:
        if n < bound:
            return name
    return "n>1B" if n >= 1_000_000_000 else "100M<n<1B"


def data_files(corpus_dir: Path, table: str) -> list[dict[str, str]]:
    """Splits from the writer's part names (part-<split>-NNNNNN.parquet); one 'train' split otherwise."""
    names = [p.name for p in table_parts(corpus_dir, table)]
    if names and all(SHARD_PART.match(n) for n in names):
        splits = sorted({SHARD_PART.match(n).group(1) for n in names}, key=list(HF_SPLIT).index)  # type: ignore[union-attr]
        return [{"split": HF_SPLIT[s], "path": f"tables/{table}/part-{s}-*.parquet"} for s in splits]
    return [{"split": "train", "path": f"tables/{table}/*.parquet"}]


def configs(corpus_dir: Path) -> list[dict[str, Any]]:
    out = []
    for table in TABLE_SCHEMAS:
        if not table_parts(corpus_dir, table):
            continue
        entry: dict[str, Any] = {"config_name": table, "data_files": data_files(corpus_dir, table)}
        if table == DEFAULT_CONFIG:
            entry["default"] = True
        out.append(entry)
    return out


def front_matter(corpus_dir: Path, manifest: dict[str, Any], n_images: int) -> str:
    licenses = sorted({hf_license(s.get("license")) for s in manifest.get("sources") or []}) or ["other"]
    meta: dict[str, Any] = {
        "pretty_name": f"{manifest.get('corpus', Path(corpus_dir).parent.name)} "
                       f"{manifest.get('version', Path(corpus_dir).name)}",
        "license": licenses[0] if len(licenses) == 1 else licenses,
        "task_categories": ["image-segmentation", "object-detection", "image-to-text"],
        "tags": ["medical", "radiology", "visual-grounding", "referring-segmentation"],
        "size_categories": [size_category(n_images)],
        "configs": configs(corpus_dir),
    }
    if "other" in licenses:
        meta["license_details"] = "per-source licences: see the Sources section; the strictest one applies"
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"
