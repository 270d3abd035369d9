"""Rules as data: the package's default rules plus the ops override, loaded and validated once.

Two default files ship in ``propdesk/rules/``: ``policy.toml`` (assignment, SLA, escalation...,
validated by ``propdesk.core.policy``) and ``vocabulary.toml`` (classification words, validated by
``propdesk.core.vocabulary``). The ops override named in the config **replaces each top-level
table it defines, as a whole, and keeps the defaults for the tables it omits**. A whole-table
replace (not a deep merge) is deliberate: ops can see exactly what is in force by reading one
table, and cannot half-delete a list.

The only I/O here is reading those files; everything after that is pure validation. Any problem
is one ``RulesError`` naming the file, table and entry, raised at start so a broken override never
reaches the loop.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from propdesk.core.conversation_rules import (
    CONVERSATION_TABLES,
    ConversationRules,
    parse_conversation,
)
from propdesk.core.deadlines import TABLE as STATUTE_TABLE
from propdesk.core.deadlines import Jurisdiction, parse_jurisdictions
from propdesk.core.policy import POLICY_TABLES, Policy, parse_policy
from propdesk.core.safety import SAFETY_TABLE, SYSTEMS_TABLE, SafetyList, parse_safety
from propdesk.core.triage_model import TriageModel, model_from_bytes
from propdesk.core.vocabulary import VOCABULARY_TABLES, Vocabulary, parse_vocabulary
from propdesk.errors import RulesError

DEFAULT_FILES: tuple[str, ...] = ("policy.toml", "vocabulary.toml", "conversation.toml")
MODEL_FILE = "triage_model.json.gz"  # written by bench/train.py
KNOWN_TABLES: frozenset[str] = (
    POLICY_TABLES | VOCABULARY_TABLES | CONVERSATION_TABLES | {STATUTE_TABLE}
)


@dataclass(frozen=True)
class Rules:
    """Everything the rules files decide. ``sources`` maps each table to the file it came from."""

    policy: Policy
    vocabulary: Vocabulary
    conversation: ConversationRules
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    triage: TriageModel | None = None  # the learned part; None: the rules decide alone
    safety: SafetyList = field(default_factory=SafetyList)  # hazards that get advice at once
    building_systems: SafetyList = field(default_factory=SafetyList)  # what incidents group by
    statutory: tuple[Jurisdiction, ...] = ()  # repair deadlines by law (none by default)


@cache
def default_triage_model() -> TriageModel:
    """The weights shipped in the package, read once per process (they never change)."""
    data = resources.files("propdesk.rules").joinpath(MODEL_FILE).read_bytes()
    return model_from_bytes(data)


def _parse_toml(text: str, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        if message.startswith(("Cannot overwrite", "Cannot declare")):
            # tomllib's words for a key or table defined twice; say it in ours.
            raise RulesError(f"{name}: duplicate key or table: {message}") from None
        raise RulesError(f"{name}: TOML syntax error: {message}") from None


def _default_texts() -> list[tuple[str, str]]:
    package = resources.files("propdesk.rules")
    return [
        (f"propdesk/rules/{name}", package.joinpath(name).read_text(encoding="utf-8"))
        for name in DEFAULT_FILES
    ]


def _read_override(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read rules override: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RulesError(f"{path}: rules override is not UTF-8 text") from None


def rules_from_texts(defaults: list[tuple[str, str]], override: tuple[str, str] | None) -> Rules:
    """Build ``Rules`` from (name, TOML text) pairs: the default files, then an optional override.

    Each table must be known and defined by only one default file; the override then replaces
    whole tables. This is the pure core of ``load_rules``, and what tests call.
    """
    tables: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, text in defaults:
        for table, value in _parse_toml(text, name).items():
            if table not in KNOWN_TABLES:
                raise RulesError(f"{name}: [{table}]: unknown table ({_known()})")
            if table in tables:
                raise RulesError(f"{name}: [{table}]: also defined in {sources[table]}")
            tables[table], sources[table] = value, name
    if override is not None:
        name, text = override
        for table, value in _parse_toml(text, name).items():
            if table not in KNOWN_TABLES:
                raise RulesError(f"{name}: [{table}]: unknown table ({_known()})")
            tables[table], sources[table] = value, name

    def source_of(table: str) -> str:
        if table in POLICY_TABLES or table == STATUTE_TABLE:
            default = DEFAULT_FILES[0]
        elif table in CONVERSATION_TABLES:
            default = DEFAULT_FILES[2]
        else:
            default = DEFAULT_FILES[1]
        return sources.get(table, f"propdesk/rules/{default}")

    policy = parse_policy({t: tables[t] for t in tables if t in POLICY_TABLES}, source_of)
    vocabulary = parse_vocabulary(
        {t: tables[t] for t in tables if t in VOCABULARY_TABLES}, source_of
    )
    conversation = parse_conversation(
        {t: tables[t] for t in tables if t in CONVERSATION_TABLES}, source_of
    )
    situations = frozenset(r.name for r in vocabulary.urgency_rules)
    return Rules(
        policy=policy,
        vocabulary=vocabulary,
        conversation=conversation,
        sources=MappingProxyType(sources),
        safety=parse_safety(tables.get(SAFETY_TABLE), source_of, situations),
        building_systems=parse_safety(
            tables.get(SYSTEMS_TABLE), source_of, situations, name=SYSTEMS_TABLE
        ),
        statutory=parse_jurisdictions(tables.get(STATUTE_TABLE), source_of, situations),
    )


def rules_from_text(override: str | None = None, name: str = "<override>") -> Rules:
    """The package defaults plus an override given as TOML text (for tests and ``classify``)."""
    return rules_from_texts(_default_texts(), None if override is None else (name, override))


def _known() -> str:
    return "known: " + ", ".join(sorted(KNOWN_TABLES))


def load_rules(override: Path | None = None, *, model: bool = True) -> Rules:
    """Read the default rules shipped in the package, then the ops override file if given.

    The override REPLACES each top-level table it defines and keeps the defaults for the tables
    it omits. With ``model`` (the default) the shipped triage model comes along (read once per
    process); without, the rules decide alone. Raises ``RulesError`` ("<file>: [table] entry:
    problem") on an unreadable file, bad TOML, an unknown table, a bad value, a duplicate entry,
    a malformed address or unreadable weights.
    """
    texts = _default_texts()
    if override is None:
        rules = rules_from_texts(texts, None)
    else:
        rules = rules_from_texts(texts, (str(override), _read_override(override)))
    return dataclasses.replace(rules, triage=default_triage_model()) if model else rules
