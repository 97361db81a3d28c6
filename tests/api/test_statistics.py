"""availabilityStatistics over HTTP against real PostgreSQL, checked against hand-computed figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import insert

from db.reservation_queries import insert_reservation
from db.tables import calendar_busy_intervals
from domain.local_time import local_to_instant
from domain.occupancy import ReservationKind
from domain.service_rules import ServiceRules
from tests.api.fixtures import ADD_EXCEPTION, CREATE_PROVIDER, CREATE_SERVICE, SET_WEEK, week
from tests.conftest import Clock, gql, gql_errors

LA = ZoneInfo("America/Los_Angeles")
WEEKDAYS_ONLY = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]

STATISTICS = """query($provider: ID!, $from: Date!, $to: Date!, $service: ID) {
  availabilityStatistics(providerId: $provider, from: $from, to: $to, serviceId: $service) {
    providerId serviceId from to timezone
    availableMinutes bookedMinutes openMinutes utilizationRate
    bookings cancellations revenuePotential nextAvailableSlot busiestWeekday } }"""

FIGURES = (
    "availableMinutes",
    "bookedMinutes",
    "openMinutes",
    "utilizationRate",
    "bookings",
    "cancellations",
    "revenuePotential",
    "nextAvailableSlot",
    "busiestWeekday",
)


def la(day: int, hhmm: str) -> datetime:
    """hh:mm on 2027-03-`day`, Los Angeles wall time."""
    hours, minutes = map(int, hhmm.split(":"))
    return local_to_instant(date(2027, 3, day), hours * 60 + minutes, LA)


async def reserve(
    engine: Any,
    provider_id: str,
    service_id: str,
    start: datetime,
    minutes: int,
    status: str = "CONFIRMED",
    kind: ReservationKind = ReservationKind.BOOKING,
    expires_at: datetime | None = None,
) -> None:
    """Straight into the table (no buffers), as if booked long ago."""
    async with engine.begin() as conn:
        await insert_reservation(
            conn,
            provider_id=UUID(provider_id),
            service_id=UUID(service_id),
            rules=ServiceRules(minutes, minutes, 0, 0, 0, 90, 10),
            start=start,
            kind=kind,
            status=status,
            expires_at=expires_at,
        )


async def calendar_busy(engine: Any, provider_id: str, start: datetime, end: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(calendar_busy_intervals).values(
                provider_id=UUID(provider_id), start_at=start, end_at=end, title="Private"
            )
        )


async def clinic(client: httpx.AsyncClient, engine: Any) -> tuple[str, str, str]:
    """A Los Angeles provider open 09:00-17:00 Monday to Friday, and the week of 2027-03-08.

    Consultation: 60-minute slots every 60 minutes, 50.00. Intro call: 30-minute slots, no price.
    Both use the provider's schedule, no buffers, no notice.

    Mon 03-08  09:00-10:00 Consultation CONFIRMED; 11:00-12:00 a hold that expired 2027-03-01 11:00Z
    Tue 03-09  16:30-17:30 Consultation PENDING (half of it after the window)
    Wed 03-10  closed
    Thu 03-11  10:00-12:00 Consultation PAID; 14:00-15:00 Consultation CANCELLED;
               calendar busy 11:30-12:30
    Fri 03-12  09:00-10:00 live hold (Consultation); calendar busy 09:30-11:00
    Sat 03-13  no hours
    Sun 03-14  the DST date: a window 01:00-04:00 (02:00-03:00 does not exist: 2 real hours,
               09:00Z-11:00Z); 01:00 PST-03:00 PDT (60 real minutes) Intro call CONFIRMED
    Mon 03-15  09:00-10:00 Consultation CONFIRMED (after the period)
    """
    provider = (await gql(client, CREATE_PROVIDER, name="Clinic", tz="America/Los_Angeles"))["createProvider"]
    provider_id = provider["id"]
    await gql(
        client, SET_WEEK, input={"providerId": provider_id, "days": week("09:00-17:00", days=WEEKDAYS_ONLY)}
    )
    services = []
    for name, minutes, price in (("Consultation", 60, "50.00"), ("Intro call", 30, None)):
        fields = {
            "providerId": provider_id,
            "name": name,
            "durationMinutes": minutes,
            "bufferAfterMinutes": 0,
            "minNoticeMinutes": 0,
            "price": price,
        }
        created = (await gql(client, CREATE_SERVICE, input=fields))["createService"]
        assert created["__typename"] == "Service", created
        services.append(created["id"])
    consultation, intro = services
    for exception in (
        {"date": "2027-03-10", "closed": True, "reason": "Training"},
        {"date": "2027-03-14", "windows": [{"start": "01:00", "end": "04:00"}]},
    ):
        added = await gql(client, ADD_EXCEPTION, input={"providerId": provider_id, **exception})
        assert added["addDateException"]["__typename"] == "Schedule", added

    await reserve(engine, provider_id, consultation, la(8, "09:00"), 60)
    await reserve(
        engine,
        provider_id,
        consultation,
        la(8, "11:00"),
        60,
        "HELD",
        ReservationKind.HOLD,
        datetime(2027, 3, 1, 11, tzinfo=UTC),
    )
    await reserve(engine, provider_id, consultation, la(9, "16:30"), 60, "PENDING")
    await reserve(engine, provider_id, consultation, la(11, "10:00"), 120, "PAID")
    await reserve(engine, provider_id, consultation, la(11, "14:00"), 60, "CANCELLED")
    await calendar_busy(engine, provider_id, la(11, "11:30"), la(11, "12:30"))
    await reserve(
        engine,
        provider_id,
        consultation,
        la(12, "09:00"),
        60,
        "HELD",
        ReservationKind.HOLD,
        datetime(2027, 4, 1, tzinfo=UTC),
    )
    await calendar_busy(engine, provider_id, la(12, "09:30"), la(12, "11:00"))
    assert la(14, "01:00") == datetime(2027, 3, 14, 9, tzinfo=UTC)
    await reserve(engine, provider_id, intro, la(14, "01:00"), 60)
    await reserve(engine, provider_id, consultation, la(15, "09:00"), 60)
    return provider_id, consultation, intro


async def statistics(
    client: httpx.AsyncClient, provider_id: str, service_id: str | None = None
) -> dict[str, Any]:
    found = await gql(
        client,
        STATISTICS,
        provider=provider_id,
        service=service_id,
        **{"from": "2027-03-08", "to": "2027-03-14"},
    )
    return found["availabilityStatistics"]  # type: ignore[no-any-return]


async def test_statistics_against_hand_computed_figures(client: httpx.AsyncClient, engine: Any) -> None:
    provider_id, consultation, intro = await clinic(client, engine)

    everything = await statistics(client, provider_id)
    assert everything["providerId"] == provider_id and everything["serviceId"] is None
    assert (everything["from"], everything["to"]) == ("2027-03-08", "2027-03-14")
    assert everything["timezone"] == "America/Los_Angeles"
    # now = 2027-03-01 04:00 PST: every slot of the period lies ahead.
    # available: Mon, Tue, Thu, Fri 4 x 480 = 1920; Wed closed 0; Sat 0; Sun 01:00 PST-04:00 PDT 120
    #   = 2040
    # booked: Mon 60 + Tue 30 (16:30-17:00 of 16:30-17:30) + Thu 120 + Sun 60 = 270
    #   (the cancelled Thu booking and the holds are not booked; Mon 03-15 is after the period)
    # taken (unioned, inside the windows): the 270 booked + Thu busy 12:00-12:30 (11:30-12:00 lies
    #   under the PAID booking) 30 + Fri hold 09:00-10:00 with busy 09:30-11:00 = 09:00-11:00 120
    #   = 420; the Mon hold expired before now and takes nothing. open = 2040 - 420 = 1620
    # utilization: 270 / 2040 = 0.13235... -> 0.1324
    # bookings starting in the period: Mon, Tue, Thu PAID, Thu CANCELLED, Sun = 5; cancellations 1
    # revenue: available Consultation slots (hourly from 09:00, the last at 16:00):
    #   Mon 8 - 09:00 booked = 7 (11:00 is free: its hold expired)
    #   Tue 8 - 16:00 (meets 16:30-17:30) = 7
    #   Thu 8 - 10:00, 11:00 booked - 12:00 busy = 5
    #   Fri 8 - 09:00 held - 10:00 busy = 6
    #   Sun starts 09:00Z and 10:00Z (10:00Z + 60 min = the window's end) - 09:00Z booked by the
    #   Intro call (a provider's bookings block all its services) = 1
    #   26 x 50.00 = 1300.00; the Intro call has no price: 0
    # next available: 2027-03-01 09:00 PST (both services)
    # busiest weekday: Thursday (120) over Monday (60), Sunday (60), Tuesday (30)
    assert {k: everything[k] for k in FIGURES} == {
        "availableMinutes": 2040,
        "bookedMinutes": 270,
        "openMinutes": 1620,
        "utilizationRate": 0.1324,
        "bookings": 5,
        "cancellations": 1,
        "revenuePotential": "1300.00",
        "nextAvailableSlot": "2027-03-01T09:00:00-08:00",
        "busiestWeekday": "THURSDAY",
    }

    # The Consultation alone: the same windows (it uses the provider's schedule and exceptions).
    # booked: Mon 60 + Tue 30 + Thu 120 = 210 (Sunday's booking is the Intro call's); open still
    # 1620, the Intro call's booking takes the provider's time; 210 / 2040 = 0.10294 -> 0.1029;
    # bookings 4 (Mon, Tue, Thu PAID, Thu CANCELLED), cancellations 1; revenue 26 x 50.00
    alone = await statistics(client, provider_id, consultation)
    assert alone["serviceId"] == consultation
    assert {k: alone[k] for k in FIGURES} == {
        "availableMinutes": 2040,
        "bookedMinutes": 210,
        "openMinutes": 1620,
        "utilizationRate": 0.1029,
        "bookings": 4,
        "cancellations": 1,
        "revenuePotential": "1300.00",
        "nextAvailableSlot": "2027-03-01T09:00:00-08:00",
        "busiestWeekday": "THURSDAY",
    }

    # The Intro call: booked only Sunday's 60 real minutes (01:00 PST-03:00 PDT); 60 / 2040 =
    # 0.02941 -> 0.0294; no price: revenue 0.00
    call = await statistics(client, provider_id, intro)
    assert {k: call[k] for k in FIGURES} == {
        "availableMinutes": 2040,
        "bookedMinutes": 60,
        "openMinutes": 1620,
        "utilizationRate": 0.0294,
        "bookings": 1,
        "cancellations": 0,
        "revenuePotential": "0.00",
        "nextAvailableSlot": "2027-03-01T09:00:00-08:00",
        "busiestWeekday": "SUNDAY",
    }


async def test_revenue_and_next_slot_follow_the_clock(
    client: httpx.AsyncClient, engine: Any, clock: Clock
) -> None:
    provider_id, consultation, _ = await clinic(client, engine)
    clock.now = la(11, "09:20")  # Thursday, inside the period; the Friday hold is still live

    everything = await statistics(client, provider_id)
    # Time figures do not depend on the clock: 2040, 270, 1620 as before.
    # revenue: Mon, Tue and Thu 09:00 are past; Thu 13:00-16:00 4 + Fri 6 + Sun 1 = 11 x 50.00
    # next: the Intro call's 09:30-10:00 (the PAID booking starts at 10:00; no buffers)
    assert {k: everything[k] for k in FIGURES} == {
        "availableMinutes": 2040,
        "bookedMinutes": 270,
        "openMinutes": 1620,
        "utilizationRate": 0.1324,
        "bookings": 5,
        "cancellations": 1,
        "revenuePotential": "550.00",
        "nextAvailableSlot": "2027-03-11T09:30:00-08:00",
        "busiestWeekday": "THURSDAY",
    }
    # the Consultation's next: 10:00 and 11:00 booked, 12:00 busy -> 13:00
    alone = await statistics(client, provider_id, consultation)
    assert (alone["revenuePotential"], alone["nextAvailableSlot"]) == ("550.00", "2027-03-11T13:00:00-08:00")


async def test_a_provider_without_bookings_or_hours(client: httpx.AsyncClient) -> None:
    provider = (await gql(client, CREATE_PROVIDER, name="New", tz="Europe/London"))["createProvider"]
    found = await gql(
        client, STATISTICS, provider=provider["id"], **{"from": "2027-03-01", "to": "2027-03-01"}
    )
    assert {k: found["availabilityStatistics"][k] for k in FIGURES} == {
        "availableMinutes": 0,
        "bookedMinutes": 0,
        "openMinutes": 0,
        "utilizationRate": 0.0,
        "bookings": 0,
        "cancellations": 0,
        "revenuePotential": "0.00",
        "nextAvailableSlot": None,
        "busiestWeekday": None,
    }


async def test_bad_periods_and_ids_are_errors_naming_the_field(client: httpx.AsyncClient) -> None:
    provider = (await gql(client, CREATE_PROVIDER, name="P", tz="America/Los_Angeles"))["createProvider"]
    other = (await gql(client, CREATE_PROVIDER, name="Q", tz="America/Los_Angeles"))["createProvider"]
    theirs = (
        await gql(
            client, CREATE_SERVICE, input={"providerId": other["id"], "name": "S", "durationMinutes": 30}
        )
    )["createService"]["id"]

    async def error(provider_id: str, first: str, last: str, service_id: str | None = None) -> dict[str, Any]:
        errors = await gql_errors(
            client, STATISTICS, provider=provider_id, service=service_id, **{"from": first, "to": last}
        )
        return errors[0]["extensions"]  # type: ignore[no-any-return]

    assert await error(provider["id"], "2027-03-02", "2027-03-01") == {
        "code": "VALIDATION_ERROR",
        "field": "to",
    }
    # 2027-03-01 .. 2028-03-01 is 367 dates (2028 is a leap year); one fewer is fine
    assert await error(provider["id"], "2027-03-01", "2028-03-01") == {
        "code": "VALIDATION_ERROR",
        "field": "to",
    }
    await gql(client, STATISTICS, provider=provider["id"], **{"from": "2027-03-01", "to": "2028-02-29"})
    assert await error(provider["id"], "2000-01-01", "2000-01-02") == {
        "code": "VALIDATION_ERROR",
        "field": "from",
    }
    assert await error(str(UUID(int=7)), "2027-03-01", "2027-03-02") == {
        "code": "NOT_FOUND",
        "field": "providerId",
    }
    assert await error("nope", "2027-03-01", "2027-03-02") == {"code": "NOT_FOUND", "field": "providerId"}
    assert await error(provider["id"], "2027-03-01", "2027-03-02", theirs) == {
        "code": "NOT_FOUND",
        "field": "serviceId",
    }


def test_hand_computed_dst_date_is_two_real_hours() -> None:
    assert la(14, "04:00") - la(14, "01:00") == timedelta(hours=2)
