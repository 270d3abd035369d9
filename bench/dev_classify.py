"""Dev loop: classify .eml files with the throwaway reader, print scorer-compatible JSON lines.

usage: PYTHONPATH=src:bench python bench/dev_classify.py FILE.eml...
"""

from __future__ import annotations

import json
import sys
import tomllib
from importlib import resources

import _devreader

from propdesk.core.classify import classify_text
from propdesk.core.location import extract_location
from propdesk.core.vocabulary import VOCABULARY_TABLES, parse_vocabulary


def load_vocab():  # type: ignore[no-untyped-def]
    data = tomllib.loads(resources.files("propdesk.rules").joinpath("vocabulary.toml").read_text())
    return parse_vocabulary({k: v for k, v in data.items() if k in VOCABULARY_TABLES}, str)


def main() -> None:
    vocab = load_vocab()
    verbose = "-v" in sys.argv
    for path in [a for a in sys.argv[1:] if a != "-v"]:
        subject, new_text, sig, not_ticket = _devreader.read(path)
        tickets = []
        if not_ticket is None:
            loc = extract_location(subject, new_text, sig, vocab)
            for c in classify_text(subject, new_text, vocab):
                t = {
                    "category": c.category,
                    "subcategory": c.subcategory,
                    "urgency": c.urgency,
                    "requires_contractor": c.requires_contractor,
                    "unit_number": loc.unit_number if loc else None,
                    "building": loc.building if loc else None,
                    "floor": loc.floor if loc else None,
                    "short_description": c.summary,
                }
                if verbose:
                    t["matched_rules"] = list(c.matched_rules)
                tickets.append(t)
        print(json.dumps({"file": path, "tickets": tickets, "ignored": not_ticket}))


if __name__ == "__main__":
    main()
