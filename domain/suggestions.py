"""Smart suggestions: available slots scored against a preferred start (second design)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from domain.occupancy import MICROSECOND, from_micros
from domain.reasons import AVAILABLE, SlotJudge
from domain.schedule import Schedule
from domain.slots import candidate_spans

# (at most this far from the preferred start, points)
PROXIMITY_POINTS = (
    (timedelta(0), 50),
    (timedelta(minutes=30), 40),
    (timedelta(hours=1), 30),
    (timedelta(hours=2), 20),
    (timedelta(hours=4), 10),
)
EXACT_FIT_POINTS = 30
LONGER_GAP_POINTS = 20
SAME_WEEKDAY_POINTS = 20


@dataclass(frozen=True)
class Suggestion:
    start: datetime
    end: datetime
    score: int
    time_difference: timedelta


def proximity_points(difference: timedelta) -> int:
    return next((points for limit, points in PROXIMITY_POINTS if abs(difference) <= limit), 0)


def suggest(
    schedule: Schedule,
    judge: SlotJudge,
    preferred: datetime,
    search_from: datetime,
    search_to: datetime,
    requested: timedelta,
    provider_zone: tzinfo,
    limit: int,
) -> list[Suggestion]:
    """The best `limit` available slots starting in [search_from, search_to); ties go to the earlier."""
    rules = judge.rules
    preferred_weekday = preferred.astimezone(provider_zone).weekday()
    scored = []
    starts, window_ends = candidate_spans(schedule, rules.duration, rules.interval, search_from, search_to)
    available = judge.codes(starts, starts + rules.duration // MICROSECOND) == AVAILABLE
    for begin, window_end in zip(starts[available].tolist(), window_ends[available].tolist(), strict=True):
        start = from_micros(begin)
        free_until = judge.free_until(start)
        free_end = min(from_micros(window_end), free_until) if free_until else from_micros(window_end)
        gap = free_end - start
        if gap < requested:
            continue
        score = proximity_points(start - preferred)
        score += EXACT_FIT_POINTS if gap == requested else LONGER_GAP_POINTS
        if start.astimezone(provider_zone).weekday() == preferred_weekday:
            score += SAME_WEEKDAY_POINTS
        scored.append(Suggestion(start, start + rules.duration, score, start - preferred))
    scored.sort(key=lambda s: (-s.score, s.start))
    return scored[:limit]
