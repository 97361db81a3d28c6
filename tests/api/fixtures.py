"""Setting up providers and services through the public API, as a client would."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import gql

CREATE_PROVIDER = """
mutation($name: String!, $tz: TimeZone!) {
  createProvider(input: {name: $name, timezone: $tz}) {
    __typename ... on Provider { id timezone } ... on ValidationError { field message }
  }
}"""

CREATE_SERVICE = """
mutation($input: CreateServiceInput!) {
  createService(input: $input) {
    __typename ... on Service { id durationMinutes slotIntervalMinutes bufferAfterMinutes }
    ... on ValidationError { field message } ... on NotFound { id message }
  }
}"""

SET_WEEK = """
mutation($input: SetWeeklyScheduleInput!) {
  setWeeklySchedule(input: $input) {
    __typename ... on Schedule { timezone days { weekday windows { start end } } }
    ... on ValidationError { field message } ... on NotFound { id message }
  }
}"""

ADD_EXCEPTION = """
mutation($input: DateExceptionInput!) {
  addDateException(input: $input) {
    __typename ... on Schedule { changedException { id date closed reason windows { start end } } }
    ... on ValidationError { field message } ... on NotFound { id message }
  }
}"""

WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


def week(*spans: str, days: list[str] | None = None) -> list[dict[str, Any]]:
    windows = [{"start": s.split("-")[0], "end": s.split("-")[1]} for s in spans]
    return [{"weekday": d, "windows": windows} for d in (days or WEEKDAYS)]


async def provider_with_service(
    client: httpx.AsyncClient,
    zone: str = "America/Los_Angeles",
    spans: tuple[str, ...] = ("09:00-17:00",),
    **service: Any,
) -> tuple[str, str]:
    provider = (await gql(client, CREATE_PROVIDER, name="Dr. Test", tz=zone))["createProvider"]
    result = await gql(client, SET_WEEK, input={"providerId": provider["id"], "days": week(*spans)})
    assert result["setWeeklySchedule"]["__typename"] == "Schedule"
    fields = {
        "providerId": provider["id"],
        "name": "Consultation",
        "durationMinutes": 30,
        "bufferAfterMinutes": 0,
        "minNoticeMinutes": 0,
    } | service
    created = (await gql(client, CREATE_SERVICE, input=fields))["createService"]
    assert created["__typename"] == "Service", created
    return provider["id"], created["id"]
