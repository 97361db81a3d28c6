"""The ASGI application: GraphQL over HTTP and websockets on /graphql, plus health."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from cross_web import HTTPException
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types.unset import UNSET, UnsetType

from db.engine import create_engine
from domain.access import bearer_key
from resolvers import access, booking, calendar
from resolvers.context import AppContext, Clock, NoCache, ViewCache, system_clock
from schema.context import RequestContext
from schema.schema import build_schema, schema
from slotwise import notification_workers
from slotwise.calendar_setup import WEBHOOK_PATH, calendar_setup
from slotwise.config import Settings
from slotwise.events import change_hub
from slotwise.limits import BodySizeLimit, RateLimit, RateLimiter, caller_of, rate_limited
from slotwise.migrate import head_revisions
from slotwise.observability import Metric, Metrics, RequestIdMiddleware, counter, gauge
from slotwise.view_cache import LocalViewCache, RedisViewCache

log = logging.getLogger("slotwise")
READY_TIMEOUT = 2.0  # seconds each readiness check may take


class _TrackedHandler(BaseGraphQLTransportWSHandler[RequestContext, None]):
    """Known to its view while open, so shutdown can close it with 1001 (going away). Each
    operation sent over the socket counts against its caller's rate limit, as a POST does."""

    async def handle(self) -> None:
        sockets: set[Any] = self.view.open_websockets  # type: ignore[attr-defined]
        sockets.add(self)
        try:
            await super().handle()
        finally:
            sockets.discard(self)

    async def handle_subscribe(self, message: Any) -> None:
        limiter: RateLimiter = self.view.limiter  # type: ignore[attr-defined]
        if self.connection_acknowledged and message["id"] not in self.operations and limiter.per_minute > 0:
            params = self.context.connection_params or {}
            header = params.get("authorization") or params.get("Authorization")
            # the key on_ws_connect accepted, if any; an anonymous socket counts by its address
            known = self.context.caller.key_id is not None
            key = bearer_key(str(header)) if known else None
            retry = await limiter.retry_after(caller_of(self.context.request.scope, key))
            if retry is not None:
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [rate_limited(retry)]}
                )
                return
        await super().handle_subscribe(message)


class SlotwiseGraphQL(GraphQL[RequestContext, None]):
    graphql_transport_ws_handler_class = _TrackedHandler

    def __init__(self, app: AppContext, settings: Settings, metrics: Metrics, limiter: RateLimiter) -> None:
        development = settings.env == "development"
        super().__init__(
            schema if development else build_schema(introspection=False),
            graphql_ide="graphiql" if development else None,
            allowed_origins=[o.strip() for o in settings.allowed_origins.split(",") if o.strip()],
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            keep_alive=True,
            keep_alive_interval=settings.keep_alive_seconds,
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self.app_context = app
        self.metrics = metrics
        self.limiter = limiter
        self.open_websockets: set[_TrackedHandler] = set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        with access.serving_request():
            await super().__call__(scope, receive, send)

    async def get_context(self, request: Any, response: Any) -> RequestContext:
        """The caller from `Authorization: Bearer <key>`; an unknown or revoked key is refused (401).
        A websocket's caller comes from its connection_init payload instead (on_ws_connect)."""
        if isinstance(request, WebSocket):
            return RequestContext(self.app_context, request, response)
        try:
            caller = await access.caller_for(self.app_context, request.headers.get("authorization"))
        except access.InvalidKey as refused:
            raise HTTPException(401, str(refused)) from None
        access.act_as(caller)
        return RequestContext(self.app_context, request, response, caller)

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """A websocket authenticates in connection_init: {"authorization": "Bearer <key>"}; a bad
        key closes the socket with 4403."""
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        if header is not None:
            try:
                context.caller = await access.caller_for(self.app_context, str(header))
            except access.InvalidKey:
                raise ConnectionRejectionError({"message": "unknown or revoked API key"}) from None
            access.act_as(context.caller)
        return UNSET

    async def execute_single(self, *args: Any, **kwargs: Any) -> Any:
        data = kwargs["request_data"]
        operation = self.metrics.operation_label(data.operation_name, data.query)
        started = time.perf_counter()
        try:
            return await super().execute_single(*args, **kwargs)
        finally:
            self.metrics.request_seconds.labels(operation).observe(time.perf_counter() - started)

    async def close_websockets(self, code: int = 1001, reason: str = "server shutting down") -> None:
        """Close every open subscription connection (before the server's own 1012 close)."""
        closing = [handler.websocket.close(code=code, reason=reason) for handler in self.open_websockets]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 2)


def create_app(settings: Settings, database_url: str, clock: Clock = system_clock) -> Starlette:
    engine = create_engine(database_url, settings.db_pool_size)
    hub = change_hub(settings.redis_url)
    cache: ViewCache = NoCache()
    if settings.view_cache:
        cache = RedisViewCache(settings.redis_url) if settings.redis_url else LocalViewCache()
    context = AppContext(engine, clock, feed=hub, cache=cache, calendar=calendar_setup(settings))
    metrics = Metrics()
    limiter = RateLimiter(settings.rate_limit_per_minute, settings.redis_url)
    graphql = SlotwiseGraphQL(context, settings, metrics, limiter)
    background = notification_workers.NotificationWorkers(context, settings)

    heads = head_revisions()

    def live_subscriptions() -> int:
        return hub.subscribers - background.feed_subscriptions + background.opened_subscriptions

    def live_metrics() -> Iterator[Metric]:
        yield gauge("slotwise_active_subscriptions", "Live GraphQL subscriptions.", live_subscriptions())
        yield counter("slotwise_events_published", "Changes published by this process.", hub.published)
        yield counter("slotwise_events_delivered", "Changes handed to local subscribers.", hub.delivered)
        if isinstance(cache, LocalViewCache | RedisViewCache):
            yield counter(
                "slotwise_view_cache_hits", "Month and day views served from the cache.", cache.hits
            )
            yield counter("slotwise_view_cache_misses", "Month and day views computed.", cache.misses)

    metrics.watch(live_metrics)

    async def healthz(request: Request) -> JSONResponse:
        """The process is up; with the live subscriptions and asyncio tasks it holds, to spot leaks."""
        return JSONResponse(
            {"status": "ok", "liveSubscriptions": live_subscriptions(), "tasks": len(asyncio.all_tasks())}
        )

    async def readyz(request: Request) -> JSONResponse:
        """Ready for traffic: PostgreSQL answers, migrations are at head, Redis and the change feed live."""
        checks: dict[str, dict[str, Any]] = {}
        try:
            async with asyncio.timeout(READY_TIMEOUT), engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                checks["postgres"] = {"ok": True}
                try:
                    current = set(
                        (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
                    )
                except Exception as error:
                    checks["migrations"] = {"ok": False, "error": _describe(error)}
                else:
                    checks["migrations"] = {
                        "ok": current == heads,
                        "current": sorted(current),
                        "head": sorted(heads),
                    }
        except Exception as error:
            checks.setdefault("postgres", {"ok": False, "error": _describe(error)})
            checks.setdefault("migrations", {"ok": False, "error": "not checked: postgres unreachable"})
        if hub.redis is not None:
            try:
                await hub.redis.ping(READY_TIMEOUT)
                checks["redis"] = {"ok": True}
            except Exception as error:
                checks["redis"] = {"ok": False, "error": _describe(error)}
        checks["changeListener"] = {"ok": hub.listening}
        failed = [name for name, check in checks.items() if not check["ok"]]
        return JSONResponse(
            {"status": "unavailable" if failed else "ready", "failed": failed, "checks": checks},
            status_code=503 if failed else 200,
        )

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def google_push(request: Request) -> Response:
        """Google's push notification: verified by channel id and token before anything runs."""
        headers = request.headers
        known = context.calendar is not None and await calendar.handle_push(
            context,
            headers.get("x-goog-channel-id", ""),
            headers.get("x-goog-channel-token", ""),
            headers.get("x-goog-resource-state", ""),
        )
        return Response(status_code=200 if known else 404)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Everything imported and built so far lives as long as the process: keep it out of the
        # collector's full passes (measured: 75-220 ms pauses that set fan-out p99 without it).
        gc.collect()
        gc.freeze()
        await hub.start()
        workers = [
            asyncio.create_task(
                _sweep_holds(context, settings.hold_sweep_seconds, metrics), name="hold-sweeper"
            )
        ]
        if context.calendar is not None:
            workers.append(
                asyncio.create_task(_sync_calendars(context, settings.calendar_sync_seconds, metrics))
            )
        workers += await background.start()
        try:
            yield
        finally:
            for worker in workers:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await hub.stop()
            if isinstance(cache, RedisViewCache):
                await cache.close()
            await limiter.close()
            await engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route(WEBHOOK_PATH, google_push, methods=["POST"]),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(RateLimit, limiter=limiter),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        ],
    )
    app.state.engine = engine
    app.state.hub = hub
    app.state.context = context
    app.state.metrics = metrics
    app.state.close_websockets = graphql.close_websockets
    return app


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".rstrip(": ")


async def _sync_calendars(context: AppContext, every: float, metrics: Metrics) -> None:
    """Google says pushes are not fully reliable: sync every connected calendar periodically,
    and renew push channels before they expire."""
    while True:
        await asyncio.sleep(every)
        try:
            for status in await calendar.sync_calendars(context):
                metrics.calendar_syncs.labels(status.status).inc()
            await calendar.renew_channels(context)
        except Exception:
            log.exception("periodic calendar sync failed")


async def _sweep_holds(context: AppContext, every: float, metrics: Metrics) -> None:
    """Expire holds past their time; safe on every instance (each hold expires once)."""
    while True:
        await asyncio.sleep(every)
        try:
            metrics.hold_expiries.inc(await booking.expire_due_holds(context))
        except Exception:
            log.exception("hold sweep failed")
