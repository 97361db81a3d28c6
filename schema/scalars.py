"""Scalars of the contract beyond Strawberry's own Date and DateTime."""

from __future__ import annotations

from typing import NewType

import strawberry

from domain.local_time import zone_named

TimeZone = NewType("TimeZone", str)


def _parse_zone(value: object) -> TimeZone:
    if not isinstance(value, str):
        raise ValueError("a time zone is an IANA name such as Europe/London")
    return TimeZone(zone_named(value).key)


SCALARS = {
    TimeZone: strawberry.scalar(
        name="TimeZone",
        description="An IANA time zone name, such as America/Los_Angeles; unknown names are refused.",
        serialize=str,
        parse_value=_parse_zone,
    )
}
