"""The planner's compact items (pipelines/plan_items.py) and the streaming collect in pipelines/plan.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pipelines.config import parse_config
from pipelines.plan import build_plan, collect, full_row, plan_row, sample_row
from pipelines.plan_items import ItemStore, encode
from pipelines.plan_store import PLAN_COLUMNS
from pipelines.registry import register_source
from pipelines.sources.base import Label, Source, SourceItem, SourceLoss

# (key, report ref or None for a report of its own, or "-" for no report), in the order the source yields
STREAM = [("b.png", "study1.txt"), ("a.png", "study1.txt"), ("e.png", "-"), ("d.png", None),
          ("c.png", "study1.txt"), ("a.png", "-"), ("f.png", "study2.txt")]


@register_source
class SharedReportSource(Source):
    name = "sources.test_shared_reports"
    title = "images sharing study reports, in unsorted order, one key twice (tests)"
    license = "none (generated)"
    citation = ""

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        yield SourceLoss(self.name, "label", "labels.csv:1", "malformed_row", "bad row")
        for key, ref in STREAM:
            report = None if ref == "-" else {"text": f"report of {ref or key}", **({"ref": ref} if ref else {})}
            yield SourceItem(source=self.name, key=key, input_ref=key, path=key, format="png", root=str(self.root),
                             patient=key[0], labels=[Label("Effusion", f"labels.csv:{key}")], report=report)


def config(root: Path) -> dict[str, object]:
    return {"corpus": "t", "salt": "s", "shard_size": 2, "scan": {"enabled": False},
            "sources": [{"name": SharedReportSource.name, "params": {"root": str(root)}}],
            "stages": [{"name": "ingest.decode"}]}


def test_item_store_holds_json_text_and_gives_copies() -> None:
    items = ItemStore()
    items["s:z"] = {"key": "z", "meta": {"view": "PA"}, "labels": []}
    assert items.pop_text("s:z") == encode({"labels": [], "meta": {"view": "PA"}, "key": "z"})  # sorted keys
    items["s:a"] = {"key": "a", "meta": {"view": "PA"}, "labels": []}
    got = items["s:a"]
    got["meta"]["view"] = "AP"
    assert items["s:a"]["meta"]["view"] == "PA"  # a value is a copy until stored back
    items["s:a"] = got
    assert items["s:a"]["meta"]["view"] == "AP"
    items["s:b"] = {"key": "b"}
    assert list(items) == ["s:a", "s:b"] and len(items) == 2 and "s:b" in items and "s:c" not in items
    assert json.loads(items.pop_text("s:b")) == {"key": "b"} and "s:b" not in items


def test_collect_marks_one_anchor_per_report_and_counts_reports_once(tmp_path: Path) -> None:
    items, losses, inputs, _ = collect(parse_config(config(tmp_path)))
    name = SharedReportSource.name
    assert list(items) == [f"{name}:{k}" for k in ("b.png", "a.png", "e.png", "d.png", "c.png", "f.png")]
    anchors = {items[k]["key"]: items[k]["report"]["anchor"] for k in items if items[k]["report"]}
    # the first image by key holds a shared report, whatever order the source gave; an unshared one is its own
    assert anchors == {"a.png": True, "b.png": False, "c.png": False, "d.png": True, "f.png": True}
    assert [(x.unit, x.kind, x.message) for x in losses] == [("label", "malformed_row", "bad row"),
                                                             ("image", "malformed_row", "duplicate key")]
    assert inputs[name] == {"image": 7, "annotation": 0, "label": 7, "report": 3}  # 6 kept + the duplicate
    assert all(items[k]["dup_group"] is None for k in items)
    first = items["sources.test_shared_reports:a.png"]
    assert first["report"]["text"] == "report of study1.txt"  # the first a.png, not the duplicate key


def test_plan_rows_are_narrow_and_hold_the_items_canonical_json(tmp_path: Path) -> None:
    plan = build_plan(parse_config(config(tmp_path)), "s")
    rows = [r for shard in plan.shards.values() for r in shard]
    assert len(rows) == 6
    for r in rows:
        assert set(r) == set(PLAN_COLUMNS)  # cut_shards took the split; no stage-output keys
        assert r["item"] == json.dumps(json.loads(r["item"]), sort_keys=True)
    item = json.loads(rows[0]["item"])
    assert full_row(plan_row(item, "train")) == sample_row(item, "train")
    assert set(full_row(rows[0])) == {"sample_key", "shard", "status", "item", "image_png", "image", "reports",
                                      "findings", "regions", "groundings", "quarantine"}
