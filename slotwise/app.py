"""The ASGI application: GraphQL over HTTP and websockets on /graphql, plus health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL

from db.engine import create_engine
from resolvers.context import AppContext, Clock, system_clock
from schema.context import RequestContext
from schema.schema import schema
from slotwise.config import Settings


class SlotwiseGraphQL(GraphQL[RequestContext, None]):
    def __init__(self, app: AppContext, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.env == "development" else None,
            allow_queries_via_get=False,
            subscription_protocols=("graphql-transport-ws",),
        )
        self.app_context = app

    async def get_context(self, request: Any, response: Any) -> RequestContext:
        return RequestContext(self.app_context, request, response)


def create_app(settings: Settings, database_url: str, clock: Clock = system_clock) -> Starlette:
    engine = create_engine(database_url, settings.db_pool_size)
    graphql = SlotwiseGraphQL(AppContext(engine, clock), settings)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    return app
