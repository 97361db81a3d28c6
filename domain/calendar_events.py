"""Which events of a provider's own calendar take their time (Google Calendar's event shape)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.local_time import start_of_day, zone_named


@dataclass(frozen=True)
class BusyEvent:
    """Busy time from one calendar event; the title is for the provider's eyes only."""

    event_id: str
    start: datetime
    end: datetime
    title: str | None


def busy_time(event: dict[str, Any], calendar_zone: str) -> BusyEvent | None:
    """The busy time an event blocks, or None when it blocks nothing.

    Cancelled events, events marked free (transparency "transparent") and events the calendar's
    owner declined block nothing; an all-day event blocks its whole days in the calendar's zone.
    """
    if event.get("status") == "cancelled" or event.get("transparency") == "transparent":
        return None
    if any(a.get("self") and a.get("responseStatus") == "declined" for a in event.get("attendees", [])):
        return None
    start, end = event.get("start", {}), event.get("end", {})
    if "dateTime" in start and "dateTime" in end:
        begins, ends = _instant(start), _instant(end)
    elif "date" in start and "date" in end:
        zone = _zone(calendar_zone)
        begins = start_of_day(date.fromisoformat(start["date"]), zone)
        ends = start_of_day(date.fromisoformat(end["date"]), zone)  # Google's end date is exclusive
    else:
        return None
    if ends <= begins:
        return None
    return BusyEvent(event["id"], begins, ends, event.get("summary"))


def _instant(moment: dict[str, str]) -> datetime:
    instant = datetime.fromisoformat(moment["dateTime"].replace("Z", "+00:00"))
    if instant.tzinfo is None:  # a floating time: read it in the event's own zone
        instant = instant.replace(tzinfo=_zone(moment.get("timeZone", "UTC")))
    return instant


def _zone(name: str) -> ZoneInfo:
    try:
        return zone_named(name)
    except ValueError:
        return ZoneInfo("UTC")
