"""Google Calendar as configured: the client, the token vault and the push address."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from integrations.google_calendar import GoogleCalendar, GoogleSettings
from integrations.token_vault import TokenVault
from resolvers.context import CalendarSetup
from slotwise.config import Settings

WEBHOOK_PATH = "/webhooks/google-calendar"


def calendar_setup(settings: Settings) -> CalendarSetup | None:
    if not settings.google_client_id:
        return None
    google = GoogleCalendar(
        GoogleSettings(
            settings.google_client_id,
            settings.google_client_secret,
            settings.google_token_uri,
            settings.google_api_endpoint,
            retry_base_seconds=settings.google_retry_base_seconds,
        )
    )
    webhook = settings.public_url.rstrip("/") + WEBHOOK_PATH if settings.public_url else None
    return CalendarSetup(
        google,
        TokenVault(_token_key(settings)),
        webhook,
        stale_after=timedelta(seconds=settings.calendar_stale_seconds),
    )


def _token_key(settings: Settings) -> str:
    if settings.token_key:
        return settings.token_key
    if settings.env == "production":
        raise RuntimeError("SLOTWISE_TOKEN_KEY must be set in production (a Fernet key)")
    path = Path(settings.data_dir) / "token.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TokenVault.new_key())
        path.chmod(0o600)
    return path.read_text().strip()
