"""Why a slot is unavailable, and why a whole date is: every reason and its precedence."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.occupancy import ReservationKind
from domain.reasons import DayReason, SlotReason, day_reason, horizon_end
from tests.domain.helpers import booking, busy, judge, rules, utc

NOW = utc(2027, 3, 1, 12, 0)
SLOT = utc(2027, 3, 3, 10, 0)  # a Wednesday, well inside notice and horizon
HOLD = ReservationKind.HOLD


def reason_at(
    start: datetime, *, service: object = None, now: datetime = NOW, **occupancy: list
) -> SlotReason | None:
    service = service or rules(duration=30, before=15, after=15, notice=60, horizon=30)
    j = judge(service, now, "UTC", occupancy.get("reservations"), occupancy.get("calendar"))  # type: ignore[arg-type]
    return j.judge(start, start + timedelta(minutes=30)).reason


@pytest.mark.parametrize(
    ("start", "occupancy", "expected"),
    [
        (utc(2027, 3, 1, 11, 59), {}, SlotReason.PAST),
        (utc(2027, 3, 1, 12, 0), {}, SlotReason.NOTICE_PERIOD),  # now itself is not past
        (utc(2027, 3, 1, 12, 59), {}, SlotReason.NOTICE_PERIOD),
        (utc(2027, 3, 1, 13, 0), {}, None),  # exactly now + notice is bookable
        (utc(2027, 3, 30, 23, 30), {}, None),  # last date inside the 30-day horizon
        (utc(2027, 3, 31, 0, 0), {}, SlotReason.BEYOND_HORIZON),
        (SLOT, {"reservations": [booking(SLOT + timedelta(minutes=29))]}, SlotReason.BOOKED),
        (SLOT, {"reservations": [booking(SLOT, kind=HOLD)]}, SlotReason.HELD),
        (SLOT, {"reservations": [booking(SLOT + timedelta(minutes=30))]}, SlotReason.BUFFER),  # our 15 after
        (SLOT, {"reservations": [booking(SLOT - timedelta(minutes=30))]}, SlotReason.BUFFER),  # our 15 before
        (
            SLOT,
            {"reservations": [booking(SLOT + timedelta(minutes=60))]},
            None,
        ),  # our 15 min after ends before it starts
        (
            SLOT,
            {"reservations": [booking(SLOT + timedelta(minutes=70), before=30)]},
            SlotReason.BUFFER,
        ),  # its buffer
        (SLOT, {"reservations": [booking(SLOT + timedelta(minutes=80), before=30)]}, None),
        (SLOT, {"calendar": [busy(SLOT + timedelta(minutes=29))]}, SlotReason.CALENDAR_CONFLICT),
        (SLOT, {"calendar": [busy(SLOT + timedelta(minutes=30))]}, None),  # buffers ignore calendar events
        (SLOT, {"calendar": [busy(SLOT - timedelta(minutes=30))]}, None),
    ],
)
def test_slot_reason(start: datetime, occupancy: dict, expected: SlotReason | None) -> None:
    assert reason_at(start, **occupancy) == expected


def test_precedence_follows_the_table_order() -> None:
    everything = {
        "reservations": [booking(SLOT, id="b"), booking(SLOT, kind=HOLD, id="h")],
        "calendar": [busy(SLOT)],
    }
    assert reason_at(SLOT, **everything) is SlotReason.BOOKED
    assert reason_at(SLOT, reservations=[booking(SLOT, kind=HOLD)], calendar=[busy(SLOT)]) is SlotReason.HELD
    near = booking(SLOT + timedelta(minutes=30))
    assert reason_at(SLOT, reservations=[near], calendar=[busy(SLOT)]) is SlotReason.BUFFER
    # time-based reasons come before any booking
    assert (
        reason_at(utc(2027, 3, 1, 12, 30), reservations=[booking(utc(2027, 3, 1, 12, 30))])
        is SlotReason.NOTICE_PERIOD
    )
    far = utc(2027, 4, 2, 10, 0)
    assert reason_at(far, reservations=[booking(far)]) is SlotReason.BEYOND_HORIZON


def test_the_blocker_is_reported_with_the_reason() -> None:
    j = judge(
        rules(), NOW, "UTC", [booking(SLOT, id="booking-7")], [busy(SLOT + timedelta(hours=2), title="Gym")]
    )
    assert j.judge(SLOT, SLOT + timedelta(minutes=30)).blocker.id == "booking-7"  # type: ignore[union-attr]
    later = SLOT + timedelta(hours=2)
    assert j.judge(later, later + timedelta(minutes=30)).blocker.title == "Gym"  # type: ignore[union-attr]


def test_horizon_counts_dates_in_the_provider_zone() -> None:
    # 2027-03-01 20:00 in Los Angeles is already 2027-03-02 in UTC; the provider's today is 03-01.
    now = datetime(2027, 3, 2, 4, 0, tzinfo=UTC)
    la = ZoneInfo("America/Los_Angeles")
    assert horizon_end(now, la, 90).astimezone(la).isoformat() == "2027-05-30T00:00:00-07:00"


def verdicts(*reasons: SlotReason | None) -> Counter[SlotReason | None]:
    return Counter(reasons)


R = SlotReason
LATER = utc(2027, 3, 4, 0, 0)


@pytest.mark.parametrize(
    ("day_end", "slots", "closed", "expected"),
    [
        (NOW, verdicts(), False, DayReason.PAST),  # ends exactly now
        (NOW, verdicts(), True, DayReason.PAST),  # PAST comes before BLOCKED
        (LATER, verdicts(R.PAST, R.PAST), False, DayReason.PAST),
        (LATER, verdicts(), True, DayReason.BLOCKED),
        (LATER, verdicts(), False, DayReason.NO_SERVICE_HOURS),
        (LATER, verdicts(R.PAST, R.BEYOND_HORIZON), False, DayReason.BEYOND_HORIZON),
        (LATER, verdicts(R.NOTICE_PERIOD, R.BEYOND_HORIZON), False, DayReason.NOTICE_PERIOD),
        (LATER, verdicts(R.NOTICE_PERIOD, R.NOTICE_PERIOD), False, DayReason.NOTICE_PERIOD),
        (LATER, verdicts(R.BOOKED, R.CALENDAR_CONFLICT), False, DayReason.FULLY_BOOKED),  # a tie is booked
        (LATER, verdicts(R.HELD, R.BUFFER, R.CALENDAR_CONFLICT), False, DayReason.FULLY_BOOKED),
        (
            LATER,
            verdicts(R.BUFFER, R.CALENDAR_CONFLICT, R.CALENDAR_CONFLICT),
            False,
            DayReason.CALENDAR_CONFLICTS,
        ),
        (LATER, verdicts(R.NOTICE_PERIOD, R.CALENDAR_CONFLICT), False, DayReason.CALENDAR_CONFLICTS),
        (LATER, verdicts(R.BOOKED, None), False, None),
    ],
)
def test_day_reason(
    day_end: datetime, slots: Counter[SlotReason | None], closed: bool, expected: DayReason | None
) -> None:
    assert day_reason(day_end, NOW, slots, closed) == expected


def test_dates_have_no_reason_when_one_slot_is_free() -> None:
    assert day_reason(LATER, NOW, verdicts(R.PAST, None), False) is None
    assert date(2027, 3, 3) == SLOT.date()
