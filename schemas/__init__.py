"""Arrow schemas of every medground table, column-name constants and the label ontology.

Imports nothing internal: every other package depends on this one.
"""

from schemas.tables import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION"]
