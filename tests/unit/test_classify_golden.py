"""Classification output of our own samples, bit for bit, against a committed golden file.

Why: the classification core is restructured (modules split, decisions moved to the rules files)
without changing what it decides. Every field of every ticket, the matched rules included, of
``tests/data/*.eml``, ``deploy/dev/samples/*.eml`` (through the ``propdesk classify`` JSON
contract) and of every case in ``classify_cases.py`` (through ``classify_text`` and
``extract_location``) must stay as the golden file says. The clock is fixed, so ``after_hours``
of a message without a Date header does not depend on when the test runs.

When a change is MEANT to change behaviour, regenerate the file and review its diff:

    PYTHONPATH=src .venv/bin/python -m tests.unit.test_classify_golden --write
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from propdesk.cli.classify import analyse_file, ticket_json
from propdesk.core.classify import classify_text
from propdesk.core.hours import BusinessHours
from propdesk.core.location import extract_location
from propdesk.core.rules import Rules, load_rules
from tests.unit.test_classify_traps import ALL_CASES

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden" / "classify_samples.jsonl"
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # a Wednesday night: fixed, never the machine's


def _sample_files() -> list[Path]:
    return sorted(ROOT.glob("tests/data/*.eml")) + sorted(ROOT.glob("deploy/dev/samples/*.eml"))


def _file_line(path: Path, rules: Rules) -> dict[str, Any]:
    result = analyse_file(str(path), rules, BusinessHours(), NOW)
    return {
        "file": path.relative_to(ROOT).as_posix(),
        "tickets": [ticket_json(t) for t in result.tickets],
        "ignored": result.ignored_reason,
    }


def _case_line(case: tuple[Any, ...], rules: Rules) -> dict[str, Any]:
    name, subject, body = case[0], case[1], case[2]
    vocab = rules.vocabulary
    signature = ""
    if "\n--\n" in body:  # as test_classify_traps: what the parser separates as the signature
        body, signature = body.split("\n--\n", 1)
    location = extract_location(subject, body, signature, vocab)
    return {
        "case": name,
        "items": [
            {
                "category": c.category,
                "subcategory": c.subcategory,
                "urgency": c.urgency,
                "requires_contractor": c.requires_contractor,
                "topic": c.topic,
                "summary": c.summary,
                "matched_rules": list(c.matched_rules),
            }
            for c in classify_text(subject, body, vocab)
        ],
        "location": [location.unit_number, location.building, location.floor, location.section],
        "location_evidence": list(location.evidence),
    }


def render() -> list[str]:
    """One JSON line per sample file, then one per case, in a fixed order."""
    rules = load_rules(model=False)  # the rules' own decisions (the model is tested apart)
    lines = [_file_line(p, rules) for p in _sample_files()]
    lines += [_case_line(case, rules) for case in ALL_CASES]
    return [json.dumps(line, ensure_ascii=False, sort_keys=True) for line in lines]


def test_classification_of_our_samples_is_unchanged() -> None:
    expected = GOLDEN.read_text(encoding="utf-8").splitlines()
    actual = render()
    assert len(actual) == len(expected), "samples or cases were added or removed: regenerate"
    changed = [(e, a) for e, a in zip(expected, actual, strict=True) if e != a]
    assert not changed, f"{len(changed)} lines differ; first:\n- {changed[0][0]}\n+ {changed[0][1]}"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text("\n".join(render()) + "\n", encoding="utf-8")
    else:
        print("usage: python -m tests.unit.test_classify_golden --write", file=sys.stderr)
