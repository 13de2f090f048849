"""`medground ontology …`: validate, show a node, map a label, diff two ontology versions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from schemas.ontology import Ontology, OntologyError, diff, load_ontology

ontology_app = typer.Typer(help="Inspect and check the label ontology.", no_args_is_help=True)
PathOption = Annotated[
    Path | None, typer.Option("--path", help="ontology root YAML or folder (default: the shipped one)")
]


def load_or_exit(path: Path | None) -> Ontology:
    try:
        return load_ontology(path)
    except OntologyError as err:
        typer.echo(f"ontology invalid: {len(err.problems)} problem(s)", err=True)
        for problem in err.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(1) from err
    except (OSError, ValueError) as err:
        typer.echo(f"cannot read ontology: {err}", err=True)
        raise typer.Exit(2) from err


@ontology_app.command("validate")
def validate_cmd(path: PathOption = None) -> None:
    """Load and check the ontology: cycles, synonym collisions, dangling parents/sites/label-map targets."""
    onto = load_or_exit(path)
    kinds = Counter(n.kind for n in onto.nodes.values())
    typer.echo(f"ontology {onto.version}: OK")
    typer.echo("nodes: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + f" (total {len(onto)})")
    typer.echo(f"surface forms: {len(onto.surface_forms())}")
    for source in onto.label_maps():
        labels = onto.label_map(source)
        dropped = sum(1 for c in labels.values() if c is None)
        typer.echo(f"label map {source}: {len(labels) - dropped} mapped, {dropped} dropped")
    typer.echo("label sets: " + ", ".join(onto.label_sets()))


@ontology_app.command("show")
def show_cmd(
    code: Annotated[str, typer.Argument(help="node code (or a name/synonym)")], path: PathOption = None
) -> None:
    """Show a node: path, children, synonyms, modalities, sites, implied findings, cross-codes."""
    onto = load_or_exit(path)
    resolved = code if code in onto else onto.lookup(code)
    if resolved is None:
        typer.echo(f"unknown code {code!r}", err=True)
        raise typer.Exit(1)
    node = onto.get(resolved)
    typer.echo(f"{node.code}: {node.name} [{node.kind}]")
    typer.echo("path: " + " > ".join(onto.path(node.code)))
    typer.echo("children: " + (", ".join(onto.children(node.code)) or "-"))
    typer.echo("synonyms: " + (", ".join(node.synonyms) or "-"))
    typer.echo("modalities: " + (", ".join(node.modalities) or "any"))
    typer.echo("sites: " + (", ".join(node.sites) or "-"))
    if node.laterality:
        typer.echo(f"laterality: {node.laterality}")
    if node.implies:
        implied = [c for c in onto.implied(node.code) if c not in onto.ancestors(node.code)]
        typer.echo("implies: " + ", ".join(implied))
    for key, value in node.xrefs.items():
        typer.echo(f"xref {key}: {', '.join(value) if isinstance(value, list) else value}")


@ontology_app.command("map")
def map_cmd(
    text: Annotated[str, typer.Argument(help="a label or phrase")],
    source: Annotated[str | None, typer.Option("--source", help="registered source name")] = None,
    path: PathOption = None,
) -> None:
    """Map a label to its best node and say which rule matched."""
    onto = load_or_exit(path)
    match = onto.map_label(text, source=source)
    if match is None:
        reason = onto.drop_reason(text, source) if source else None
        typer.echo(f"dropped by {source}: {reason}" if reason else f"no node for {text!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{match.code}\trule={match.rule}\tpath={' > '.join(onto.path(match.code))}")


@ontology_app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="old ontology root YAML or folder")],
    new: Annotated[Path, typer.Argument(help="new ontology root YAML or folder")],
) -> None:
    """What changed between two ontology versions (exit 0 either way)."""
    result = diff(load_or_exit(old), load_or_exit(new))
    for line in result.lines():
        typer.echo(line)
    if result.is_empty():
        typer.echo("no changes")


def register(app: typer.Typer) -> None:
    app.add_typer(ontology_app, name="ontology")
