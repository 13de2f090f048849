"""CheXlocalize (Stanford AIMI), in the layout of its release:

    ROOT/CheXlocalize/gt_segmentations_val.json, gt_segmentations_test.json
        {"patient64541_study1_view1_frontal": {"Airspace Opacity": {"size": [h, w], "counts": "..."}, ...}}
    ROOT/CheXpert/val/patient64541/study1/view1_frontal.jpg, ROOT/CheXpert/test/...

One item per image of the JSON; each pathology whose COCO RLE mask is non-empty becomes a
`coco_rle` mask annotation and a present label (the JSON lists all ten pathologies per image, empty
masks included: an empty mask is an absent label). Masks are at the image's own size. The JSON's
`val` / `test` are the official splits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from pycocotools import mask as mask_utils

from pipelines.registry import register_source
from pipelines.sources.base import Annotation, Label, Source, SourceItem, SourceLoss, SourceParams

SPLITS = ("val", "test")


class ChexlocalizeParams(SourceParams):
    annotations_dir: str = "CheXlocalize"  # holding gt_segmentations_{val,test}.json
    images_dir: str = "CheXpert"  # holding {val,test}/patient*/study*/view*.jpg


def image_rel(images_dir: str, split: str, img_id: str) -> str | None:
    parts = img_id.split("_", 2)
    if len(parts) != 3 or not parts[0].startswith("patient") or not parts[1].startswith("study"):
        return None
    return f"{images_dir}/{split}/{parts[0]}/{parts[1]}/{parts[2]}.jpg"


@register_source
class ChexlocalizeSource(Source):
    name = "sources.chexlocalize"
    title = "CheXlocalize"
    license = "Stanford University School of Medicine CheXlocalize Dataset Research Use Agreement"
    citation = (
        "Saporta A, Gui X, Agrawal A, et al. Benchmarking saliency methods for chest X-ray interpretation. "
        "Nature Machine Intelligence 2022;4:867-878."
    )
    homepage = "https://stanfordaimi.azurewebsites.net/datasets/23c56a0d-15de-405b-87c8-99c30138950c"
    modalities = ("CR", "DX")
    Params = ChexlocalizeParams
    params: ChexlocalizeParams

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        for split in SPLITS:
            name = f"{self.params.annotations_dir}/gt_segmentations_{split}.json"
            if not (self.root / name).is_file():
                continue
            data = json.loads((self.root / name).read_text(encoding="utf-8", errors="replace"))
            for img_id in sorted(data):
                rel = image_rel(self.params.images_dir, split, img_id)
                if rel is None or not (self.root / rel).is_file():
                    yield SourceLoss(self.name, "image", f"{name}#{img_id}", "missing_file",
                                     "segmentations for an absent image")
                    continue
                yield self.make_item(img_id, rel, split, data[img_id], name)

    def make_item(self, img_id: str, rel: str, split: str, masks: dict[str, dict], name: str) -> SourceItem:
        anns, labels, errors = [], [], []
        for pathology in sorted(masks):
            rle = masks[pathology]
            ref = f"{name}#{img_id}/{pathology}"
            try:
                area = int(mask_utils.area({"size": rle["size"], "counts": rle["counts"].encode("ascii")}))
            except (KeyError, TypeError, AttributeError, ValueError):
                errors.append({"unit": "annotation", "ref": ref, "kind": "malformed_row", "message": "bad RLE"})
                continue
            labels.append(Label(label=pathology, ref=ref, certainty="present" if area else "absent"))
            if area:
                anns.append(Annotation(label=pathology, ref=ref, mask={"format": "coco_rle", "size": rle["size"],
                                                                       "counts": rle["counts"]}))
        patient, study = img_id.split("_")[:2]
        return SourceItem(source=self.name, key=img_id, input_ref=rel, path=rel, format="jpg", root=str(self.root),
                          patient=patient, study=f"{patient}_{study}", split=split, modality="CR",
                          view="frontal" if "frontal" in img_id else "lateral", body_part="CHEST",
                          license=self.license, labels=labels, annotations=anns, errors=errors)
