"""ASGI entry for running under uvicorn directly: `uvicorn --factory slotwise.asgi:build`.

Migrations are not applied here; run `slotwise migrate` before a rollout.
"""

from __future__ import annotations

from starlette.applications import Starlette

from slotwise.app import create_app
from slotwise.config import Settings
from slotwise.database import database_url
from slotwise.observability import configure_logging


def build() -> Starlette:
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings, database_url(settings))
