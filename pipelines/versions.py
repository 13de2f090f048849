"""Code, schema, ontology and library versions recorded in every manifest."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from schemas.tables import SCHEMA_VERSION

LIBRARIES = ("ray", "pyarrow", "pydicom", "pycocotools", "spacy", "duckdb", "webdataset")


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    from schemas.ontology import load_ontology

    out = {"code": _version("medground"), "schema": SCHEMA_VERSION, "ontology": load_ontology().version}
    out.update({lib: _version(lib) for lib in LIBRARIES})
    return out
