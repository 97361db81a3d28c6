"""The versioned JSON document of a provider's whole availability setup, for export and import.

    {"format": "slotwise.availability", "version": 1,
     "provider": {"name", "timezone", "scheduleTimezone"?},
     "weeklySchedule": {"timezone"?, "days": [{"weekday": "MONDAY", "windows": [{"start", "end"}]}]},
     "services": [{"name", "durationMinutes", "slotIntervalMinutes"?, "bufferBeforeMinutes"?,
                   "bufferAfterMinutes"?, "minNoticeMinutes"?, "horizonDays"?, "holdMinutes"?,
                   "price"? ("25.00" or null), "schedule"? (null or {"timezone"?, "days"})}],
     "exceptions": [{"date", "closed", "windows"?, "reason"?, "service"? (null: the provider's)}],
     "dateWindows": [{"date", "start", "end", "reason"?}]}

`parse_document` checks a parsed JSON value against every rule the setup API enforces and
returns a typed document, or raises a ValidationProblem whose `field` is the JSON path at
fault ("services[1].durationMinutes", "weeklySchedule.days[0].windows[1]"; "document" for the
whole). `document_json` writes the document back; the two are inverse for what export writes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.availability import check_view_distance
from domain.errors import ValidationProblem, checked_text
from domain.local_time import local_date, zone_named
from domain.schedule import (
    WEEKDAYS,
    DateException,
    Window,
    format_minutes,
    parse_minutes,
    parse_week,
    parse_windows,
)
from domain.service_rules import ServiceRules, checked_price, checked_rules

FORMAT = "slotwise.availability"
VERSION = 1
MAX_ITEMS = 10_000  # per list of the document
ROOT = "document"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class WeekSpec:
    """A weekly schedule: windows per weekday (0 = Monday) in `timezone`; empty days left out."""

    timezone: str
    days: dict[int, tuple[Window, ...]]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    rules: ServiceRules
    price: Decimal | None
    schedule: WeekSpec | None  # None: the provider's weekly schedule


@dataclass(frozen=True)
class ExceptionSpec:
    service: str | None  # the service's name; None: the provider's (every service)
    exception: DateException


@dataclass(frozen=True)
class DateWindowSpec:
    """An extra window on one date of the provider's schedule."""

    day: date
    window: Window
    reason: str | None


@dataclass(frozen=True)
class AvailabilityDocument:
    provider_name: str
    timezone: str
    week: WeekSpec
    services: tuple[ServiceSpec, ...]
    exceptions: tuple[ExceptionSpec, ...]
    date_windows: tuple[DateWindowSpec, ...]


# ---------------------------------------------------------------- reading


def parse_document(value: object, now: datetime) -> AvailabilityDocument:
    """A checked document from parsed JSON; dates must lie within the views' reach of `now`."""
    if not isinstance(value, dict):
        raise ValidationProblem(ROOT, "must be a JSON object")
    _check_header(value)
    top = _object(
        value,
        "",
        ("format", "version", "provider", "weeklySchedule", "services", "exceptions", "dateWindows"),
    )
    provider = _object(top["provider"], "provider", ("name", "timezone"), ("scheduleTimezone",))
    name = _text(provider["name"], "provider.name")
    timezone = zone_named(_string(provider["timezone"], "provider.timezone"), "provider.timezone").key
    schedule_zone = _zone_or_none(provider.get("scheduleTimezone"), "provider.scheduleTimezone")
    week = _week(top["weeklySchedule"], "weeklySchedule", schedule_zone or timezone)
    if schedule_zone is not None and schedule_zone != week.timezone:
        raise ValidationProblem(
            "provider.scheduleTimezone", f"is {schedule_zone} but weeklySchedule.timezone is {week.timezone}"
        )
    services = _services(top["services"], timezone)
    today = local_date(now, zone_named(timezone))
    names = {s.name for s in services}
    exceptions = _exceptions(top["exceptions"], names, today)
    date_windows = _date_windows(top["dateWindows"], today)
    return AvailabilityDocument(name, timezone, week, services, exceptions, date_windows)


def _check_header(value: Mapping[str, object]) -> None:
    """Format and version first: a newer document is 'unknown version', not 'unknown key'."""
    if "format" not in value:
        raise ValidationProblem("format", f'is required: "{FORMAT}"')
    if value["format"] != FORMAT:
        raise ValidationProblem("format", f'must be "{FORMAT}"')
    if "version" not in value:
        raise ValidationProblem("version", f"is required: {VERSION}")
    version = value["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValidationProblem("version", "must be a whole number")
    if version != VERSION:
        raise ValidationProblem(
            "version", f"version {version} is not known; this server reads version {VERSION}"
        )


def _services(value: object, provider_zone: str) -> tuple[ServiceSpec, ...]:
    found: list[ServiceSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(_list(value, "services")):
        where = f"services[{index}]"
        spec = _service(item, where, provider_zone)
        if spec.name in seen:
            raise ValidationProblem(f"{where}.name", f"service name '{spec.name}' is given twice")
        seen.add(spec.name)
        found.append(spec)
    return tuple(found)


_RULE_KEYS = (
    "slotIntervalMinutes",
    "bufferBeforeMinutes",
    "bufferAfterMinutes",
    "minNoticeMinutes",
    "horizonDays",
    "holdMinutes",
)


def _service(value: object, where: str, provider_zone: str) -> ServiceSpec:
    fields = _object(value, where, ("name", "durationMinutes"), (*_RULE_KEYS, "price", "schedule"))
    name = _text(fields["name"], f"{where}.name")
    duration = _int(fields["durationMinutes"], f"{where}.durationMinutes")
    given = {key: _int(fields[key], f"{where}.{key}") for key in _RULE_KEYS if fields.get(key) is not None}
    raw_price = _price(fields.get("price"), f"{where}.price")
    try:
        rules = checked_rules(
            duration,
            given.get("slotIntervalMinutes"),
            given.get("bufferBeforeMinutes", 0),
            given.get("bufferAfterMinutes", 60),
            given.get("minNoticeMinutes", 60),
            given.get("horizonDays", 90),
            given.get("holdMinutes", 10),
        )
        price = checked_price(raw_price)
    except ValidationProblem as problem:
        raise ValidationProblem(_at(where, problem.field), problem.message) from None
    schedule = fields.get("schedule")
    own = None if schedule is None else _week(schedule, f"{where}.schedule", provider_zone)
    return ServiceSpec(name, rules, price, own)


def _exceptions(value: object, service_names: set[str], today: date) -> tuple[ExceptionSpec, ...]:
    found: list[ExceptionSpec] = []
    owners: set[tuple[str | None, date]] = set()
    for index, item in enumerate(_list(value, "exceptions")):
        where = f"exceptions[{index}]"
        fields = _object(item, where, ("date", "closed"), ("windows", "reason", "service"))
        day = _date(fields["date"], f"{where}.date", today)
        closed = _bool(fields["closed"], f"{where}.closed")
        windows = parse_windows(_spans(fields.get("windows", []), f"{where}.windows"), f"{where}.windows")
        if closed and windows:
            raise ValidationProblem(f"{where}.windows", "a closed date has no windows")
        if not closed and not windows:
            raise ValidationProblem(f"{where}.windows", "give the date's own windows, or set closed: true")
        reason = _reason(fields.get("reason"), f"{where}.reason")
        service = fields.get("service")
        if service is not None:
            service = _string(service, f"{where}.service").strip()
            if service not in service_names:
                raise ValidationProblem(f"{where}.service", f"no service named '{service[:64]}' in services")
        if (service, day) in owners:
            owner = f"service '{service}'" if service else "the provider"
            raise ValidationProblem(f"{where}.date", f"{owner} already has an exception on {day}")
        owners.add((service, day))
        found.append(ExceptionSpec(service, DateException(day, closed, windows, reason)))
    return tuple(found)


def _date_windows(value: object, today: date) -> tuple[DateWindowSpec, ...]:
    found: list[tuple[int, DateWindowSpec]] = []
    for index, item in enumerate(_list(value, "dateWindows")):
        where = f"dateWindows[{index}]"
        fields = _object(item, where, ("date", "start", "end"), ("reason",))
        day = _date(fields["date"], f"{where}.date", today)
        start = parse_minutes(_string(fields["start"], f"{where}.start"), f"{where}.start")
        end = parse_minutes(_string(fields["end"], f"{where}.end"), f"{where}.end")
        if end <= start:
            raise ValidationProblem(
                where, f"window {format_minutes(start)}-{format_minutes(end)} must end after it starts"
            )
        found.append(
            (index, DateWindowSpec(day, Window(start, end), _reason(fields.get("reason"), f"{where}.reason")))
        )
    ordered = sorted(found, key=lambda item: (item[1].day, item[1].window, item[0]))
    for (_, before), (index, after) in itertools.pairwise(ordered):
        if before.day == after.day and after.window.start_minute <= before.window.end_minute:
            raise ValidationProblem(
                f"dateWindows[{index}]",
                f"{after.day}: windows {_span(before.window)} and {_span(after.window)} "
                f"{'touch' if after.window.start_minute == before.window.end_minute else 'overlap'}"
                " (make them one window)",
            )
    return tuple(spec for _, spec in found)


def _week(value: object, where: str, default_zone: str) -> WeekSpec:
    fields = _object(value, where, ("days",), ("timezone",))
    zone = _zone_or_none(fields.get("timezone"), f"{where}.timezone") or default_zone
    pairs: list[tuple[int, list[tuple[str, str]]]] = []
    for index, item in enumerate(_list(fields["days"], f"{where}.days")):
        day_at = f"{where}.days[{index}]"
        day = _object(item, day_at, ("weekday", "windows"))
        weekday = _string(day["weekday"], f"{day_at}.weekday")
        if weekday not in WEEKDAYS:
            raise ValidationProblem(f"{day_at}.weekday", f"must be one of {', '.join(WEEKDAYS)}")
        pairs.append((WEEKDAYS.index(weekday), _spans(day["windows"], f"{day_at}.windows")))
    return WeekSpec(zone, parse_week(pairs, f"{where}.days"))


def _spans(value: object, where: str) -> list[tuple[str, str]]:
    spans = []
    for index, item in enumerate(_list(value, where)):
        fields = _object(item, f"{where}[{index}]", ("start", "end"))
        spans.append(
            (
                _string(fields["start"], f"{where}[{index}].start"),
                _string(fields["end"], f"{where}[{index}].end"),
            )
        )
    return spans


def _object(
    value: object, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ValidationProblem(where or ROOT, "must be a JSON object")
    for key in value:
        if key not in required and key not in optional:
            raise ValidationProblem(_at(where, str(key)[:64]), "is not a known key")
    for key in required:
        if key not in value:
            raise ValidationProblem(_at(where, key), "is required")
    return {str(k): v for k, v in value.items()}


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise ValidationProblem(where, "must be a JSON array")
    if len(value) > MAX_ITEMS:
        raise ValidationProblem(where, f"must have at most {MAX_ITEMS} items")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValidationProblem(where, "must be a string")
    return value


def _text(value: object, where: str) -> str:
    return checked_text(_string(value, where), where)


def _reason(value: object, where: str) -> str | None:
    if value is None:
        return None
    return checked_text(_string(value, where), where, 500, required=False) or None


def _int(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationProblem(where, "must be a whole number")
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationProblem(where, "must be true or false")
    return value


def _price(value: object, where: str) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationProblem(where, 'must be a string such as "25.00", or null')
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        raise ValidationProblem(where, f"'{value[:32]}' is not a number") from None


def _date(value: object, where: str, today: date) -> date:
    text = _string(value, where)
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationProblem(where, f"'{text[:32]}' is not a date as YYYY-MM-DD") from None
    check_view_distance(day, today, where)
    return day


def _zone_or_none(value: object, where: str) -> str | None:
    if value is None:
        return None
    return zone_named(_string(value, where), where).key


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _span(window: Window) -> str:
    return f"{window.start_text}-{window.end_text}"


# ---------------------------------------------------------------- writing


def document_json(document: AvailabilityDocument) -> dict[str, Any]:
    """The document as JSON values, in a stable order (services by name, the rest by date)."""
    exceptions = sorted(
        document.exceptions, key=lambda e: (e.exception.day, e.service is not None, e.service or "")
    )
    date_windows = sorted(document.date_windows, key=lambda w: (w.day, w.window))
    return {
        "format": FORMAT,
        "version": VERSION,
        "provider": {"name": document.provider_name, "timezone": document.timezone},
        "weeklySchedule": week_json(document.week),
        "services": [_service_json(s) for s in sorted(document.services, key=lambda s: s.name)],
        "exceptions": [
            {
                "date": e.exception.day.isoformat(),
                "closed": e.exception.closed,
                "windows": _windows_json(e.exception.windows),
                "reason": e.exception.reason,
                "service": e.service,
            }
            for e in exceptions
        ],
        "dateWindows": [
            {
                "date": w.day.isoformat(),
                "start": w.window.start_text,
                "end": w.window.end_text,
                "reason": w.reason,
            }
            for w in date_windows
        ],
    }


def week_json(week: WeekSpec) -> dict[str, Any]:
    return {
        "timezone": week.timezone,
        "days": [
            {"weekday": WEEKDAYS[day], "windows": _windows_json(windows)}
            for day, windows in sorted(week.days.items())
            if windows
        ],
    }


def _service_json(service: ServiceSpec) -> dict[str, Any]:
    rules = service.rules
    return {
        "name": service.name,
        "durationMinutes": rules.duration_minutes,
        "slotIntervalMinutes": rules.slot_interval_minutes,
        "bufferBeforeMinutes": rules.buffer_before_minutes,
        "bufferAfterMinutes": rules.buffer_after_minutes,
        "minNoticeMinutes": rules.min_notice_minutes,
        "horizonDays": rules.horizon_days,
        "holdMinutes": rules.hold_minutes,
        "price": None if service.price is None else f"{service.price:.2f}",
        "schedule": None if service.schedule is None else week_json(service.schedule),
    }


def _windows_json(windows: Iterable[Window]) -> list[dict[str, str]]:
    return [{"start": w.start_text, "end": w.end_text} for w in sorted(windows)]
