"""The run's admin key as a header, for tests that call real server processes."""

from __future__ import annotations

ADMIN_HEADERS: dict[str, str] = {}  # filled by the session fixture `admin_key` in conftest.py
