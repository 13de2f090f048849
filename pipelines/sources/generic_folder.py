"""A folder of images with optional masks paired by file-name pattern: a dataset we do not know yet
needs only config.

    params:  images: "images/*.png"                 glob under ROOT (png, jpg, jpeg, dcm)
             masks: "masks/{parent}/{stem}_mask.png"   pattern; the image's {stem}, {name}, {parent}
                                                   (folder name) and {dir} (folder path under ROOT)
             label_map: {1: "liver", 2: "liver tumour"}   mask value → label (ontology names/synonyms)
             split_from_path: true                  a path part named train / val / valid / test

With one entry in `label_map`, every mask becomes one annotation without reading it; with several,
each mask file is read once (2D) to emit only the values it holds. An image whose mask is missing keeps
its place and reports the missing mask.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from pydantic import Field, field_validator

from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Source, SourceItem, SourceLoss, SourceParams

FORMATS = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".dcm": "dicom", ".dicom": "dicom"}
SPLIT_WORDS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
               "test": "test", "testing": "test"}


class GenericFolderParams(SourceParams):
    images: str = "images/*.png"
    masks: str | None = "masks/{stem}.png"
    label_map: dict[int, str] = Field(default_factory=lambda: {255: "lesion"})
    modality: str | None = None
    body_part: str | None = None
    split_from_path: bool = False
    masks_required: bool = False  # an image without a mask is then reported and skipped

    @field_validator("images")
    @classmethod
    def _known_suffix(cls, v: str) -> str:
        if Path(v).suffix.lower() not in FORMATS:
            raise ValueError(f"images glob must end in one of {sorted(FORMATS)}")
        return v


@register_source
class GenericFolderSource(Source):
    name = "sources.generic_folder"
    title = "Generic image/mask folder"
    license = "as stated by the dataset's owner (set in the corpus config's card metadata)"
    citation = "as stated by the dataset's owner"
    homepage = ""
    modalities = ()
    Params = GenericFolderParams
    params: GenericFolderParams

    def mask_rel(self, image: Path) -> str | None:
        if not self.params.masks:
            return None
        rel = image.relative_to(self.root)
        return self.params.masks.format(stem=image.name.split(".")[0], name=image.name, parent=rel.parent.name,
                                        dir=rel.parent.as_posix())

    def split_of(self, rel: str) -> str | None:
        if not self.params.split_from_path:
            return None
        for part in Path(rel).parts[:-1]:
            if part.lower() in SPLIT_WORDS:
                return SPLIT_WORDS[part.lower()]
        return None

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        for image in sorted(self.root.glob(self.params.images)):
            rel = image.relative_to(self.root).as_posix()
            mask_rel = self.mask_rel(image)
            anns, errors = [], []
            if mask_rel is not None and not (self.root / mask_rel).is_file():
                if self.params.masks_required:
                    yield SourceLoss(self.name, "image", rel, "missing_file", "image has no mask")
                    continue
                errors.append({"unit": "annotation", "ref": mask_rel, "kind": "missing_file",
                               "message": "image has no mask"})
            elif mask_rel is not None:
                for value in self.values_in(mask_rel):
                    anns.append(Annotation(label=self.params.label_map[value], ref=f"{mask_rel}#{value}",
                                           mask={"format": "png", "path": mask_rel, "value": value}))
            stem = image.name.split(".")[0]
            yield SourceItem(source=self.name, key=rel, input_ref=rel, path=rel,
                             format=FORMATS[image.suffix.lower()], root=str(self.root), patient=stem, study=stem,
                             split=self.split_of(rel), modality=self.params.modality,
                             body_part=self.params.body_part, annotations=anns, errors=errors)

    def values_in(self, mask_rel: str) -> list[int]:
        wanted = sorted(self.params.label_map)
        if len(wanted) == 1:
            return wanted
        arr = cv2.imread(str(self.root / mask_rel), cv2.IMREAD_UNCHANGED)
        if arr is None:
            return wanted  # unreadable: the decode stage reports it per annotation
        present = set(np.unique(arr).tolist())
        return [v for v in wanted if v in present]
