"""Turning local wall-clock times into instants, the way the rules ask.

A local time that does not exist (the spring-forward gap) moves forward to the
first instant that does; an ambiguous one (fall-back) takes its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, available_timezones

from domain.errors import ValidationProblem

MINUTES_PER_DAY = 24 * 60


@lru_cache(maxsize=1 << 16)
def local_to_instant(day: date, minute_of_day: int, zone: tzinfo) -> datetime:
    """The UTC instant of `minute_of_day` (0..1440; 1440 is the next midnight) on `day`."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minute_of_day)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall_clock(first, zone) == wall:
        return first
    # In a gap: fold=0 reads the wall time with the offset from before the
    # transition (an instant after it), fold=1 with the offset from after (an
    # instant before it). The transition is the first instant whose wall time
    # is later than `wall`.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _wall_clock(middle, zone) > wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def start_of_day(day: date, zone: tzinfo) -> datetime:
    return local_to_instant(day, 0, zone)


def local_date(instant: datetime, zone: tzinfo) -> date:
    return instant.astimezone(zone).date()


def _wall_clock(instant: datetime, zone: tzinfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def zone_named(name: str, field: str = "timezone") -> ZoneInfo:
    """The IANA zone called `name`; anything else is a ValidationProblem naming `field`."""
    if name not in _known_zones():
        raise ValidationProblem(field, f"'{name[:64]}' is not an IANA time zone (e.g. Europe/London)")
    return ZoneInfo(name)


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())
