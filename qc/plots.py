"""The QC report's figures, drawn with matplotlib (Agg) from the audit tables, returned as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pyarrow as pa
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from schemas.ontology import load_ontology

PALETTE = ("#3b6ea5", "#e07b39", "#5aa469", "#c44e52", "#8172b2", "#937860")
plt.rcParams.update({"svg.hashsalt": "medground", "font.size": 9})


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def empty(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", color="#888")
    ax.set_axis_off()


def counts_per_source(counts: pa.Table) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 3))
    rows = counts.to_pylist()
    sources = sorted({r["source"] for r in rows})
    tables = ["images", "reports", "findings", "regions", "quarantine"]
    if not rows:
        empty(ax, "rows")
        return png(fig)
    width = 0.8 / len(tables)
    for i, tbl in enumerate(tables):
        values = [sum(r["n"] for r in rows if r["source"] == s and r["tbl"] == tbl) for s in sources]
        ax.bar([x + i * width for x in range(len(sources))], values, width, label=tbl, color=PALETTE[i])
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(sources))],
                  [s.removeprefix("sources.") for s in sources])
    ax.legend(ncols=len(tables), fontsize=7, loc="upper right")
    ax.set_ylabel("rows")
    return png(fig)


def label_hierarchy(dist: pa.Table) -> bytes:
    totals: dict[tuple[int, str], int] = {}
    for r in dist.to_pylist():
        if r["kind"] == "region":
            totals[(r["level"], r["code"])] = totals.get((r["level"], r["code"]), 0) + r["n"]
    onto = load_ontology()
    items = sorted(totals.items(), key=lambda kv: tuple(onto.path(kv[0][1])) if kv[0][1] in onto
                   else (kv[0][1],))[:40]
    fig, ax = plt.subplots(figsize=(7, max(2.0, 0.28 * len(items) + 0.6)))
    if not items:
        empty(ax, "labelled regions")
        return png(fig)
    labels = ["   " * level + code for (level, code), _ in items]
    ax.barh(range(len(items)), [n for _, n in items],
            color=[PALETTE[level % len(PALETTE)] for (level, _), _ in items])
    ax.set_yticks(range(len(items)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("regions (a region counts at every level of its code path)")
    return png(fig)


def mask_area(stats: pa.Table) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 3))
    by_origin: dict[str, list[float]] = {}
    for r in stats.to_pylist():
        if r["area_fraction"] is not None:
            by_origin.setdefault(r["origin"], []).append(r["area_fraction"])
    if not by_origin:
        empty(ax, "masks")
        return png(fig)
    for i, (origin, values) in enumerate(sorted(by_origin.items())):
        ax.hist(values, bins=20, range=(0, 1), alpha=0.6, label=origin, color=PALETTE[i % len(PALETTE)])
    ax.set_xlabel("mask area / image area")
    ax.set_ylabel("regions")
    ax.legend(fontsize=7)
    return png(fig)


def scores(stats: pa.Table) -> bytes:
    names = ("predicted_iou", "stability_score", "dice_vs_gt")
    fig, axes = plt.subplots(1, 3, figsize=(9, 2.6))
    for ax, name, color in zip(axes, names, PALETTE, strict=False):
        values = [v for v in stats.column(name).to_pylist() if v is not None]
        if values:
            ax.hist(values, bins=20, range=(0, 1), color=color)
            ax.set_title(name.replace("_", " "))
        else:
            empty(ax, name.replace("_", " "))
    return png(fig)


def dice_vs_qc(stats: pa.Table) -> bytes:
    """Where generated masks have ground truth: their Dice against each GT-free QC score (the
    chosen candidate's QC score, the model's predicted IoU and stability), with Spearman's rho."""
    names = ("qc_score", "predicted_iou", "stability_score")
    rows = [r for r in stats.to_pylist() if r["dice_vs_gt"] is not None and r["origin"] != "dataset_gt"]
    fig, axes = plt.subplots(1, 3, figsize=(9, 2.8))
    for ax, name, color in zip(axes, names, PALETTE, strict=False):
        pairs = [(r[name], r["dice_vs_gt"]) for r in rows if r.get(name) is not None]
        if len(pairs) < 2:
            empty(ax, f"GT with {name.replace('_', ' ')}")
            continue
        x, y = np.array(pairs, dtype=np.float64).T
        ax.scatter(x, y, s=8, alpha=0.6, color=color)
        ax.plot([0, 1], [0, 1], color="#bbb", lw=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel(name.replace("_", " "))
        ax.set_ylabel("Dice vs GT")
        ax.set_title(f"Spearman rho = {spearman(x, y):.2f} (n={len(pairs)})")
    return png(fig)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties); nan when either side is constant."""
    rx, ry = _ranks(np.asarray(x, np.float64)), _ranks(np.asarray(y, np.float64))
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x), dtype=np.float64)
    for v in np.unique(x):
        ranks[x == v] = ranks[x == v].mean()
    return ranks


def quarantine_reasons(reasons: pa.Table) -> bytes:
    rows = reasons.to_pylist()[:20]
    fig, ax = plt.subplots(figsize=(7, max(2.0, 0.3 * len(rows) + 0.6)))
    if not rows:
        empty(ax, "quarantined rows")
        return png(fig)
    labels = [f"{r['stage']}: {r['error_kind']} ({r['unit']}, {r['source'].removeprefix('sources.')})" for r in rows]
    ax.barh(range(len(rows)), [r["n"] for r in rows], color=PALETTE[3])
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("quarantined")
    return png(fig)


FIGURES: dict[str, tuple[str, Callable[[pa.Table], bytes]]] = {
    "counts_per_source": ("counts", counts_per_source),
    "label_hierarchy": ("label_distribution", label_hierarchy),
    "mask_area": ("mask_stats", mask_area),
    "scores": ("mask_stats", scores),
    "dice_vs_qc": ("mask_stats", dice_vs_qc),
    "quarantine_reasons": ("quarantine_reasons", quarantine_reasons),
}


def draw_figures(tables: dict[str, pa.Table]) -> dict[str, bytes]:
    """Every figure of the report, by name, as PNG bytes."""
    return {name: draw(tables[table]) for name, (table, draw) in FIGURES.items()}
