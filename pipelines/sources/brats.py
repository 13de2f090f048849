"""BraTS (2021 layout; 2023 naming accepted), one folder per case:

    ROOT/BraTS2021_00000/BraTS2021_00000_{t1,t1ce,t2,flair,seg}.nii.gz
    ROOT/BraTS-GLI-00000-000/BraTS-GLI-00000-000-{t1n,t1c,t2w,t2f,seg}.nii.gz     (2023)

The four co-registered sequences of a case become one item per slice along `axis`; the item's
image is `sequence` (default FLAIR) and `meta["channels"]` points at every sequence's file, so a
consumer can stack them. Labels 1 (necrotic tumour core), 2 (peritumoral edema) and 4 (enhancing
tumour; 3 in 2023) become `brats:<v>` / `brats2023:<v>` masks, and the challenge's evaluation
regions are added where present: `TC` (tumour core: 1+4) and `WT` (whole tumour: 1+2+4), the parents
of the sub-regions in the ontology. Validation cases ship without `seg`: images only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from extractors.imaging.volume import expand_axes, load_canonical, orientation_hint, plan_slices, read_header
from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Source, SourceItem, SourceLoss, SourceParams
from schemas.errors import BadInput

SEQUENCES_2021 = {"t1": "t1", "t1ce": "t1ce", "t2": "t2", "flair": "flair"}
SEQUENCES_2023 = {"t1": "t1n", "t1ce": "t1c", "t2": "t2w", "flair": "t2f"}
CASE = re.compile(r"^(BraTS20\d\d_\d{5}|BraTS-[A-Z]+-\d{5}-\d{3})$")


class BratsParams(SourceParams):
    axis: Literal["x", "y", "z", "all"] = "z"
    sequence: Literal["t1", "t1ce", "t2", "flair"] = "flair"
    skip_empty_slices: bool = False
    composite_regions: bool = True  # also emit TC and WT masks


@register_source
class BratsSource(Source):
    name = "sources.brats"
    title = "BraTS: Brain Tumor Segmentation Challenge"
    license = "BraTS challenge data-use terms (research use; cite the challenge papers)"
    citation = (
        "Baid U, Ghodasara S, Mohan S, et al. The RSNA-ASNR-MICCAI BraTS 2021 Benchmark on Brain Tumor "
        "Segmentation and Radiogenomic Classification. arXiv:2107.02314. Menze BH, et al. IEEE TMI 2015."
    )
    homepage = "https://www.synapse.org/brats"
    modalities = ("MR",)
    Params = BratsParams
    params: BratsParams

    def case_dirs(self) -> list[Path]:
        found = [p for p in self.root.rglob("*") if p.is_dir() and CASE.match(p.name)]
        return sorted(found, key=lambda p: p.relative_to(self.root).as_posix())

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        for case_dir in self.case_dirs():
            yield from self.iter_case(case_dir)

    def iter_case(self, case_dir: Path) -> Iterator[SourceItem | SourceLoss]:
        case = case_dir.name
        is_2023 = case.startswith("BraTS-")
        names = SEQUENCES_2023 if is_2023 else SEQUENCES_2021
        sep = "-" if is_2023 else "_"
        rel_dir = case_dir.relative_to(self.root).as_posix()
        channels = {k: f"{rel_dir}/{case}{sep}{v}.nii.gz" for k, v in names.items()}
        seg_rel = f"{rel_dir}/{case}{sep}seg.nii.gz"
        image_rel = channels[self.params.sequence]
        missing = [k for k, rel in channels.items() if not (self.root / rel).is_file()]
        if self.params.sequence in missing:
            yield SourceLoss(self.name, "image", image_rel, "missing_file", "the case lacks its image sequence")
            return
        try:
            header = read_header(self.root / image_rel)
        except BadInput as err:
            yield SourceLoss(self.name, "image", image_rel, err.kind, str(err))
            return
        mask, pending = None, []
        if (self.root / seg_rel).is_file():
            try:
                if read_header(self.root / seg_rel).shape != header.shape:
                    raise BadInput("shape_mismatch", "seg volume shape differs from the image's")
                mask = load_canonical(self.root / seg_rel)[0]
            except BadInput as err:
                pending.append({"unit": "annotation", "ref": seg_rel, "kind": err.kind, "message": str(err)})
        prefix = "brats2023" if is_2023 else "brats"
        for axis, idx, present in plan_slices(header.shape, expand_axes(self.params.axis), mask,
                                              self.params.skip_empty_slices and mask is not None):
            errors, pending = pending, []
            yield SourceItem(
                source=self.name, key=f"{case}_{axis}{idx:04d}", input_ref=image_rel, path=image_rel,
                format="nifti", root=str(self.root), patient=case, study=case, split="trainval",
                modality="MR", body_part="BRAIN", license=self.license,
                annotations=self.annotations(seg_rel, axis, idx, present, prefix, et=3 if is_2023 else 4),
                meta={"slice_axis": axis, "slice_index": idx, "orientation": orientation_hint(axis),
                       "volume_key": case, "modality": "MR",
                      "window_preset": None, "sequence": self.params.sequence,
                      "channels": {k: v for k, v in channels.items() if k not in missing},
                      "missing_channels": missing, "volume_shape": list(header.shape),
                      "spacing_mm": list(header.zooms)},
                errors=errors,
            )

    def annotations(self, seg_rel: str, axis: str, idx: int, present: list[int], prefix: str,
                    et: int) -> list[Annotation]:
        def ann(label: str, values: list[int]) -> Annotation:
            return Annotation(label=label, ref=f"{seg_rel}#{axis}{idx}:{label}",
                              mask={"format": "nifti", "path": seg_rel, "values": values, "axis": axis,
                                    "index": idx})

        out = [ann(f"{prefix}:{v}", [v]) for v in present]
        if self.params.composite_regions:
            if {1, et} & set(present):
                out.append(ann("TC", [1, et]))
            if {1, 2, et} & set(present):
                out.append(ann("WT", [1, 2, et]))
        return out
