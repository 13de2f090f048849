"""`SourceItem.to_dict` is `dataclasses.asdict` (the plan's item JSON), copies included."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from pipelines.sources.base import Annotation, Label, SourceItem


def item() -> SourceItem:
    return SourceItem(
        source="sources.x", key="a.dcm", input_ref="a.dcm", path="a.dcm", format="dicom", root="/d",
        patient="p1", labels=[Label("Lung Opacity", "labels.csv:2")],
        annotations=[Annotation("Lung Opacity", "labels.csv:2", box_xywh=[1.0, 2.0, 3.0, 4.0],
                                mask={"format": "file", "path": Path("m.png"), "parts": [(1, 2)]})],
        report={"text": "No effusion.", "ref": "r.txt"}, meta={"size": (1024, 1024), "nested": {"k": [1]}},
        errors=[{"unit": "annotation", "ref": "labels.csv:3", "kind": "bad_box", "message": "w < 0"}],
    )


def test_to_dict_equals_asdict() -> None:
    it = item()
    assert it.to_dict() == asdict(it)
    assert type(it.to_dict()["meta"]["size"]) is tuple  # tuples stay tuples, as in asdict


def test_to_dict_copies_containers() -> None:
    it = item()
    d = it.to_dict()
    d["labels"][0]["label"] = "changed"
    d["annotations"][0]["box_xywh"][0] = -1.0
    d["meta"]["nested"]["k"].append(2)
    d["errors"].clear()
    assert it.labels[0].label == "Lung Opacity" and it.annotations[0].box_xywh == [1.0, 2.0, 3.0, 4.0]
    assert it.meta["nested"]["k"] == [1] and len(it.errors) == 1
