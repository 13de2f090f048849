"""Write a tiny Medical Segmentation Decathlon copy in its real layout: two tasks, each
`TaskXX_Name/dataset.json` (the real keys: name, description, reference, licence, release,
tensorImageSize, modality, labels, numTraining, numTest, training, test) with `imagesTr/`,
`labelsTr/`, `imagesTs/`. Task03_Liver is CT (labels 1 liver, 2 cancer); Task01_BrainTumour is a 4D
multi-sequence MR task. Broken on purpose: a training entry of Task03_Liver whose image is absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.samples.volumes import add_ball, body_volume, write_nifti

SHAPE = (24, 20, 12)  # array order as written (LPS-like): rows, columns, slices
ZOOMS = (1.5, 1.5, 3.0)


@dataclass
class MsdSample:
    root: Path
    cases: dict[str, list[str]] = field(default_factory=dict)  # task → training case names
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # "Task/case" → label volume as written
    missing: list[str] = field(default_factory=list)  # dataset.json image paths with no file


def _desc(name: str, modality: dict[str, str], labels: dict[str, str], training: list[dict[str, str]],
          test: list[str]) -> dict[str, object]:
    return {
        "name": name.split("_", 1)[1],
        "description": f"{name} segmentation (medground sample, generated pixels)",
        "reference": "medground sample",
        "licence": "CC-BY-SA 4.0",
        "release": "1.0 04/05/2018",
        "tensorImageSize": "4D" if len(modality) > 1 else "3D",
        "modality": modality,
        "labels": labels,
        "numTraining": len(training),
        "numTest": len(test),
        "training": training,
        "test": test,
    }


def write_liver(root: Path, out: MsdSample, broken: bool) -> None:
    task = root / "Task03_Liver"
    training, names = [], []
    for i in range(2):
        case = f"liver_{i}"
        vol = body_volume(SHAPE, seed=30 + i, modality="CT")
        seg = np.zeros(SHAPE, np.uint8)
        add_ball(seg, (8 + i, 11, 4 + i), 4.0, 1)
        add_ball(seg, (9 + i, 12, 5 + i), 1.6, 2)
        write_nifti(task / "imagesTr" / f"{case}.nii.gz", vol, ZOOMS)
        write_nifti(task / "labelsTr" / f"{case}.nii.gz", seg, ZOOMS, dtype=np.uint8)
        training.append({"image": f"./imagesTr/{case}.nii.gz", "label": f"./labelsTr/{case}.nii.gz"})
        names.append(case)
        out.labels[f"Task03_Liver/{case}"] = seg
    if broken:
        training.append({"image": "./imagesTr/liver_9.nii.gz", "label": "./labelsTr/liver_9.nii.gz"})
        out.missing.append("Task03_Liver/imagesTr/liver_9.nii.gz")
    write_nifti(task / "imagesTs" / "liver_130.nii.gz", body_volume(SHAPE, seed=39), ZOOMS)
    out.cases["Task03_Liver"] = names
    labels = {"0": "background", "1": "liver", "2": "cancer"}
    (task / "dataset.json").write_text(json.dumps(
        _desc("Task03_Liver", {"0": "CT"}, labels, training, ["./imagesTs/liver_130.nii.gz"]), indent=4))


def write_brain(root: Path, out: MsdSample) -> None:
    task = root / "Task01_BrainTumour"
    case = "BRATS_001"
    seqs = np.stack([body_volume(SHAPE, seed=50 + c, modality="MR") * (1 + c) for c in range(4)], axis=-1)
    seg = np.zeros(SHAPE, np.uint8)
    add_ball(seg, (12, 10, 6), 4.0, 1)
    add_ball(seg, (12, 10, 6), 2.5, 2)
    add_ball(seg, (12, 10, 6), 1.2, 3)
    write_nifti(task / "imagesTr" / f"{case}.nii.gz", seqs, ZOOMS, dtype=np.float32)
    write_nifti(task / "labelsTr" / f"{case}.nii.gz", seg, ZOOMS, dtype=np.uint8)
    out.cases["Task01_BrainTumour"] = [case]
    out.labels[f"Task01_BrainTumour/{case}"] = seg
    modality = {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"}
    labels = {"0": "background", "1": "edema", "2": "non-enhancing tumor", "3": "enhancing tumour"}
    training = [{"image": f"./imagesTr/{case}.nii.gz", "label": f"./labelsTr/{case}.nii.gz"}]
    (task / "dataset.json").write_text(json.dumps(_desc("Task01_BrainTumour", modality, labels, training, []),
                                                  indent=4))


def write_msd_sample(root: Path, broken: bool = True) -> MsdSample:
    out = MsdSample(root)
    write_liver(root, out, broken)
    write_brain(root, out)
    return out
