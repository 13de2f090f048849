"""Medical Segmentation Decathlon, in the layout of its task tarballs.

    ROOT/TaskXX_Name/dataset.json     name, modality {"0": "CT"} (or several MR sequences), labels
                                      {"0": "background", "1": ...}, training [{image, label}], test [..]
    ROOT/TaskXX_Name/imagesTr/*.nii.gz, labelsTr/*.nii.gz, imagesTs/*.nii.gz

ROOT may also be one task folder. Each volume becomes one item per slice along `axis` (x|y|z|all),
after reorientation to RAS (extractors.imaging.volume). Label volumes are read here, once per case,
to know which labels each slice holds: every present label value becomes a `nifti` mask annotation
labelled `<Task>:<value>` (names like "cancer" are ambiguous across tasks). Multi-sequence tasks
(BrainTumour, Prostate) ship 4D images: `channel` picks the sequence. dataset.json paths start
with "./" and macOS copies carry `._*` files: both handled. `imagesTr` cases are the public training
set ("trainval": split by patient here); `imagesTs` (no labels) is the challenge test set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from extractors.imaging.volume import expand_axes, load_canonical, orientation_hint, plan_slices, read_header
from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Source, SourceItem, SourceLoss, SourceParams
from schemas.errors import BadInput


class MsdParams(SourceParams):
    task: str | None = None  # e.g. "Task09_Spleen"; None: every Task* folder (or ROOT itself)
    axis: Literal["x", "y", "z", "all"] = "z"
    skip_empty_slices: bool = False  # keep only slices with a labelled voxel
    channel: int = 0  # sequence of a 4D multi-sequence task (key of dataset.json "modality")
    include_test: bool = False  # also the unlabelled imagesTs volumes


def _rel(entry: str) -> str:
    return entry[2:] if entry.startswith("./") else entry


@register_source
class MsdSource(Source):
    name = "sources.msd"
    title = "Medical Segmentation Decathlon"
    license = "CC-BY-SA-4.0"
    citation = (
        "Antonelli M, Reinke A, Bakas S, et al. The Medical Segmentation Decathlon. Nature "
        "Communications 2022;13:4128. Simpson AL, et al. arXiv:1902.09063."
    )
    homepage = "http://medicaldecathlon.com/"
    modalities = ("CT", "MR")
    Params = MsdParams
    params: MsdParams

    def task_dirs(self) -> list[Path]:
        if (self.root / "dataset.json").is_file():
            return [self.root]
        if self.params.task:
            return [self.root / self.params.task]
        return sorted(p for p in self.root.glob("Task*") if (p / "dataset.json").is_file())

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        for task_dir in self.task_dirs():
            yield from self.iter_task(task_dir)

    def iter_task(self, task_dir: Path) -> Iterator[SourceItem | SourceLoss]:
        task = task_dir.name
        prefix = "" if task_dir == self.root else f"{task}/"
        desc_ref = f"{prefix}dataset.json"
        try:
            desc = json.loads((task_dir / "dataset.json").read_text(encoding="utf-8", errors="replace"))
            modality = str(desc["modality"].get(str(self.params.channel), ""))
            labels = {int(k): str(v) for k, v in desc["labels"].items()}
        except (ValueError, KeyError, AttributeError) as err:
            yield SourceLoss(self.name, "image", desc_ref, "malformed_row", f"bad dataset.json ({type(err).__name__})")
            return
        cases: list[tuple[str, str | None, str, str]] = []
        for i, entry in enumerate(desc.get("training", [])):
            if not isinstance(entry, dict) or "image" not in entry:
                yield SourceLoss(self.name, "image", f"{desc_ref}#training[{i}]", "malformed_row", "bad entry")
                continue
            cases.append((_rel(entry["image"]), _rel(entry["label"]) if entry.get("label") else None,
                          f"{desc_ref}#training[{i}]", "trainval"))
        if self.params.include_test:
            cases += [(_rel(e), None, f"{desc_ref}#test[{i}]", "test") for i, e in enumerate(desc.get("test", []))]
        context = {"task": task, "prefix": prefix, "modality": modality, "labels": labels, "task_dir": task_dir}
        for image, label, ref, split in cases:
            if Path(image).name.startswith("._"):
                continue
            yield from self.iter_case(image, label, ref, split, context)

    def iter_case(self, image: str, label: str | None, ref: str, split: str,
                  ctx: dict[str, Any]) -> Iterator[SourceItem | SourceLoss]:
        task_dir: Path = ctx["task_dir"]
        image_rel, case = f"{ctx['prefix']}{image}", Path(image).name.removesuffix(".nii.gz")
        try:
            header = read_header(task_dir / image) if (task_dir / image).is_file() else None
        except BadInput as err:
            yield SourceLoss(self.name, "image", image_rel, err.kind, str(err))
            return
        if header is None:
            yield SourceLoss(self.name, "image", ref, "missing_file", "image volume named in dataset.json is absent")
            return
        mask, pending = None, []
        try:
            if label is not None:
                if read_header(task_dir / label).shape != header.shape:
                    raise BadInput("shape_mismatch", "label volume shape differs from the image's")
                mask = load_canonical(task_dir / label)[0]
        except BadInput as err:
            pending.append({"unit": "annotation", "ref": f"{ctx['prefix']}{label}", "kind": err.kind,
                           "message": str(err)})
        is_ct = ctx["modality"].upper() == "CT"
        for axis, idx, present in plan_slices(header.shape, expand_axes(self.params.axis), mask,
                                              self.params.skip_empty_slices and mask is not None):
            anns = [
                Annotation(
                    label=f"{ctx['task']}:{v}", ref=f"{ctx['prefix']}{label}#{axis}{idx}:{v}",
                    mask={"format": "nifti", "path": f"{ctx['prefix']}{label}", "values": [v], "axis": axis,
                          "index": idx, "name": ctx["labels"].get(v, str(v))},
                )
                for v in present
            ]
            errors, pending = pending, []
            yield SourceItem(
                source=self.name, key=f"{ctx['task']}/{case}_{axis}{idx:04d}", input_ref=image_rel,
                path=image_rel, format="nifti", root=str(self.root), patient=f"{ctx['task']}/{case}",
                study=f"{ctx['task']}/{case}", split=split, modality="CT" if is_ct else "MR",
                license=self.license, annotations=anns,
                meta={"slice_axis": axis, "slice_index": idx, "orientation": orientation_hint(axis),
                       "volume_key": f"{ctx['task']}/{case}",
                      "modality": "CT" if is_ct else "MR", "window_preset": "soft_tissue" if is_ct else None,
                      "channel": self.params.channel, "sequence": ctx["modality"],
                      "volume_shape": list(header.shape), "spacing_mm": list(header.zooms)},
                errors=errors,
            )
