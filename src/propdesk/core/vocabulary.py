"""Classification vocabulary: the rules tables that say which words mean what.

CONTRACT (owned by the classification work; the rules loader in ``propdesk.core.rules`` calls it):

- ``VOCABULARY_TABLES``: the top-level table names of ``rules/vocabulary.toml`` this module owns.
- ``parse_vocabulary(tables, source_of)``: validate those tables (after the ops override replaced
  whole tables) and build an immutable ``Vocabulary``; ``source_of(table)`` names the file a table
  came from, for ``RulesError`` messages ("<file>: [table] entry: what is wrong").

This first version only carries the tables through; the classification issue replaces it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

VOCABULARY_TABLES: frozenset[str] = frozenset({"categories"})


@dataclass(frozen=True)
class Vocabulary:
    """Validated vocabulary tables."""

    tables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def parse_vocabulary(tables: Mapping[str, Any], source_of: Callable[[str], str]) -> Vocabulary:
    """Validate and freeze the vocabulary tables."""
    del source_of
    return Vocabulary(MappingProxyType(dict(tables)))
