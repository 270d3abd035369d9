"""The cue lists and command keys conversations decide by, as validated data.

Why data: which words mean "still broken" or "you can close it", and which keys a staff reply may
carry, are decisions ops tune (``rules/conversation.toml``, tables ``[reply_intent]`` and
``[staff_commands]``); the grammar around them (a ``Key: value`` line, a digit 1-5) stays in code.
Errors read "<file>: [table] entry: what is wrong", like every other rules error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from propdesk.core.decisions import words_re
from propdesk.core.policy import TableCheck
from propdesk.errors import RulesError

CONVERSATION_TABLES: frozenset[str] = frozenset({"reply_intent", "staff_commands"})

#: The intents a cue list can name (``rating`` and ``unsure`` have no cue list).
CUE_INTENTS: tuple[str, ...] = ("still_broken", "fixed_thanks", "close_it", "new_problem")
#: The command keys the code knows how to apply; ``[staff_commands] keys`` picks among them.
KNOWN_COMMANDS: frozenset[str] = frozenset({"status", "assign", "note", "urgency", "reviewed"})


@dataclass(frozen=True)
class ConversationRules:
    """``[reply_intent]`` and ``[staff_commands]``, validated and compiled."""

    precedence: tuple[str, ...]  # which intent wins when cues of several kinds match
    cues: Mapping[str, re.Pattern[str]]  # intent -> its cue phrases as one regex
    rating_re: re.Pattern[str]  # "4/5", "Rating: 4", "5 stars"
    low_rating: int  # at or below: reopen and tell the supervisor
    command_keys: frozenset[str]  # the whitelisted staff command keys (lower case)


def _rating_re(words: tuple[str, ...]) -> re.Pattern[str]:
    near = "|".join(re.escape(w) for w in words)
    return re.compile(
        rf"(?:^\s*([1-5])\s*[.!]?\s*$|(?:{near})\s*[:=]?\s*([1-5])\b|\b([1-5])\s*(?:{near}))",
        re.IGNORECASE | re.MULTILINE,
    )


def parse_conversation(
    tables: Mapping[str, Any], source_of: Callable[[str], str]
) -> ConversationRules:
    """Validate the two tables (every key required: an override replaces a whole table)."""

    def where(table: str, keys: set[str]) -> tuple[TableCheck, dict[str, Any]]:
        if table not in tables:
            raise RulesError(f"{source_of(table)}: [{table}]: missing table")
        w = TableCheck(source_of(table), table)
        data = w.table_of(tables[table], "")
        w.keys(data, "", keys, keys)
        return w, data

    wi, intent = where("reply_intent", {*CUE_INTENTS, "precedence", "rating_words", "low_rating"})
    precedence = wi.keywords(intent["precedence"], "precedence")
    for i, name in enumerate(precedence):
        if name not in CUE_INTENTS:
            raise wi.error(
                f"precedence[{i}]", f"unknown intent {name!r} ({', '.join(CUE_INTENTS)})"
            )
    missing = [n for n in CUE_INTENTS if n not in precedence]
    if missing:
        raise wi.error("precedence", f"must list every intent; missing {', '.join(missing)}")
    cues = {n: words_re(wi.keywords(intent[n], n), r"(?<!\w)(?:{})(?!\w)") for n in CUE_INTENTS}
    low = intent["low_rating"]
    if isinstance(low, bool) or not isinstance(low, int) or not 1 <= low <= 5:
        raise wi.error("low_rating", f"expected a whole number 1-5, got {low!r}")
    wc, commands = where("staff_commands", {"keys"})
    keys = wc.keywords(commands["keys"], "keys")
    for i, key in enumerate(keys):
        if key not in KNOWN_COMMANDS:
            known = ", ".join(sorted(KNOWN_COMMANDS))
            raise wc.error(f"keys[{i}]", f"unknown command {key!r} (known: {known})")
    return ConversationRules(
        precedence=precedence,
        cues=MappingProxyType(cues),
        rating_re=_rating_re(wi.keywords(intent["rating_words"], "rating_words")),
        low_rating=low,
        command_keys=frozenset(keys),
    )
