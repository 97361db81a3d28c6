"""Views as JSON for the cache, and back."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from domain.availability import DayStatus, DayView, MonthView
from domain.occupancy import BusyInterval, Reservation, ReservationKind
from domain.reasons import DayReason, SlotReason, SlotVerdict

Json = dict[str, Any]


def month_to_json(view: MonthView) -> Json:
    return {
        "first": view.first_day.isoformat(),
        "until": view.stable_until.isoformat(),
        "days": [
            [d.day.isoformat(), d.available_slots, d.reason.value if d.reason else None] for d in view.days
        ],
    }


def month_from_json(data: Json) -> MonthView:
    return MonthView(
        date.fromisoformat(data["first"]),
        [DayStatus(date.fromisoformat(d), n, DayReason(r) if r else None) for d, n, r in data["days"]],
        datetime.fromisoformat(data["until"]),
    )


def day_to_json(view: DayView) -> Json:
    return {
        "day": view.day.isoformat(),
        "until": view.stable_until.isoformat(),
        "windows": view.windows,
        "slots": [
            [
                v.start.isoformat(),
                v.end.isoformat(),
                v.reason.value if v.reason else None,
                _blocker(v.blocker),
            ]
            for v in view.verdicts
        ],
    }


def day_from_json(data: Json) -> DayView:
    return DayView(
        date.fromisoformat(data["day"]),
        [
            SlotVerdict(
                datetime.fromisoformat(s),
                datetime.fromisoformat(e),
                SlotReason(r) if r else None,
                _unblocker(b),
            )
            for s, e, r, b in data["slots"]
        ],
        [(a, b) for a, b in data["windows"]],
        datetime.fromisoformat(data["until"]),
    )


def _blocker(blocker: Reservation | BusyInterval | None) -> list[Any] | None:
    if isinstance(blocker, Reservation):
        return [
            "reservation",
            blocker.id,
            blocker.kind.value,
            blocker.start.isoformat(),
            blocker.end.isoformat(),
            blocker.buffer_before.total_seconds(),
            blocker.buffer_after.total_seconds(),
        ]
    if isinstance(blocker, BusyInterval):
        return ["busy", blocker.id, blocker.start.isoformat(), blocker.end.isoformat(), blocker.title]
    return None


def _unblocker(data: list[Any] | None) -> Reservation | BusyInterval | None:
    if data is None:
        return None
    if data[0] == "reservation":
        _, id, kind, start, end, before, after = data
        return Reservation(
            id,
            ReservationKind(kind),
            datetime.fromisoformat(start),
            datetime.fromisoformat(end),
            timedelta(seconds=before),
            timedelta(seconds=after),
        )
    _, id, start, end, title = data
    return BusyInterval(id, datetime.fromisoformat(start), datetime.fromisoformat(end), title)
