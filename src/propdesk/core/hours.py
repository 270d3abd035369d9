"""Business hours: is an instant inside the office's opening hours?

Why it matters: ``after_hours`` (and so the after-hours emergency escalation) is decided from the
time *our mail server received* the message, never the sender's Date header, which the sender
controls. The check converts that UTC instant to the configured zone with zoneinfo, so DST
changes move the UTC boundaries as they should. Built from plain values; ``app.py`` converts
``propdesk.config.BusinessHoursConfig`` (see ``parsed_hours()``) with ``BusinessHours.from_values``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from zoneinfo import ZoneInfo

from propdesk.core.models import ensure_utc

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Span = tuple[time, time]


def _default_week() -> Mapping[int, Span]:
    return MappingProxyType({day: (time(8), time(18)) for day in range(5)})


@dataclass(frozen=True)
class BusinessHours:
    """Weekly opening hours in one time zone, closed on holidays.

    ``weekly`` maps a weekday (0 = Monday) to (open, close) local times; a missing day is closed.
    ``close == time.max`` means "until midnight" (config "24:00"); ``close <= open`` is an
    overnight span that continues into the next morning. Holidays are local dates on which the
    office does not open (the early-morning tail of the previous day's overnight span still counts).
    """

    timezone: tzinfo = UTC
    weekly: Mapping[int, Span] = field(default_factory=_default_week)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_values(
        cls,
        timezone: str = "UTC",
        hours: Mapping[str, Span] | None = None,
        holidays: Iterable[date] = (),
    ) -> BusinessHours:
        """From config-shaped values: an IANA zone name, {"mon": (open, close), ...}, dates."""
        weekly: Mapping[int, Span] = _default_week()
        if hours is not None:
            unknown = sorted(set(hours) - set(WEEKDAYS))
            if unknown:
                raise ValueError(f"unknown weekday(s) {unknown}; use {', '.join(WEEKDAYS)}")
            weekly = MappingProxyType({WEEKDAYS.index(d): span for d, span in hours.items()})
        return cls(ZoneInfo(timezone), weekly, frozenset(holidays))

    def is_open(self, when: datetime) -> bool:
        """True when ``when`` (tz-aware) falls inside opening hours."""
        local = ensure_utc(when, "when").astimezone(self.timezone)
        now = local.time().replace(tzinfo=None)
        today = local.date()
        span = self.weekly.get(today.weekday())
        if span is not None and today not in self.holidays and _opens_today(span, now):
            return True
        yesterday = today - timedelta(days=1)
        prev = self.weekly.get(yesterday.weekday())
        return prev is not None and yesterday not in self.holidays and _tail_covers(prev, now)


def _overnight(span: Span) -> bool:
    start, end = span
    return end != time.max and end <= start


def _opens_today(span: Span, now: time) -> bool:
    start, end = span
    if end == time.max or _overnight(span):
        return now >= start
    return start <= now < end


def _tail_covers(span: Span, now: time) -> bool:
    """The part of yesterday's overnight span that runs past midnight."""
    return _overnight(span) and now < span[1]


def is_after_hours(received_at: datetime, hours: BusinessHours) -> bool:
    """The spec's ``after_hours`` flag: received outside business hours (urgency plays no part)."""
    return not hours.is_open(received_at)
