"""API keys over GraphQL: created and revoked by admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from db.api_key_queries import ApiKeyRecord
from domain.access import Role
from domain.errors import NotFoundProblem, ValidationProblem
from resolvers import access
from schema.context import Info
from schema.errors import NotFound, ValidationError, as_error

ApiKeyRole = strawberry.enum(Role, name="ApiKeyRole")


@strawberry.type(description="An API key as stored: its hash is kept, never the key.")
class ApiKey:
    id: strawberry.ID
    name: str
    role: ApiKeyRole  # type: ignore[valid-type]
    provider_ids: list[strawberry.ID]
    key_prefix: str = strawberry.field(description="The key's first characters, to tell keys apart.")
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, record: ApiKeyRecord) -> ApiKey:
        return cls(
            id=strawberry.ID(str(record.id)),
            name=record.name,
            role=Role(record.role),
            provider_ids=[strawberry.ID(str(p)) for p in record.provider_ids],
            key_prefix=record.key_prefix,
            created_at=record.created_at,
            revoked_at=record.revoked_at,
        )


@strawberry.type
class NewApiKey:
    api_key: ApiKey
    key: str = strawberry.field(description="Shown this once; send it as `Authorization: Bearer <key>`.")


@strawberry.type(description="The caller may not do this.")
class Forbidden:
    message: str


@strawberry.input
class CreateApiKeyInput:
    name: str
    role: ApiKeyRole  # type: ignore[valid-type]
    provider_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="PROVIDER: exactly one; PARTNER: the providers that granted it."
    )


@strawberry.type
class AccessMutation:
    @strawberry.mutation(description="A new API key (admin keys only).")
    async def create_api_key(
        self, info: Info, input: CreateApiKeyInput
    ) -> Annotated[
        NewApiKey | ValidationError | NotFound | Forbidden, strawberry.union("CreateApiKeyResult")
    ]:
        try:
            made = await access.create_api_key(
                info.context.app, info.context.caller, input.name, input.role, list(input.provider_ids)
            )
        except access.Forbidden as refused:
            return Forbidden(message=refused.message)
        except (ValidationProblem, NotFoundProblem) as problem:
            return as_error(problem)
        return NewApiKey(api_key=ApiKey.of(made.record), key=made.key)

    @strawberry.mutation(description="Revokes an API key at once (admin keys only).")
    async def revoke_api_key(
        self, info: Info, id: strawberry.ID
    ) -> Annotated[ApiKey | NotFound | Forbidden, strawberry.union("RevokeApiKeyResult")]:
        try:
            return ApiKey.of(await access.revoke_api_key(info.context.app, info.context.caller, id))
        except access.Forbidden as refused:
            return Forbidden(message=refused.message)
        except NotFoundProblem as problem:
            return as_error(problem)  # type: ignore[return-value]
