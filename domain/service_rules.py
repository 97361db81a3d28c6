"""The booking rules a service carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from domain.errors import ValidationProblem

MINUTES_PER_YEAR = 366 * 24 * 60


@dataclass(frozen=True)
class ServiceRules:
    duration_minutes: int
    slot_interval_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 60
    min_notice_minutes: int = 60
    horizon_days: int = 90
    hold_minutes: int = 10

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.slot_interval_minutes)

    @property
    def buffer_before(self) -> timedelta:
        return timedelta(minutes=self.buffer_before_minutes)

    @property
    def buffer_after(self) -> timedelta:
        return timedelta(minutes=self.buffer_after_minutes)

    @property
    def min_notice(self) -> timedelta:
        return timedelta(minutes=self.min_notice_minutes)


# field name -> (lowest, highest) accepted
RULE_LIMITS: dict[str, tuple[int, int]] = {
    "durationMinutes": (1, 24 * 60),
    "slotIntervalMinutes": (1, 24 * 60),
    "bufferBeforeMinutes": (0, 24 * 60),
    "bufferAfterMinutes": (0, 24 * 60),
    "minNoticeMinutes": (0, MINUTES_PER_YEAR),
    "horizonDays": (1, 730),
    "holdMinutes": (1, 24 * 60),
}


def checked_rules(
    duration_minutes: int,
    slot_interval_minutes: int | None = None,
    buffer_before_minutes: int = 0,
    buffer_after_minutes: int = 60,
    min_notice_minutes: int = 60,
    horizon_days: int = 90,
    hold_minutes: int = 10,
) -> ServiceRules:
    """Rules from user input, each value checked against RULE_LIMITS."""
    values = {
        "durationMinutes": duration_minutes,
        "slotIntervalMinutes": duration_minutes if slot_interval_minutes is None else slot_interval_minutes,
        "bufferBeforeMinutes": buffer_before_minutes,
        "bufferAfterMinutes": buffer_after_minutes,
        "minNoticeMinutes": min_notice_minutes,
        "horizonDays": horizon_days,
        "holdMinutes": hold_minutes,
    }
    for name, value in values.items():
        lowest, highest = RULE_LIMITS[name]
        if not lowest <= value <= highest:
            raise ValidationProblem(name, f"must be between {lowest} and {highest}, got {value}")
    return ServiceRules(*values.values())


MAX_PRICE = Decimal("9999999999.99")


def checked_price(price: Decimal | None) -> Decimal | None:
    """A price of 0 or more, in whole cents."""
    if price is None:
        return None
    if not price.is_finite() or not Decimal(0) <= price <= MAX_PRICE:
        raise ValidationProblem("price", f"must be a number from 0 to {MAX_PRICE}")
    if price != price.quantize(Decimal("0.01")):
        raise ValidationProblem("price", "must have at most two decimal places")
    return price
