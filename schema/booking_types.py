"""Bookings, holds, suggestions and their typed failures."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db.reservation_queries import ReservationRecord
from domain.errors import (
    HoldExpiredProblem,
    IdempotencyConflictProblem,
    NotFoundProblem,
    Problem,
    SlotUnavailableProblem,
    ValidationProblem,
)
from domain.suggestions import Suggestion
from resolvers.booking import SmartBooking as SmartBookingRecord
from schema.errors import NotFound, ValidationError, as_error
from schema.types import SlotUnavailableReason


@strawberry.type(description="A confirmed (or later) appointment of a customer with a provider.")
class Booking:
    id: strawberry.ID
    service_id: strawberry.ID
    provider_id: strawberry.ID
    customer_id: str | None
    start: datetime
    end: datetime
    status: str = strawberry.field(
        description="PENDING, CONFIRMED, PAID, IN_PROGRESS, CANCELLED, COMPLETED, NO_SHOW"
    )
    cancel_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, r: ReservationRecord) -> Booking:
        return cls(
            id=strawberry.ID(str(r.id)),
            service_id=strawberry.ID(str(r.service_id)),
            provider_id=strawberry.ID(str(r.provider_id)),
            customer_id=r.customer_id,
            start=r.start,
            end=r.end,
            status=r.status,
            cancel_reason=r.cancel_reason,
            created_at=r.created_at,
        )


@strawberry.type(
    description="A slot kept for one customer until expiresAt; confirmHold turns it into a booking."
)
class Hold:
    id: strawberry.ID
    service_id: strawberry.ID
    customer_id: str | None
    start: datetime
    end: datetime
    expires_at: datetime
    status: str = strawberry.field(description="HELD, RELEASED, EXPIRED or CONVERTED")

    @classmethod
    def of(cls, r: ReservationRecord) -> Hold:
        assert r.expires_at is not None
        return cls(
            id=strawberry.ID(str(r.id)),
            service_id=strawberry.ID(str(r.service_id)),
            customer_id=r.customer_id,
            start=r.start,
            end=r.end,
            expires_at=r.expires_at,
            status=r.status,
        )


@strawberry.type(description="The slot cannot be taken; reason says why, as in the day view.")
class SlotUnavailable:
    reason: SlotUnavailableReason  # type: ignore[valid-type]
    message: str


@strawberry.type
class HoldExpired:
    hold_id: strawberry.ID
    message: str


@strawberry.type(description="This idempotency key was first used with other input.")
class IdempotencyConflict:
    idempotency_key: str
    message: str


@strawberry.type
class SlotSuggestion:
    start: datetime
    end: datetime
    score: int = strawberry.field(description="Out of 100: time proximity 50, duration fit 30, weekday 20.")
    time_difference_minutes: int = strawberry.field(
        description="Minutes from the preferred start (negative: before)."
    )

    @classmethod
    def of(cls, s: Suggestion) -> SlotSuggestion:
        return cls(
            start=s.start,
            end=s.end,
            score=s.score,
            time_difference_minutes=int(s.time_difference.total_seconds() // 60),
        )


@strawberry.type
class SmartBooking:
    booking: Booking
    score: int
    time_difference_minutes: int


Failure = ValidationError | NotFound | SlotUnavailable | HoldExpired | IdempotencyConflict


def failure(problem: Problem) -> Failure:
    if isinstance(problem, SlotUnavailableProblem):
        from domain.reasons import SlotReason

        return SlotUnavailable(reason=SlotReason(problem.reason), message=str(problem))
    if isinstance(problem, HoldExpiredProblem):
        return HoldExpired(hold_id=strawberry.ID(problem.hold_id), message=str(problem))
    if isinstance(problem, IdempotencyConflictProblem):
        return IdempotencyConflict(idempotency_key=problem.key, message=str(problem))
    assert isinstance(problem, ValidationProblem | NotFoundProblem)
    return as_error(problem)


def smart_booking(record: SmartBookingRecord) -> SmartBooking:
    return SmartBooking(
        booking=Booking.of(record.booking),
        score=record.score,
        time_difference_minutes=int(record.time_difference.total_seconds() // 60),
    )
