"""UTC datetimes and their ISO text, as the spec's JSON shows them.

All datetimes of the core are tz-aware and normalised to UTC; a naive one is a bug in the caller
and raises ``ValueError`` at once rather than producing the spec's naive/aware mix-ups.
"""

from __future__ import annotations

from datetime import UTC, datetime


def ensure_utc(value: datetime, name: str = "datetime") -> datetime:
    """Return ``value`` in UTC; refuse naive datetimes (they are always a caller bug here)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix, as the spec's JSON shows ("2025-06-17T10:30:00Z")."""
    if value is None:
        return None
    return ensure_utc(value).isoformat().replace("+00:00", "Z")


def parse_iso_utc(value: str | None) -> datetime | None:
    """Inverse of ``iso_utc``; a string without an offset is refused, never assumed local."""
    if value is None:
        return None
    return ensure_utc(datetime.fromisoformat(value.replace("Z", "+00:00")), value)
