"""Operations: Prometheus metrics, request ids, JSON logs.

Metrics live in a registry per app (`Metrics`), so several apps (tests, benchmarks) can live in
one process without duplicate registration. Counts that hot paths keep as plain integers (the
change hub's fan-out, the view cache) are read only when scraped.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_OPERATION = re.compile(r"\b(query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")
ANONYMOUS = "anonymous"
OTHER = "other"


class Metrics:
    """This app's metrics; `collect` adds counts read from live objects at scrape time."""

    MAX_OPERATIONS = 200  # distinct operation labels; later newcomers count as "other"

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_seconds = Histogram(
            "slotwise_graphql_request_seconds",
            "GraphQL HTTP request latency by operation name.",
            ["operation"],
            registry=self.registry,
        )
        self.hold_expiries = Counter(
            "slotwise_hold_expiries", "Holds expired by the sweeper.", registry=self.registry
        )
        self.calendar_syncs = Counter(
            "slotwise_calendar_syncs",
            "Periodic calendar sync results by provider outcome.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("OK", "ERROR", "NEEDS_REAUTH"):  # present (at 0) before the first sync
            self.calendar_syncs.labels(outcome)
        self._operations: set[str] = set()

    def operation_label(self, name: object, query: object) -> str:
        """The operation's name (`operationName`, else the document's only named operation) when the
        document declares it; bounded in length (64) and in number (`MAX_OPERATIONS`)."""
        if not isinstance(query, str):
            return ANONYMOUS
        declared = {m.group(2) for m in _OPERATION.finditer(query)}
        if name is None and len(declared) == 1:
            name = next(iter(declared))
        if not isinstance(name, str) or name not in declared or not _NAME.fullmatch(name):
            return ANONYMOUS
        if name not in self._operations:
            if len(self._operations) >= self.MAX_OPERATIONS:
                return OTHER
            self._operations.add(name)
        return name

    def watch(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self.registry.register(_Live(collect))


class _Live(Collector):
    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Metric]:
        yield from self._collect()


def counter(name: str, text: str, value: float) -> Metric:
    return CounterMetricFamily(name, text, value=value)


def gauge(name: str, text: str, value: float) -> Metric:
    return GaugeMetricFamily(name, text, value=value)


class RequestIdMiddleware:
    """Takes a sane `X-Request-ID` or makes one; in the `request_id` context for logs, and echoed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, exc_info when present."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        if record.exc_info:
            entry["exc_info"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr from the root logger (uvicorn's own loggers keep their handlers)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler.formatter, JsonFormatter):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
