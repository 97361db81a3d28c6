"""A provider connected to a fake Google (the real client libraries talk to it over HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from integrations.google_calendar import GoogleCalendar, GoogleSettings
from integrations.token_vault import TokenVault
from resolvers import calendar
from resolvers.context import AppContext, CalendarSetup
from slotwise.app import create_app
from slotwise.config import Settings
from tests import keys
from tests.api.fixtures import provider_with_service
from tests.fake_google import FakeGoogle

OWNER = "maya@example.com"
REDIRECT = "http://127.0.0.1:8000/oauth/google/callback"


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeGoogle(account=OWNER) as fake:
        fake.add_calendar(OWNER, "Maya", time_zone="America/Los_Angeles", primary=True)
        fake.add_calendar("family@example.com", "Family", time_zone="America/Los_Angeles")
        yield fake


def google_settings(fake: FakeGoogle) -> dict[str, str]:
    return {
        "GOOGLE_CLIENT_ID": fake.client_id,
        "GOOGLE_CLIENT_SECRET": fake.client_secret,
        "GOOGLE_TOKEN_URI": fake.token_uri,
        "GOOGLE_API_ENDPOINT": fake.calendar_endpoint,
        "GOOGLE_RETRY_BASE_SECONDS": "0.01",
        "SLOTWISE_TOKEN_KEY": TOKEN_KEY,
    }


TOKEN_KEY = TokenVault.new_key()


@dataclass
class Connected:
    app: AppContext
    client: httpx.AsyncClient
    google: FakeGoogle
    provider_id: str
    service_id: str


@pytest.fixture
async def connected(database_url: str, google: FakeGoogle) -> AsyncIterator[Connected]:
    """A Los Angeles provider, open 09:00-17:00, connected with a code the fake issued."""
    settings = Settings.model_validate(google_settings(google))
    app = create_app(settings, database_url)  # the real clock: the fake Google keeps real time too
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=keys.ADMIN_HEADERS
        ) as client:
            provider_id, service_id = await provider_with_service(client)
            google.add_auth_code("code-1", REDIRECT)
            context: AppContext = app.state.context
            await calendar.connect_google_calendar(context, provider_id, "code-1", REDIRECT)
            yield Connected(context, client, google, provider_id, service_id)


def setup_for(fake: FakeGoogle) -> CalendarSetup:
    return CalendarSetup(
        GoogleCalendar(
            GoogleSettings(
                fake.client_id,
                fake.client_secret,
                fake.token_uri,
                fake.calendar_endpoint,
                retry_base_seconds=0.01,
            )
        ),
        TokenVault(TOKEN_KEY),
    )


def in_days(days: int, hour: int, minute: int = 0) -> datetime:
    """A wall time in Los Angeles, `days` from today."""
    from zoneinfo import ZoneInfo

    la = ZoneInfo("America/Los_Angeles")
    day = (datetime.now(la) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=la)


def timed(event_id: str, start: datetime, minutes: int = 60, **fields: Any) -> dict[str, Any]:
    end = start + timedelta(minutes=minutes)
    return {
        "id": event_id,
        "summary": "Private: dentist",
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": end.isoformat()},
    } | fields


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
