from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np

from extractors.imaging.annotations import decode_annotation_mask
from pipelines.samples.siim_acr import write_siim_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.siim_acr import SiimAcrParams, SiimAcrSource


def read(root: Path, **kw: object) -> tuple[list[SourceItem], list[SourceLoss]]:
    recs = list(SiimAcrSource(SiimAcrParams(root=root, **kw)).items())
    return [r for r in recs if isinstance(r, SourceItem)], [r for r in recs if isinstance(r, SourceLoss)]


def test_rle_rows_labels_masks_and_broken_rows(tmp_path: Path) -> None:
    sample = write_siim_sample(tmp_path / "siim")
    assert (sample.root / "train-rle.csv").read_text().startswith("ImageId, EncodedPixels\n")
    items, losses = read(sample.root)
    assert [x.key for x in items] == sample.image_ids
    assert [(lo.kind, lo.unit) for lo in losses] == [("missing_file", "annotation")]
    # image 1 has a -1 row and a malformed row: a non-empty row still says pneumothorax, its mask is lost
    assert [x.labels[0].label for x in items] == ["Pneumothorax", "Pneumothorax", "Pneumothorax", "No Pneumothorax"]
    assert [len(x.annotations) for x in items] == [1, 0, 2, 0]
    assert [e["ref"] for e in items[1].errors] == sample.bad_rows
    first = items[0]
    assert first.path.startswith("dicom-images-train/") and first.path.endswith(f"/{first.key}.dcm")
    assert first.path.count("/") == 3 and first.format == "dicom"
    for item in items:
        for ann, truth in zip(item.annotations, sample.masks[item.key], strict=True):
            np.testing.assert_array_equal(decode_annotation_mask(ann.mask, sample.root, 256, 256), truth)


def test_unlabelled_and_reference_size(tmp_path: Path) -> None:
    sample = write_siim_sample(tmp_path / "siim", broken=False)
    test_dir = sample.root / "dicom-images-test" / "s" / "r"
    test_dir.mkdir(parents=True)
    shutil.copy(sample.root / items_path(sample.root), test_dir / "1.2.3.4.dcm")
    items, _ = read(sample.root, include_unlabelled=True, mask_reference_size=1024)
    assert items[-1].key == "1.2.3.4" and items[-1].split == "test" and not items[-1].labels
    assert items[0].annotations[0].mask["reference_size"] == [1024, 1024]


def items_path(root: Path) -> str:
    return next(root.glob("dicom-images-train/*/*/*.dcm")).relative_to(root).as_posix()


def test_real_rle_file(shared_datasets: Path, tmp_path: Path) -> None:
    root = tmp_path / "siim"
    root.mkdir()
    shutil.copy(shared_datasets / "layouts/siim_train-rle.head100.csv", root / "train-rle.csv")
    with open(root / "train-rle.csv", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    ids = list(dict.fromkeys(r[0] for r in rows))
    for k, image_id in enumerate(ids):
        folder = root / "dicom-images-train" / f"st{k}" / f"se{k}"
        folder.mkdir(parents=True)
        (folder / f"{image_id}.dcm").write_bytes(b"")  # the source only lists files
    shutil.copy(shared_datasets / f"images/siim_{ids[0]}.dcm", root / items_path(root))
    items, losses = read(root)
    assert not losses and [x.key for x in items] == ids
    assert sum(len(x.annotations) for x in items) == sum(1 for r in rows if r[1].strip() != "-1")
    assert items[0].labels[0].label == "No Pneumothorax"  # the real DICOM's row is -1
    pos = next(x for x in items if x.annotations)
    mask = decode_annotation_mask(pos.annotations[0].mask, root, 1024, 1024)
    assert int(mask.sum()) == sum(int(v) for v in pos.annotations[0].mask["counts"].split()[1::2])
