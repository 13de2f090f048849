"""CT-RATE chest CT volumes with reports and labels, plus ReXGroundingCT-style finding masks.

    ROOT/dataset/{train,valid}/<p>/<p>_<s>/<p>_<s>_<r>.nii.gz        e.g. train_1/train_1_a/train_1_a_1.nii.gz
    ROOT/dataset/radiology_text_reports/{train,validation}_reports.csv
        VolumeName,ClinicalInformation_EN,Technique_EN,Findings_EN,Impressions_EN
    ROOT/dataset/multi_abnormality_labels/{train,valid}_predicted_labels.csv   VolumeName + 18 columns of 0/1
    ROOT/dataset/metadata/{train,validation}_metadata.csv   VolumeName,...,RescaleIntercept,RescaleSlope,...
    ROOT/ReXGroundingCT/dataset.json    {"train"|"val": [{"name": VolumeName, "findings": {"0": text |
                                        {"text", "category"}}}]}
    ROOT/ReXGroundingCT/segmentations/<VolumeName>   one channel per finding (4D), or label k+1 (3D)

CT-RATE's NIfTI files hold stored values: `meta["rescale"]` carries the metadata CSV's slope and
intercept so decoding yields HU. Each volume becomes one item per slice along `axis`; the report and
the volume-level labels ride on one anchor slice per volume (the middle one, or the first kept), so
each is counted and extracted once. Finding masks become `nifti` annotations with the finding text
as the dataset phrase, labelled with its category when the JSON gives one. Volume names give the
patient (`train_1`) and study (`train_1_a`); `train` / `valid` are the official splits.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from extractors.imaging.volume import expand_axes, load_canonical, orientation_hint, plan_slices, read_header
from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Label, Source, SourceItem, SourceLoss, SourceParams
from schemas.errors import BadInput

SPLITS = {"train": ("train", "train", "train"), "valid": ("val", "validation", "valid")}  # dir: split, csv names
REPORT_COLUMNS = ("ClinicalInformation_EN", "Technique_EN", "Findings_EN", "Impressions_EN")


class CtRateParams(SourceParams):
    axis: Literal["x", "y", "z", "all"] = "z"
    skip_empty_slices: bool = False  # keep only slices with a finding mask (volumes with masks only)
    masks_dir: str = "ReXGroundingCT"
    window_preset: Literal["soft_tissue", "lung", "mediastinum"] = "lung"


def read_csv_by_volume(path: Path) -> dict[str, tuple[dict[str, str], str]]:
    out: dict[str, tuple[dict[str, str], str]] = {}
    if path.is_file():
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            for lineno, row in enumerate(csv.DictReader(fh), start=2):
                out[(row.get("VolumeName") or "").strip()] = (row, f"{path.parent.name}/{path.name}:{lineno}")
    return out


@register_source
class CtRateSource(Source):
    name = "sources.ct_rate"
    title = "CT-RATE (with ReXGroundingCT finding masks)"
    license = "CC-BY-NC-SA-4.0"
    citation = (
        "Hamamci IE, Er S, Almas F, et al. Developing Generalist Foundation Models from a Multimodal "
        "Dataset for 3D Computed Tomography. arXiv:2403.17834. Baharoon M, et al. ReXGroundingCT: A 3D "
        "Chest CT Dataset for Segmentation of Findings from Free-Text Reports. arXiv:2507.22030."
    )
    homepage = "https://huggingface.co/datasets/ibrahimhamamci/CT-RATE"
    modalities = ("CT",)
    Params = CtRateParams
    params: CtRateParams

    def read_findings(self) -> dict[str, list[tuple[str, str | None]]]:
        path = self.root / self.params.masks_dir / "dataset.json"
        if not path.is_file():
            return {}
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        out: dict[str, list[tuple[str, str | None]]] = {}
        for entries in data.values():
            for e in entries:
                found = []
                for _k, v in sorted(e.get("findings", {}).items(), key=lambda kv: int(kv[0])):
                    found.append((v["text"], v.get("category")) if isinstance(v, dict) else (str(v), None))
                out[str(e["name"]).removesuffix(".nii.gz")] = found
        return out

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        findings = self.read_findings()
        ds = self.root / "dataset"
        for folder, (split, long_name, short_name) in SPLITS.items():
            tables = {
                "reports": read_csv_by_volume(ds / "radiology_text_reports" / f"{long_name}_reports.csv"),
                "labels": read_csv_by_volume(ds / "multi_abnormality_labels" / f"{short_name}_predicted_labels.csv"),
                "meta": read_csv_by_volume(ds / "metadata" / f"{long_name}_metadata.csv"),
            }
            for path in sorted((ds / folder).glob("*/*/*.nii.gz")):
                yield from self.iter_volume(path, split, tables, findings)

    def iter_volume(self, path: Path, split: str, tables: dict[str, Any],
                    findings: dict[str, list[tuple[str, str | None]]]) -> Iterator[SourceItem | SourceLoss]:
        rel = path.relative_to(self.root).as_posix()
        volume = path.name.removesuffix(".nii.gz")
        parts = volume.split("_")
        try:
            header = read_header(path)
        except BadInput as err:
            yield SourceLoss(self.name, "image", rel, err.kind, str(err))
            return
        mask_rel = f"{self.params.masks_dir}/segmentations/{path.name}"
        texts = findings.get(volume, [])
        mask, pending = None, []
        if texts:
            try:
                mhead = read_header(self.root / mask_rel)
                if mhead.shape != header.shape:
                    raise BadInput("shape_mismatch", "finding mask shape differs from the volume's")
                mask = load_canonical(self.root / mask_rel)[0]
            except BadInput as err:
                pending.append({"unit": "annotation", "ref": mask_rel, "kind": err.kind, "message": str(err)})
        meta_row = tables["meta"].get(volume, ({}, ""))[0]
        rescale = _rescale(meta_row)
        slices = plan_slices(header.shape, expand_axes(self.params.axis), mask,
                             self.params.skip_empty_slices and mask is not None)
        axis0 = slices[0][0] if slices else "z"
        mid = header.shape["xyz".index(axis0)] // 2
        anchor = min(slices, key=lambda s: (s[0] != axis0, abs(s[1] - mid)), default=None)
        for axis, idx, present in slices:
            is_anchor = (axis, idx, present) == anchor
            errors, pending = pending, []
            yield SourceItem(
                source=self.name, key=f"{volume}_{axis}{idx:04d}", input_ref=rel, path=rel, format="nifti",
                root=str(self.root), patient="_".join(parts[:2]), study="_".join(parts[:3]), split=split,
                modality="CT", body_part="CHEST", license=self.license,
                labels=self.labels(tables["labels"].get(volume)) if is_anchor else [],
                annotations=[self.finding(mask_rel, axis, idx, v, texts, mask) for v in present if v <= len(texts)],
                report=self.report(tables["reports"].get(volume)) if is_anchor else None,
                meta={"slice_axis": axis, "slice_index": idx, "orientation": orientation_hint(axis),
                       "volume_key": volume, "modality": "CT",
                      "window_preset": self.params.window_preset, "rescale": rescale, "volume_anchor": is_anchor,
                      "volume_shape": list(header.shape), "spacing_mm": list(header.zooms)},
                errors=errors,
            )

    def finding(self, mask_rel: str, axis: str, idx: int, value: int, texts: list[tuple[str, str | None]],
                mask: Any) -> Annotation:
        text, category = texts[value - 1]
        ref = {"format": "nifti", "path": mask_rel, "axis": axis, "index": idx}
        ref.update({"channel": value - 1} if mask.ndim == 4 else {"values": [value]})
        return Annotation(label=category or text, ref=f"{mask_rel}#finding{value - 1}:{axis}{idx}", mask=ref,
                          phrase=text)

    def labels(self, row: tuple[dict[str, str], str] | None) -> list[Label]:
        if row is None:
            return []
        values, ref = row
        out = []
        for col, v in values.items():
            if col != "VolumeName" and v.strip() in ("0", "1", "0.0", "1.0"):
                out.append(Label(label=col, ref=f"{ref}#{col}",
                                 certainty="present" if float(v) == 1.0 else "absent"))
        return out

    def report(self, row: tuple[dict[str, str], str] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        values, ref = row
        heads = {"ClinicalInformation_EN": "CLINICAL INFORMATION", "Technique_EN": "TECHNIQUE",
                 "Findings_EN": "FINDINGS", "Impressions_EN": "IMPRESSION"}
        text = "\n".join(f"{heads[c]}: {values[c].strip()}" for c in REPORT_COLUMNS if (values.get(c) or "").strip())
        return {"text": text, "ref": ref} if text else None


def _rescale(row: dict[str, str]) -> list[float] | None:
    try:
        return [float(row["RescaleSlope"]), float(row["RescaleIntercept"])]
    except (KeyError, ValueError):
        return None
