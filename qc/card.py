"""`medground card`: the corpus README.md in the Hugging Face dataset-card format.

Front matter from qc/card_meta.py; then sources (licences, citations) and construction (stages,
parameters, versions) from the manifest, and every number from the audits (qc/*.parquet tables
computed from the written Parquet), never from logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from qc.audits import AuditResult, run_audits
from qc.card_meta import front_matter
from qc.corpus import read_manifest

CARD = "README.md"
FIGURES = ("counts_per_source", "label_hierarchy", "mask_area", "scores", "quarantine_reasons")


def md_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "_none_\n"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c)
            cells.append(f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v)))
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def sources_section(manifest: dict[str, Any]) -> str:
    out = ["## Sources\n"]
    for s in manifest.get("sources") or []:
        out.append(f"### {s.get('title') or s['name']} (`{s['name']}`)\n")
        out.append(f"- licence: **{s.get('license') or 'unknown'}**")
        if s.get("homepage"):
            out.append(f"- homepage: {s['homepage']}")
        out.append("")
        if s.get("citation"):
            out.append("```\n" + str(s["citation"]).strip() + "\n```\n")
    return "\n".join(out) + "\n"


def construction_section(manifest: dict[str, Any]) -> str:
    out = ["## Construction\n", "Built by medground; every step is recorded in `manifest.json`.\n"]
    versions = manifest.get("versions") or {}
    if versions:
        out.append("Versions: " + ", ".join(f"{k} `{v}`" for k, v in sorted(versions.items())) + "\n")
    config = manifest.get("config") or {}
    for i, stage in enumerate(config.get("stages") or [], 1):
        params = stage.get("params") or {}
        shown = ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or "defaults"
        out.append(f"{i}. `{stage['name']}` ({shown})")
    splits = config.get("splits")
    if splits:
        out.append("\nSplits are assigned by patient: " + ", ".join(f"{k} {v}" for k, v in splits.items()))
    out.extend(build_lines(manifest.get("build") or {}))
    if manifest.get("config_fingerprint"):
        out.append(f"\nConfig fingerprint: `{manifest['config_fingerprint']}`")
    return "\n".join(out) + "\n\n"


def build_lines(build: dict[str, Any]) -> list[str]:
    """Duplicate groups found by the pre-scan, and what an incremental version reused."""
    out = []
    dedup = build.get("dedup") or {}
    if dedup:
        out.append(
            f"\nNear duplicates (perceptual hash) share a split: "
            f"{dedup.get('duplicate_groups', 0)} group(s) holding {dedup.get('images_in_groups', 0)} images; "
            f"{dedup.get('exact_copies_quarantined', 0)} exact copies quarantined; "
            f"{dedup.get('groups_across_official_splits', 0)} group(s) span official splits (see the leakage audit).")
    inc = build.get("increment") or {}
    if inc:
        out.append(
            f"\nIncremental version on `{inc.get('base')}`: {inc.get('carried_shards', 0)} shard(s) reused unchanged, "
            f"{inc.get('new_inputs', 0)} new input(s), {inc.get('redone_inputs', 0)} redone, "
            f"{inc.get('removed_inputs', 0)} removed.")
    return out


def pivot_counts(counts: pa.Table) -> list[dict[str, Any]]:
    by_source: dict[str, dict[str, Any]] = {}
    for r in counts.to_pylist():
        by_source.setdefault(r["source"], {"source": r["source"]})[r["tbl"]] = r["n"]
    return [by_source[k] for k in sorted(by_source)]


def top_labels(dist: pa.Table, limit: int = 25) -> list[dict[str, Any]]:
    totals: dict[tuple[str, int, str], int] = {}
    for r in dist.to_pylist():
        key = (r["kind"], r["level"], r["code"])
        totals[key] = totals.get(key, 0) + r["n"]
    rows = [{"kind": k, "level": lvl, "code": c, "n": n} for (k, lvl, c), n in totals.items()]
    return sorted(rows, key=lambda r: (-r["n"], r["kind"], r["level"], r["code"]))[:limit]


def statistics_section(result: AuditResult) -> str:
    t, m = result.tables, result.metrics
    out = ["## Statistics\n", "All numbers are computed from the written tables by `medground qc`.\n",
           "### Accounting: inputs = written + quarantined\n",
           md_table(t["accounting"].to_pylist(), ["source", "unit", "inputs", "written", "quarantined", "balanced"]),
           "\n### Rows per source\n",
           md_table(pivot_counts(t["counts"]), ["source", "images", "reports", "findings", "regions",
                                                "groundings", "quarantine"]),
           "\n### Labels (present findings and regions, every hierarchy level)\n",
           md_table(top_labels(t["label_distribution"]), ["kind", "level", "code", "n"]),
           "\n### Quality\n"]
    for key in ("mean_dice_vs_gt", "mean_predicted_iou", "box_mask_inconsistent_rate", "violation_rate",
                "leakage", "phi_hits", "extractor_agreement", "annotator_regions", "superseded_regions"):
        value = m.get(key)
        out.append(f"- {key.replace('_', ' ')}: {'n/a' if value is None else round(value, 4)}")
    out.append("\n### Quarantine reasons\n")
    out.append(md_table(t["quarantine_reasons"].to_pylist(), ["source", "unit", "stage", "error_kind", "n"]))
    return "\n".join(out) + "\n"


def limitations_section(result: AuditResult) -> str:
    m = result.metrics
    origins = {r["origin"] for r in result.tables["mask_stats"].to_pylist()}
    out = ["## Known limitations\n"]
    weak = sorted(origins - {"dataset_gt", "annotator"})
    if weak:
        out.append(f"- Masks with origin {', '.join(weak)} are machine-generated (weak labels), not expert "
                   "annotations; use `dice_vs_gt`, `predicted_iou` and `qc_flags` to filter.")
    out.append("- Findings extracted from report text by rules or an LLM may miss negation or uncertainty; "
               "`certainty` and `confidence` are model outputs.")
    if m.get("accounting_unbalanced"):
        out.append(f"- **The accounting does not balance for {m['accounting_unbalanced']} (source, unit) pairs.**")
    if m.get("leakage"):
        out.append(f"- **{m['leakage']} patients or duplicate groups appear in more than one split.**")
    if m.get("phi_hits"):
        out.append(f"- **The PHI scan reported {m['phi_hits']} hits; review before release.**")
    if m.get("quarantined"):
        out.append(f"- {m['quarantined']} input records were quarantined (see Quarantine reasons).")
    out.append("- Licences differ per source; the strictest applies to any subset mixing them.")
    return "\n".join(out) + "\n\n"


def figures_section(corpus_dir: Path) -> str:
    present = [f for f in FIGURES if (corpus_dir / "qc" / "figures" / f"{f}.png").is_file()]
    if not present:
        return ""
    out = ["## Figures\n", "From the QC report (`qc/report.html`).\n"]
    out.extend(f"![{f.replace('_', ' ')}](qc/figures/{f}.png)\n" for f in present)
    return "\n".join(out) + "\n"


def render_card(corpus_dir: Path, result: AuditResult) -> str:
    manifest = read_manifest(corpus_dir)
    n_images = int(result.metrics.get("rows_images", 0))
    name = f"{manifest.get('corpus', corpus_dir.parent.name)} {manifest.get('version', corpus_dir.name)}"
    intro = (f"# {name}\n\nA medical image grounding corpus (image – region – phrase) with hierarchical "
             f"labels: {n_images} images, {result.metrics.get('rows_regions', 0)} regions, "
             f"{result.metrics.get('rows_findings', 0)} findings from {len(manifest.get('sources') or [])} "
             "public sources. Tables are Parquet (`tables/`), samples are WebDataset shards (`shards/`).\n\n"
             "```python\nfrom datasets import load_dataset\n"
             "regions = load_dataset(\"path/to/corpus\", \"regions\")\n```\n\n")
    description = (manifest.get("config") or {}).get("description")
    if description:
        intro += f"## About this build\n\n{str(description).strip()}\n\n"
    return (front_matter(corpus_dir, manifest, n_images) + "\n" + intro + sources_section(manifest)
            + construction_section(manifest) + statistics_section(result) + limitations_section(result)
            + figures_section(corpus_dir))


def write_card(corpus_dir: Path, result: AuditResult | None = None) -> Path:
    """Write README.md from the manifest and the audits (run now unless `result` is given)."""
    corpus_dir = Path(corpus_dir)
    result = result or run_audits(corpus_dir)
    path = corpus_dir / CARD
    path.write_text(render_card(corpus_dir, result))
    return path
