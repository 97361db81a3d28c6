"""The reference: an out-of-the-box Strawberry app with one field, no extensions, no caches."""

from __future__ import annotations

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


schema = strawberry.Schema(query=Query)
app = Starlette(routes=[Route("/graphql", GraphQL(schema), methods=["GET", "POST"])])
