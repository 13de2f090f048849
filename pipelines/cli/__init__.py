"""The `medground` command. Core commands live in pipelines/cli/core.py; each area's module exposes
`register(app)` and is mounted here."""

from __future__ import annotations

import importlib

import typer

AREA_MODULES = (
    "pipelines.cli.core",
    "pipelines.cli.ontology",
    "pipelines.cli.findings",
    "pipelines.cli.masks",
    "pipelines.cli.qc",
)

app = typer.Typer(
    name="medground",
    help="Build audited medical image grounding corpora (image - region - phrase) on Ray.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

for _name in AREA_MODULES:
    importlib.import_module(_name).register(app)  # every area module is part of the package


def main() -> None:
    app()
