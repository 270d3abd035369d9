"""Decisions as data: an ops override of [thresholds], [sets], [words] or [things] reaches the code.

Through ``propdesk classify --rules FILE`` where it matters (the way ops try an override before
putting it in the daemon's config), through ``rules_from_text`` for the error messages.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from propdesk.cli import main
from propdesk.core.classify import classify_text
from propdesk.core.location import extract_location
from propdesk.core.rules import rules_from_text
from propdesk.errors import RulesError

# "Separately" announces another matter: the soaked floor is not the dishwasher's consequence.
ANNOUNCED = (
    "The dishwasher is leaking all over the floor. Separately, the floor is soaked.\n\nApt 4C\n"
)


def _default(table: str) -> dict[str, Any]:
    text = resources.files("propdesk.rules").joinpath("vocabulary.toml").read_text("utf-8")
    value: dict[str, Any] = tomllib.loads(text)[table]
    return value


def _toml(table: str, values: dict[str, Any]) -> str:
    """One flat table as TOML (lists and scalars: JSON spells them the same way)."""
    return f"[{table}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


def _words_without(key: str, phrase: str) -> str:
    words = _default("words")
    words[key] = [p for p in words[key] if p != phrase]
    return _toml("words", words)


def _eml(tmp_path: Path, body: str, subject: str = "Help") -> str:
    path = tmp_path / "mail.eml"
    path.write_text(
        f"From: Ana <ana@example.com>\nTo: maintenance@property.example\nSubject: {subject}\n"
        f"Date: Wed, 02 Dec 2026 10:00:00 +0000\nMessage-ID: <d-1@example.com>\n\n{body}",
        encoding="utf-8",
    )
    return str(path)


def _classify(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    assert main(["classify", "--format", "json", *argv]) == 0
    tickets: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["tickets"]
    return tickets


def test_an_override_of_the_announced_cue_list_changes_the_split(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mail = _eml(tmp_path, ANNOUNCED)
    default = _classify(capsys, mail)
    assert [t["subcategory"] for t in default] == ["appliance", "plumbing"]
    override = tmp_path / "ops.toml"
    override.write_text(_words_without("announced", "separately"), encoding="utf-8")
    # without "separately" in [words] announced, the soaked floor is the leak's consequence
    edited = _classify(capsys, "--rules", str(override), mail)
    assert [t["subcategory"] for t in edited] == ["appliance"]


def test_an_override_of_the_subordinate_words_changes_what_opens_a_matter() -> None:
    text = "When I plugged in my dryer, the outlet sparked and now it smells burnt. Unit 14A"
    default = rules_from_text().vocabulary
    edited = rules_from_text(_words_without("subordinate", "when"), "ops.toml").vocabulary
    assert [c.subcategory for c in classify_text("Sparks", text, default)] == ["electrical"]
    # "When ..." no longer marks the dryer as mere context: it opens a matter of its own
    assert [c.subcategory for c in classify_text("Sparks", text, edited)] == [
        "appliance",
        "electrical",
    ]


def test_an_override_of_a_threshold_changes_the_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mail = _eml(tmp_path, ANNOUNCED)
    override = tmp_path / "ops.toml"
    override.write_text(_toml("thresholds", _default("thresholds") | {"summary_max": 20}))
    (first, _) = _classify(capsys, "--rules", str(override), mail)
    assert first["short_description"] == "The dishwasher is..."


def test_an_override_of_a_category_set_changes_the_split() -> None:
    sets = _default("sets")
    text = "When is the pool opening? Also, is the gym open on holidays?"
    default = rules_from_text().vocabulary
    # an amenity question's follow-up question stays with it ...
    assert [c.category for c in classify_text("Pool and gym", text, default)] == ["Amenity"]
    sets["question_categories"] = [c for c in sets["question_categories"] if c != "Amenity"]
    edited = rules_from_text(_toml("sets", sets), "ops.toml").vocabulary
    # ... unless ops say amenities are not questions by nature
    assert [c.category for c in classify_text("Pool and gym", text, edited)] == [
        "Amenity",
        "Amenity",
    ]


@pytest.mark.parametrize(
    ("table", "change", "message"),
    [
        (
            "thresholds",
            {"strong_topic": "high"},
            "ops.toml: [thresholds] strong_topic: expected a positive number, got 'high'",
        ),
        (
            "thresholds",
            {"negation_window": 2.5},
            "ops.toml: [thresholds] negation_window: expected a positive whole number, got 2.5",
        ),
        (
            "thresholds",
            {"continuity": 2},
            "ops.toml: [thresholds] continuity: expected a fraction up to 1, got 2",
        ),
        ("thresholds", {"typo": 1}, "ops.toml: [thresholds] typo: unknown key"),
        (
            "sets",
            {"question_categories": ["Lease", "Laundry"]},
            "ops.toml: [sets] question_categories[1]: unknown 'Laundry' (known: Amenity, ",
        ),
        (
            "sets",
            {"closing_cues": ["thanks"]},
            "ops.toml: [sets] closing_cues[0]: unknown 'thanks' (known: absence, ",
        ),
        (
            "words",
            {"announced": []},
            "ops.toml: [words] announced: expected a non-empty list of strings, got []",
        ),
        (
            "words",
            {"announced": ["separately", "Separately"]},
            "ops.toml: [words] announced[1]: duplicate keyword 'separately'",
        ),
    ],
)
def test_a_bad_override_names_file_table_and_entry(
    table: str, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(RulesError) as info:
        rules_from_text(_toml(table, _default(table) | change), "ops.toml")
    assert str(info.value).startswith(message)


def test_an_override_must_give_the_whole_table() -> None:
    with pytest.raises(RulesError, match=r"^ops.toml: \[thresholds\] clear_object: missing"):
        rules_from_text("[thresholds]\nmin_open = 2.0\n", "ops.toml")


def test_bad_things_are_named() -> None:
    with pytest.raises(RulesError, match=r"\[things\] feeds.no_such_topic: unknown topic"):
        rules_from_text(
            '[things]\nparts = ["door"]\n[things.same]\n[things.whole_parts]\n'
            '[things.feeds]\nno_such_topic = "electrical"\n[things.outage_supplies]\n',
            "ops.toml",
        )


def test_the_cli_reports_a_bad_override_and_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    override = tmp_path / "ops.toml"
    override.write_text(_toml("words", _default("words") | {"subordinate": ["when", 3]}))
    assert main(["classify", "--rules", str(override), _eml(tmp_path, ANNOUNCED)]) == 2
    err = capsys.readouterr().err
    assert f"{override}: [words] subordinate[1]: expected a non-empty string, got 3" in err


def test_an_override_of_a_location_word_list_changes_the_unit() -> None:
    text = "The AC unit 12 is leaking water onto the floor."
    default = rules_from_text().vocabulary
    assert extract_location("AC", text, "", default).unit_number == "Unit not specified"
    location = _default("location")
    location["device_before_unit"] = [w for w in location["device_before_unit"] if w != "ac"]
    edited = rules_from_text(_toml("location", location), "ops.toml").vocabulary
    assert extract_location("AC", text, "", edited).unit_number == "Unit 12"


def test_an_unknown_location_key_is_named() -> None:
    location = _default("location") | {"unit_keyword": ["apt"]}
    with pytest.raises(RulesError, match=r"^ops.toml: \[location\] unit_keyword: unknown key"):
        rules_from_text(_toml("location", location), "ops.toml")
