"""Unit/building/floor families beyond the dev set: how tenants place themselves, sign off, and
the numbers that must never become a unit. Sentences are our own, one family per block."""

from __future__ import annotations

import pytest

from propdesk.core.location import UNIT_NOT_SPECIFIED, extract_location
from propdesk.core.rules import load_rules
from propdesk.core.vocabulary import Vocabulary

NONE = UNIT_NOT_SPECIFIED


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_rules().vocabulary


def _unit(vocab: Vocabulary, body: str, signature: str = "", subject: str = "") -> str:
    return extract_location(subject, body, signature, vocab).unit_number


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        # the tenant places themselves with a bare id; the neighbour they name does not win
        ("The dog barks all day. We live in\n807 and the owner is in 809.", "Unit 807"),
        ("Loud bass again. I am in 1210, they are in 1110.", "Unit 1210"),
        ("She is in 6E and I'm in 6F, her tv is too loud", "Unit 6F"),
        ("The couple in 402 fight every night; I live in 403.", "Unit 403"),
        ("Keys are inside. Waiting outside 12D, please hurry", "Unit 12D"),
        ("lost my keys, standing outside 306 right now", "Unit 306"),
        ("locked out. I'm sitting in the hall outside 5G", "Unit 5G"),
        ("the bulb in the hallway outside 7E has been out for days", NONE),
        ("our unit (6D) shares a wall with the laundry room", "Unit 6D"),
        ("my apartment (12) has no heat", "Unit 12"),
        ("my place (#5) has mice", "Unit 5"),
        ("I'm in 3F. The window is stuck", "Unit 3F"),
        ("we're at 21B and the buzzer is dead", "Unit 21B"),
        ("Hello from 8D! The oven won't heat", "Unit 8D"),
        ("Hi, this is Maria from 14A. Sink clogged", "Unit 14A"),
        # keywords in other spellings and languages
        ("the flat 3 toilet is running", "Unit 3"),
        ("Hola, apartamento 2E, no hay agua caliente", "Unit 2E"),
        ("Hello, kv. 6A, radiator is cold", "Unit 6A"),
        ("unit no. 12 has a leak", "Unit 12"),
        ("apt. #7-B door lock broken", "Unit 7B"),
        ("Penthouse PH2, skylight leaks", "Unit PH2"),
        ("the elevator skips my floor, 9D", "Unit 9D"),
        ("Unit 12 B, the fridge is warm", "Unit 12B"),
        ("leak in B-204 bathroom", "Unit B204"),
    ],
)
def test_tenant_places_themselves(vocab: Vocabulary, text: str, unit: str) -> None:
    assert _unit(vocab, text) == unit


@pytest.mark.parametrize(
    ("body", "signature", "unit"),
    [
        ("The stove clicks.", "Thanks!\nLena\n512", "Unit 512"),
        ("The stove clicks.", "Best,\nOmar\n7C", "Unit 7C"),
        ("The stove clicks.", "Thanks,\nDana Cole\nAcme Corp\n1200 Main St, Suite 300", NONE),
        ("The stove clicks.", "Dana\n(555) 201-3344", NONE),
        # the id on its own line under the sign-off name, or right after the name
        ("The stove clicks.\n\n- Sam 14C", "", "Unit 14C"),
        ("The stove clicks.\n\nSam, 14C", "", "Unit 14C"),
        ("The stove clicks.\n\n\u2014 Rosa, apt 9", "", "Unit 9"),
        ("The stove clicks.\n\nCheers\nJo Ann Lee\n1107", "", "Unit 1107"),
        ("The stove clicks.\n\nThanks\nJo\n\n1107", "", "Unit 1107"),
    ],
)
def test_sign_off(vocab: Vocabulary, body: str, signature: str, unit: str) -> None:
    assert _unit(vocab, body, signature) == unit


@pytest.mark.parametrize(
    "text",
    [
        "Can someone come between 9 and 11:30 tomorrow?",
        "the shutoff is on 12/4, and again 12.11",
        "I paid $1,200 on the 1st and a $35 late fee",
        "Call me at 555 201 3344 or 555.201.3344",
        "it has been like this since 2024",
        "the battery is at 15% and the fan at 50 percent",
        "it's 82 degrees in here, 30C outside",
        "I have 3 kids and it's been 2 weeks",
        "the 3rd floor hallway is dark",
        "the Unit AC drips on the sill",
        "Elevator B is stuck again",
        "Washer #3 ate my quarters",
        "WO #4471 still open, ticket 5521",
        "UPS tracking 1Z999AA10123456784 shows delivered",
        "please mail it to 1200 Main St, Springfield, IL 62704",
        "The microwave is broken, 2 of the 4 burners too",
        "I was told 3 to 5 business days",
        "the light has flickered for 10 mins, 2 hrs now",
        "we're at 70% humidity in here",
        "Garage level P2 has a puddle",
        "Ref: order 7781 - still waiting on the part",
        "Storage B-204 was opened by someone",
        "the storage unit S-110 door is jammed",
        "Office: 30 Harbour Road #12-05/06",
        "comments on the release of Dec. 14",
        "Mob. 924 38 051",
        "my 2019 Super Duty F-350 was towed",
        "please copy 7d@tenantmail.example on replies",
    ],
)
def test_numbers_that_are_not_units(vocab: Vocabulary, text: str) -> None:
    assert _unit(vocab, text) == NONE


@pytest.mark.parametrize(
    ("text", "building"),
    [
        ("No hot water in Building C today", "C"),
        ("the Birch building lobby door is stuck", "BIRCH"),
        ("Bldg 4, unit 210: heater broken", "4"),
        ("the elevator in Tower B is stuck", "B"),
        ("I live in Block 2, flat 14", "2"),
        ("Elevator B is out", None),
        ("the whole block lost power", None),
        ("the north tower elevator", None),
        ("a block of ice on the steps", None),
        ("the building I live in has no heat", None),
        ("Building I has no heat", "I"),
        ("a building 5 stories tall", None),
    ],
)
def test_building(vocab: Vocabulary, text: str, building: str | None) -> None:
    assert extract_location("", text, "", vocab).building == building


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("leak on the 12th floor", "12"),
        ("I'm on floor 3", "3"),
        ("second-floor laundry is flooded", "2"),
        ("I live on the top floor", None),
        ("ground floor entrance", None),
        ("basement level P2 is flooded", None),
        ("apartment 4B, the tub leaks", None),
        ("between the 2nd and 3rd floors", None),
        ("floors 5-8 will lose water", None),
    ],
)
def test_floor(vocab: Vocabulary, text: str, floor: str | None) -> None:
    assert extract_location("", text, "", vocab).floor == floor


@pytest.mark.parametrize(
    "text",
    [
        'the dryer display shows "F-32" and stops',
        "error code E-105 on the panel",
        "my F-150 got towed",
    ],
)
def test_codes_are_not_units(vocab: Vocabulary, text: str) -> None:
    assert _unit(vocab, text) == NONE


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        # "my unit is N", greetings from a unit, "in N" in a repair request, an id that opens a line
        ("my apartment is 1416 and the bath drain is slow", "Unit 1416"),
        ("Hey, this is Tom from 903. The fan rattles", "Unit 903"),
        ("Greetings from 711! Window crank broke", "Unit 711"),
        ("The dishwasher in 1312 won't drain", "Unit 1312"),
        ("1312 - dishwasher won't drain", "Unit 1312"),
        ("we've been in 208 since March and the tub never drained well", "Unit 208"),
        # years, other households, possessives
        ("I'm renewing in 2027, can I lock the rate?", NONE),
        ("we moved in 2018 and the carpet was never replaced", NONE),
        ("the fellow who is in 1001 smokes in the hall", NONE),
        ("sewage smell coming from 2C next door", NONE),
        ("7D's washer leaked into my closet", NONE),
        ("7D's washer leaked into my closet, I'm in 6D", "Unit 6D"),
        ("I think the guy in 402 is smoking", NONE),
        ("the renovation in 1210 starts at 7am daily", NONE),
        ("another party in 3E last night", NONE),
        ("I'm so fed up and mad at 1210 for the noise", NONE),
    ],
)
def test_more_self_and_other(vocab: Vocabulary, text: str, unit: str) -> None:
    assert _unit(vocab, text) == unit


@pytest.mark.parametrize(
    ("text", "building", "floor"),
    [
        ("hallway on the 9th fl is dark", None, "9"),
        ("Fl. 4 trash room", None, "4"),
        ("I live on floor eight", None, "8"),
        ("mix 2 fl oz of cleaner", None, None),
        ("Bldg-D mailroom", "D", None),
        ("the F building laundry", "F", None),
        ("A building inspector came by", None, None),
        ("a building-wide alarm went off", None, None),
        ("a block 2 minutes away", None, None),
    ],
)
def test_more_building_floor(
    vocab: Vocabulary, text: str, building: str | None, floor: str | None
) -> None:
    loc = extract_location("", text, "", vocab)
    assert (loc.building, loc.floor) == (building, floor)


@pytest.mark.parametrize(
    ("body", "signature", "unit"),
    [
        # a tenant's own address line in the signature keeps its apartment; a work suite does not
        ("The blinds fell.", "Ivy Chen | Apt 8E | 555-310-2200", "Unit 8E"),
        ("The blinds fell.", "Ivy Chen\n77 Cedar Ave, Apt 8E\nRiverton", "Unit 8E"),
        ("The blinds fell.", "Ivy Chen\nNorthwind Ltd, 90 Pine St, Ste 410", NONE),
        # phone numbers, street numbers, temperatures, ranges, emergency numbers
        ("reach me, I'm at 555 7781 after six", "", NONE),
        ("I'm at 12 Birch Road until Friday, the oven is off", "", NONE),
        ("It's 61F in the bedroom and the heat is off", "", NONE),
        ("a plumber quoted 150 - 300 for it", "", NONE),
        ("we called 911 - the fire dept came", "", NONE),
        # the sender's id next to a neighbour's; people "at" a unit are others
        ("the stain is from 9G upstairs, I'm 8G", "", "Unit 8G"),
        ("the kids at 4E kick a ball on the wall", "", NONE),
        ("I am the tenant at 1410, the intercom is dead", "", "Unit 1410"),
    ],
)
def test_signatures_and_traps(vocab: Vocabulary, body: str, signature: str, unit: str) -> None:
    assert _unit(vocab, body, signature) == unit


@pytest.mark.parametrize(
    ("text", "unit", "floor"),
    [
        ("Hola, depto 7C, no sale agua", "Unit 7C", None),
        ("Bonjour, appartement 15, pas de chauffage", "Unit 15", None),
        ("Unit-6G: the vent rattles", "Unit 6G", None),
        ("Apt. 2 days ago the faucet broke", NONE, None),
        ("a parcel was sitting outside 3H all week", NONE, None),
        ("Sitting on the stairs outside 3H, keys are inside", "Unit 3H", None),
        ("mold in the 5th flr hallway", NONE, "5"),
        ("Flr 2 laundry", NONE, "2"),
        ("we live on the 4. floor, apartament 41", "Unit 41", "4"),
        ("floor number 6 has no light", NONE, "6"),
        ("It's 3. Floor is wet", NONE, None),
        ("Items: 1. floor mats 2. doors", NONE, None),
    ],
)
def test_other_spellings(vocab: Vocabulary, text: str, unit: str, floor: str | None) -> None:
    loc = extract_location("", text, "", vocab)
    assert (loc.unit_number, loc.floor) == (unit, floor)


@pytest.mark.parametrize(
    ("text", "building", "floor"),
    [
        ("I scrubbed the floor 4 times", None, None),
        ("the bathroom floor 2 tiles popped", None, None),
        ("Floor: 6, Building no. 3", "3", "6"),
        ("we live on the floor 9", None, "9"),
    ],
)
def test_floor_words_that_are_not_floors(
    vocab: Vocabulary, text: str, building: str | None, floor: str | None
) -> None:
    loc = extract_location("", text, "", vocab)
    assert (loc.building, loc.floor) == (building, floor)


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("Hello, I'm Nadia (712) - the hood fan is loud", "Unit 712"),
        ("Nadia from 712 here, quick question about parking", "Unit 712"),
        ("Hi, I'm Nadia (555) 404-1212, call me", NONE),
        ("Steam from 712 fogs the hallway", NONE),
        ("The neighbours in 713 slam doors all night", NONE),
        # "my" before the keyword keeps it the sender's even in a sentence about neighbours
        ("the neighbours blame the noise from my flat 7D on me", "Unit 7D"),
        ("a sour smell is coming from my apt 7D vents", "Unit 7D"),
    ],
)
def test_names_with_ids(vocab: Vocabulary, text: str, unit: str) -> None:
    assert _unit(vocab, text) == unit


@pytest.mark.parametrize(
    ("signature", "building"),
    [
        ("Omar\nCedar Building, #611", "CEDAR"),
        ("Omar\nBldg E, Apt 611", "E"),
        ("Omar Haddad\nHarbor Building Services\n12 Dock St, Suite 9", None),
        ("Omar Haddad\nFacilities, Tower C, Delta Corp", None),
    ],
)
def test_building_from_sign_off(vocab: Vocabulary, signature: str, building: str | None) -> None:
    assert extract_location("", "The fan is dead.", signature, vocab).building == building


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("our flat is number 31 and the boiler is off", "Unit 31"),
        ("Address: 18 Alder Ave #905", "Unit 905"),
        ("My forwarding address is 18 Alder Ave #905. I lived in 2C", "Unit 2C"),
    ],
)
def test_forms_and_addresses(vocab: Vocabulary, text: str, unit: str) -> None:
    assert _unit(vocab, text) == unit
