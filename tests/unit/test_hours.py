"""Business hours: edges, weekends, holidays, DST, overnight spans; all from fixed instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from propdesk.config import BusinessHoursConfig
from propdesk.core.hours import BusinessHours, is_after_hours

NY = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


DEFAULT = BusinessHours()


@pytest.mark.parametrize(
    ("when", "after"),
    [
        (utc(2025, 6, 16, 7, 59, 59), True),  # Monday, one second before opening
        (utc(2025, 6, 16, 8, 0, 0), False),  # opening instant is inside
        (utc(2025, 6, 16, 17, 59, 59), False),
        (utc(2025, 6, 16, 18, 0, 0), True),  # closing instant is outside
        (utc(2025, 6, 20, 12, 0), False),  # Friday
        (utc(2025, 6, 21, 12, 0), True),  # Saturday
        (utc(2025, 6, 22, 12, 0), True),  # Sunday
    ],
)
def test_default_hours_edges(when: datetime, after: bool) -> None:
    assert is_after_hours(when, DEFAULT) is after


def test_zone_is_applied() -> None:
    hours = BusinessHours.from_values("America/New_York")
    # 12:30 UTC on a June Monday is 08:30 EDT: open; 22:30 UTC is 18:30 EDT: closed.
    assert not is_after_hours(utc(2025, 6, 16, 12, 30), hours)
    assert is_after_hours(utc(2025, 6, 16, 22, 30), hours)


def test_dst_start_moves_the_utc_boundary() -> None:
    hours = BusinessHours.from_values("America/New_York")
    # Same UTC clock time on the Mondays either side of 2025-03-09 (DST starts):
    assert is_after_hours(utc(2025, 3, 3, 12, 30), hours)  # 07:30 EST: closed
    assert not is_after_hours(utc(2025, 3, 10, 12, 30), hours)  # 08:30 EDT: open


def test_dst_end_moves_the_utc_boundary() -> None:
    hours = BusinessHours.from_values("America/New_York")
    assert not is_after_hours(utc(2025, 10, 27, 12, 30), hours)  # 08:30 EDT
    assert is_after_hours(utc(2025, 11, 3, 12, 30), hours)  # 07:30 EST


def test_holiday_is_after_hours_all_day_in_local_terms() -> None:
    hours = BusinessHours.from_values("America/New_York", holidays=[date(2025, 7, 4)])
    assert is_after_hours(utc(2025, 7, 4, 16, 0), hours)  # Friday noon EDT, holiday
    assert not is_after_hours(utc(2025, 7, 3, 16, 0), hours)
    # 01:00 UTC on the 5th is still the 4th (21:00) in New York: holiday, and after 18:00 anyway.
    assert is_after_hours(utc(2025, 7, 5, 1, 0), hours)


def test_custom_week_with_saturday_and_until_midnight() -> None:
    hours = BusinessHours.from_values(
        "UTC", {"sat": (time(10), time(14)), "sun": (time(20), time.max)}
    )
    assert not is_after_hours(utc(2025, 6, 21, 10, 0), hours)  # Saturday
    assert is_after_hours(utc(2025, 6, 16, 12, 0), hours)  # Monday is now closed
    assert not is_after_hours(utc(2025, 6, 22, 23, 59, 59), hours)  # Sunday "24:00"
    assert is_after_hours(utc(2025, 6, 22, 19, 59), hours)


def test_overnight_span_runs_into_the_next_morning() -> None:
    hours = BusinessHours.from_values("UTC", {"fri": (time(22), time(6))})
    assert not is_after_hours(utc(2025, 6, 20, 23, 0), hours)  # Friday night
    assert not is_after_hours(utc(2025, 6, 21, 5, 59), hours)  # Saturday small hours
    assert is_after_hours(utc(2025, 6, 21, 6, 0), hours)
    assert is_after_hours(utc(2025, 6, 20, 21, 59), hours)


def test_unknown_weekday_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown weekday"):
        BusinessHours.from_values("UTC", {"monday": (time(8), time(18))})


def test_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT.is_open(datetime(2025, 6, 16, 12, 0))


def test_built_from_the_config_section() -> None:
    config = BusinessHoursConfig(
        timezone="Europe/Berlin", hours={"sat": "09:00-24:00"}, holidays=[date(2025, 6, 28)]
    )
    hours = BusinessHours.from_values(config.timezone, config.parsed_hours(), config.holidays)
    assert not is_after_hours(utc(2025, 6, 21, 21, 59), hours)  # Sat 23:59 CEST
    assert is_after_hours(utc(2025, 6, 28, 12, 0), hours)  # holiday Saturday
