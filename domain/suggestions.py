"""Smart suggestions: available slots scored against a preferred start (second design)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from domain.reasons import SlotJudge
from domain.schedule import Schedule
from domain.slots import candidates_between

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
    for candidate in candidates_between(schedule, rules.duration, rules.interval, search_from, search_to):
        if not judge.judge(candidate.start, candidate.end).available:
            continue
        free_end = min(filter(None, (candidate.window_end, judge.free_until(candidate.start))))
        gap = free_end - candidate.start
        if gap < requested:
            continue
        score = proximity_points(candidate.start - preferred)
        score += EXACT_FIT_POINTS if gap == requested else LONGER_GAP_POINTS
        if candidate.start.astimezone(provider_zone).weekday() == preferred_weekday:
            score += SAME_WEEKDAY_POINTS
        scored.append(Suggestion(candidate.start, candidate.end, score, candidate.start - preferred))
    scored.sort(key=lambda s: (-s.score, s.start))
    return scored[:limit]
