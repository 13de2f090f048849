"""`qc/report.html`: one self-contained page (inline CSS, plots and thumbnails as base64 PNG).

Everything on it comes from the audit tables and the written corpus. The figures are also written
as qc/figures/<name>.png so the dataset card can show them.
"""

from __future__ import annotations

import base64
import html
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

import pyarrow as pa

from qc.audits import AuditResult, run_audits
from qc.corpus import connect, qc_dir, read_manifest
from qc.gates import GateResult
from qc.plots import draw_figures
from qc.thumbs import Thumbnail, sample_thumbnails

REPORT = "report.html"
TILES = (("images", "rows_images"), ("regions", "rows_regions"), ("findings", "rows_findings"),
         ("quarantined", "quarantined"), ("leakage", "leakage"), ("PHI hits", "phi_hits"),
         ("violation rate", "violation_rate"), ("mean Dice vs GT", "mean_dice_vs_gt"))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def html_table(table: pa.Table, limit: int = 50) -> str:
    if table.num_rows == 0:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.column_names)
    body = []
    for row in table.slice(0, limit).to_pylist():
        cells = []
        for v in row.values():
            css = ' class="bad"' if v is False else (' class="ok"' if v is True else "")
            cells.append(f"<td{css}>{fmt(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def tiles(metrics: dict[str, Any]) -> str:
    return "".join(f'<div class="tile"><b>{fmt(metrics.get(key))}</b>{html.escape(label)}</div>'
                   for label, key in TILES)


def gates_html(gates: list[GateResult] | None) -> str:
    if not gates:
        return "<p>no gates evaluated</p>"
    rows = [{"gate": g.gate, "value": g.value, "threshold": g.threshold, "passed": g.passed} for g in gates]
    return html_table(pa.Table.from_pylist(rows))


def thumbnails_html(thumbs: list[Thumbnail]) -> str:
    if not thumbs:
        return "<p>no masks to show</p>"
    out = []
    for t in thumbs:
        tag = '<span class="worst">worst</span> · ' if t.worst else ""
        out.append(f'<figure><img alt="{html.escape(t.region_id)}" src="data:image/png;base64,{b64(t.png)}">'
                   f"<figcaption><b>{html.escape(t.code)}</b><br>{html.escape(t.phrase)}<br>"
                   f"{tag}{html.escape(t.origin)} · score {fmt(t.score)}</figcaption></figure>")
    return "".join(out)


def render_report(corpus_dir: Path, result: AuditResult, gates: list[GateResult] | None = None) -> str:
    manifest = read_manifest(corpus_dir)
    figures = draw_figures(result.tables)
    fig_dir = qc_dir(corpus_dir) / "figures"
    fig_dir.mkdir(exist_ok=True)
    for name, data in figures.items():
        (fig_dir / f"{name}.png").write_bytes(data)
    versions = manifest.get("versions") or {}
    template = Template(files("qc").joinpath("templates/report.html").read_text())
    return template.substitute(
        title=html.escape(f"{manifest.get('corpus', corpus_dir.parent.name)} "
                          f"{manifest.get('version', corpus_dir.name)}"),
        subtitle=html.escape(", ".join(f"{k} {v}" for k, v in sorted(versions.items()))),
        tiles=tiles(result.metrics),
        gates=gates_html(gates),
        accounting=html_table(result.tables["accounting"]),
        quarantine=html_table(result.tables["quarantine_reasons"]),
        thumbnails=thumbnails_html(sample_thumbnails(connect(corpus_dir), corpus_dir)),
        **{f"fig_{name}": b64(data) for name, data in figures.items()},
    )


def write_report(corpus_dir: Path, result: AuditResult | None = None,
                 gates: list[GateResult] | None = None) -> Path:
    """Write qc/report.html (and qc/figures/*.png); audits run now unless `result` is given."""
    corpus_dir = Path(corpus_dir)
    result = result or run_audits(corpus_dir)
    path = qc_dir(corpus_dir) / REPORT
    path.write_text(render_report(corpus_dir, result, gates))
    return path
