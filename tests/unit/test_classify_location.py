"""Unit, building and floor extraction: the spec's patterns made robust, trap by trap."""

from __future__ import annotations

import pytest

from propdesk.core.location import UNIT_NOT_SPECIFIED, extract_location
from propdesk.core.rules import load_rules
from propdesk.core.vocabulary import Vocabulary


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_rules().vocabulary


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("Apt. #4B, the sink leaks", "Unit 4B"),
        ("Unit: 12C", "Unit 12C"),
        ("unit no. 5", "Unit 5"),
        ("I live in apt 4-B", "Unit 4B"),
        ("Apartment B12 here", "Unit B12"),
        ("my apartment number is 22", "Unit 22"),
        ("Tenant, Unit PH2", "Unit PH2"),
        ("Thanks,\nSam\n#203", "Unit 203"),
        ("sink clogged 4C", "Unit 4C"),
        ("Kendra (6C)", "Unit 6C"),
        ("I'm in 215. Thanks", "Unit 215"),
        # the tenant placing themselves: at their own door, next to the neighbour they name
        ("locked out!! I'm stuck in the corridor outside #31, pls help", "Unit 31"),
        ("Is 604 allowed to drill on Sundays? We are just across the hall in 606.", "Unit 606"),
        ("Thanks,\nPriya\nOak building, #118", "Unit 118"),
        ("heat not working - 1205", "Unit 1205"),
        ("sink broken. Rm 204", "Unit 204"),
        # traps: times, dates, money, phones, quantities, other numbers
        ("could someone come at 10:30 tomorrow?", UNIT_NOT_SPECIFIED),
        ("the shutoff on 3/4 from 9:00 to 1:00", UNIT_NOT_SPECIFIED),
        ("I was charged $75 and $212.40", UNIT_NOT_SPECIFIED),
        ("call 555-0142 please", UNIT_NOT_SPECIFIED),
        ("tracking #88213 says delivered", UNIT_NOT_SPECIFIED),
        ("Re: Work order #4471", UNIT_NOT_SPECIFIED),
        ("someone parked in my spot #23", UNIT_NOT_SPECIFIED),
        ("Dryer #4 is smoking", UNIT_NOT_SPECIFIED),
        ("Error 502 when I pay", UNIT_NOT_SPECIFIED),
        ("the AC unit is broken", UNIT_NOT_SPECIFIED),
        ("a 2-car garage and 4 month old", UNIT_NOT_SPECIFIED),
        ("it's 58 degrees and I have a 4 month old", UNIT_NOT_SPECIFIED),
        # whose unit: the sender's, not a neighbour's or a hallway's
        ("I'm in 3A, the unit above is 4A", "Unit 3A"),
        ("the guy directly above me in 5D is blasting music\nTom\n4D", "Unit 4D"),
        ("the light in the hallway outside 4C is out", UNIT_NOT_SPECIFIED),
        ("Unit 10C plays loud music every night. - Janet, 11C", "Unit 11C"),
        ("I'm in 7B - sorry, I mean 7D.", "Unit 7D"),
        ("Correction: I'm in 5D, not 5B.", "Unit 5D"),
        ("Sink clogged, apt 3B. Oops, I meant 3D.", "Unit 3D"),
        ("Unit 9B - wait, no, 9A.", "Unit 9A"),
        ("Apt 4C (not 4B as I said before)", "Unit 4C"),
        ("Leak in unit 5B (sorry, typo - it's 5D).", "Unit 5D"),
        ("Allison Reed (formerly 10C)", "Unit 10C"),
        ("Dishwasher not draining - 4D", "Unit 4D"),
        ("My forwarding address is 45 Oak St, Apt 2, Springfield. I moved out of 6A.", "Unit 6A"),
    ],
)
def test_unit(vocab: Vocabulary, text: str, unit: str) -> None:
    assert extract_location("", text, "", vocab).unit_number == unit


def test_unit_from_subject_and_signature(vocab: Vocabulary) -> None:
    loc = extract_location("Re: Leaking tub faucet - 8F", "Thursday works.", "", vocab)
    assert loc.unit_number == "Unit 8F"
    loc = extract_location(
        "Fan", "The fan is dead. Apt 6H.", "John\n400 Main Street, Suite 300", vocab
    )
    assert loc.unit_number == "Unit 6H"
    loc = extract_location("Fan", "The fan is dead.", "Thanks,\nJohn (6H)", vocab)
    assert loc.unit_number == "Unit 6H"
    loc = extract_location("Fan", "The fan is dead.", "Acme, 400 Main Street, Suite 300", vocab)
    assert loc.unit_number == UNIT_NOT_SPECIFIED


@pytest.mark.parametrize(
    ("text", "building", "floor"),
    [
        ("UNIT 204 BUILDING B", "B", None),
        ("Elevator out since Friday (Bldg C). I live on the 6th floor", "C", "6"),
        ("The entire Maple building lost power", "MAPLE", None),
        ("the elevator in the Oak building is stuck between the 4th and 5th floors", "OAK", None),
        ("No heat in whole building. Building A.", "A", None),
        ("the building internet is down", None, None),
        ("this is a non-smoking building", None, None),
        ("Building D's laundry room is flooded", "D", None),
        ("smell gas in hallway 4th fl", None, "4"),
        ("my neighbor from 7 floor leaves garbage", None, "7"),
        ("Hi from Birch! Building: Birch, Apt 5", "BIRCH", None),
        ("the Main Street building has no heat", None, None),
        ("Trash chute on floor 7 is jammed", None, "7"),
        ("I'm on the top floor (5th), unit 502", None, "5"),
        ("I'm on the first floor", None, "1"),
        ("ground-floor toilets are gurgling", None, None),
        ("garage level P2", None, None),
        ("Light\nBldg D, unit 210", "D", None),
    ],
)
def test_building_and_floor(
    vocab: Vocabulary, text: str, building: str | None, floor: str | None
) -> None:
    loc = extract_location("", text, "", vocab)
    assert (loc.building, loc.floor) == (building, floor)
