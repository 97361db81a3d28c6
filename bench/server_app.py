"""The Slotwise app as uvicorn imports it in the benchmark: a module-level `app`."""

from __future__ import annotations

import os

from slotwise.app import create_app
from slotwise.config import Settings

app = create_app(Settings(), os.environ["BENCH_DATABASE_URL"])
