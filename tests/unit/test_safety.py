"""The safety list: which mails are hazards (real rules, real classifier) and its validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from propdesk import app
from propdesk.config import parse_config
from propdesk.core.models import Ticket
from propdesk.core.notifications import Source
from propdesk.core.rules import rules_from_text
from propdesk.core.safety import AdviceTexts, hazards_of, plan_advice
from propdesk.errors import ConfigError, RulesError
from propdesk.mail.parse import parse_message

NOW = datetime(2026, 12, 1, 15, tzinfo=UTC)
RULES = rules_from_text()


def tickets_for(body: str) -> list[Ticket]:
    cfg = parse_config({})
    analyse = app.analyser(RULES, app.business_hours(cfg))
    raw = (
        "From: Tenant <t@example.com>\r\nTo: m@property.com\r\nSubject: help\r\n"
        f"Message-ID: <x@example.com>\r\n\r\n{body}\r\n"
    ).encode()
    return list(analyse(parse_message(raw), NOW, NOW).tickets)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("I smell gas in my kitchen, like rotten eggs. Unit 4B.", ["gas"]),
        (
            "Our carbon monoxide alarm is going off and my son has a headache. Unit 2A",
            ["carbon_monoxide"],
        ),
        ("There is smoke coming from the dryer vent and I see flames! Apt 3C", ["fire"]),
        (
            "The outlet in the bedroom is sparking and the breaker panel is hot. Unit 5D",
            ["electrical"],
        ),
        ("Water is flooding the bathroom floor from a burst pipe, unit 1A", ["flooding"]),
        (
            "Water is dripping from the light fixture in my kitchen ceiling, unit 6F",
            ["water_electrics", "water_from_above"],  # advice for the first; triage's the second
        ),
        ("The kitchen faucet drips slowly. Unit 3B", []),
        ("My smoke detector keeps chirping, needs a new battery. Unit 3B", []),
        ("There is a leak under the kitchen sink in unit 3B", []),
    ],
)
def test_hazards_of_real_mails(body: str, expected: list[str]) -> None:
    (ticket,) = tickets_for(body)
    assert [h.key for h in hazards_of(ticket, RULES.safety)] == expected


def test_advice_uses_the_property_numbers_and_the_default_elsewhere() -> None:
    (gas,) = tickets_for("I smell gas in my kitchen. Unit 4B.")
    texts = AdviceTexts(
        {"emergency": "911", "gas_utility": "GAS-DEFAULT", "maintenance": "M"},
        {"gas": "Call {gas_utility}."},
        {gas.property_id: {"gas_utility": "+1 800 555 0100"}},
        {},
    )
    found = {gas.ticket_id: hazards_of(gas, RULES.safety)}
    (planned,) = plan_advice([gas], found, texts, Source("<x@example.com>"))
    assert planned.kind == "safety_advice" and planned.in_reply_to == "<x@example.com>"
    assert planned.context["advice"] == [
        {"hazard": "gas or rotten-egg smell", "advice": "Call +1 800 555 0100."}
    ]
    other = AdviceTexts(texts.numbers, texts.advice, {}, {})
    (planned,) = plan_advice([gas], found, other, Source(None))
    assert planned.context["advice"][0]["advice"] == "Call GAS-DEFAULT."
    assert plan_advice([gas], {gas.ticket_id: []}, texts, Source(None)) == []


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('[safety.x]\nname = "X"\nadvice = "x"\n', "[safety] x: needs situations or phrases"),
        (
            '[safety.x]\nname = "X"\nadvice = "x"\nsituations = ["nope"]\n',
            "[safety] x.situations: not urgency rules: ['nope']",
        ),
        (
            '[safety.x]\nname = "X"\nphrases = ["a"]\nadvice = "no way"\n',
            "[safety] x.advice: must name an advice",
        ),
        ('[safety.x]\nname = "X"\nadvice = "x"\nphrases = [1]\n', "x.phrases: must be a list"),
        ('[safety.x]\nname = "X"\nadvice = "x"\nphrases = ["a"]\nmore = 1\n', "unknown key"),
    ],
)
def test_a_bad_safety_entry_names_file_table_and_entry(table: str, problem: str) -> None:
    with pytest.raises(RulesError) as err:
        rules_from_text(table, "ops.toml")
    assert str(err.value).startswith("ops.toml: ") and problem in str(err.value)


def test_config_refuses_an_advice_text_with_an_unknown_number() -> None:
    with pytest.raises(Exception, match="unknown number"):
        parse_config({"safety": {"advice": {"gas": "call {nobody}"}}})


def test_every_hazard_needs_an_advice_text() -> None:
    rules = rules_from_text(
        '[safety.x]\nname = "X"\nadvice = "unheard_of"\nphrases = ["purple smoke"]\n'
    )
    with pytest.raises(ConfigError, match="no text for unheard_of"):
        app.advice_texts(parse_config({}), rules)


def test_a_hazard_without_advice_is_known_but_mails_nothing() -> None:
    """Triage's urgency-only entries (e.g. "locked out") share the list without an advice text."""
    rules = rules_from_text(
        '[safety.lockout]\nname = "locked out"\nsituations = ["lockout"]\n'
        '[safety.gas]\nname = "gas"\nsituations = ["gas"]\nadvice = "gas"\n'
    )
    assert rules.safety.advice_keys() == {"gas"}
    app.advice_texts(parse_config({}), rules)  # no text needed for the lockout
