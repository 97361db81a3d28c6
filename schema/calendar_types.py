"""Google Calendar connections as the API shows them."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from resolvers.calendar import CalendarStatus


@strawberry.enum(description="How fresh the busy time from the provider's own calendars is.")
class CalendarSyncStatus(enum.Enum):
    OK = "OK"
    STALE = "STALE"  # connected, but the last good sync is older than it should be
    ERROR = "ERROR"  # the last sync failed: the last synced busy time still counts
    NEEDS_REAUTH = "NEEDS_REAUTH"  # Google refused the refresh token: connect again
    NOT_CONNECTED = "NOT_CONNECTED"


@strawberry.type
class CalendarSync:
    status: CalendarSyncStatus
    last_synced_at: datetime | None


@strawberry.type
class ConnectedCalendar:
    id: str
    summary: str | None
    time_zone: str
    access_role: str
    selected: bool = strawberry.field(description="Whether its events block slots.")


@strawberry.type
class CalendarConnection:
    provider_id: strawberry.ID
    status: CalendarSyncStatus
    last_synced_at: datetime | None
    last_error: str | None
    calendars: list[ConnectedCalendar]

    @classmethod
    def of(cls, status: CalendarStatus) -> CalendarConnection:
        return cls(
            provider_id=strawberry.ID(status.provider_id),
            status=CalendarSyncStatus(status.status),
            last_synced_at=status.last_synced_at,
            last_error=status.last_error,
            calendars=[
                ConnectedCalendar(
                    id=c.calendar_id,
                    summary=c.summary,
                    time_zone=c.time_zone,
                    access_role=c.access_role,
                    selected=c.selected,
                )
                for c in status.calendars
            ],
        )


@strawberry.type(description="Google could not be reached or failed; nothing was changed.")
class CalendarUnavailable:
    message: str


@strawberry.input
class ConnectGoogleCalendarInput:
    provider_id: strawberry.ID
    authorization_code: str = strawberry.field(description="The code Google's consent screen returned.")
    redirect_uri: str = strawberry.field(description="The redirect URI the code was issued for.")


@strawberry.input
class CalendarSelectionInput:
    provider_id: strawberry.ID
    calendar_ids: list[str] = strawberry.field(description="The calendars whose events block slots.")
