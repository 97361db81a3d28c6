"""Inputs of the booking operations."""

from __future__ import annotations

from datetime import datetime

import strawberry

KEY = "Retries with the same key and input return the first result; other input gives IdempotencyConflict."


@strawberry.input
class HoldSlotInput:
    service_id: strawberry.ID
    start: datetime
    customer_id: str
    idempotency_key: str | None = strawberry.field(default=None, description=KEY)


@strawberry.input
class ConfirmHoldInput:
    hold_id: strawberry.ID
    customer_id: str
    idempotency_key: str | None = strawberry.field(default=None, description=KEY)


@strawberry.input
class CreateBookingInput:
    service_id: strawberry.ID
    start: datetime
    customer_id: str
    idempotency_key: str | None = strawberry.field(default=None, description=KEY)


@strawberry.input
class CancelBookingInput:
    booking_id: strawberry.ID
    customer_id: str | None = strawberry.field(default=None, description="When given, must own the booking.")
    reason: str | None = None


@strawberry.input
class RescheduleBookingInput:
    booking_id: strawberry.ID
    new_start: datetime
    customer_id: str | None = strawberry.field(default=None, description="When given, must own the booking.")
    idempotency_key: str | None = strawberry.field(default=None, description=KEY)


@strawberry.input
class SuggestSlotsInput:
    service_id: strawberry.ID
    preferred_start: datetime
    search_from: datetime | None = strawberry.field(
        default=None, description="Default: 3 days before, not before now."
    )
    search_to: datetime | None = strawberry.field(
        default=None, description="Default: 7 days after the preferred start."
    )
    duration_minutes: int | None = strawberry.field(
        default=None, description="Free time wanted; default the service's."
    )
    limit: int = 5


@strawberry.input
class SmartBookInput:
    service_id: strawberry.ID
    preferred_start: datetime
    customer_id: str
    search_from: datetime | None = None
    search_to: datetime | None = None
    idempotency_key: str | None = strawberry.field(default=None, description=KEY)
