"""API keys: created and revoked by admins (or the `slotwise create-api-key` command), and callers
recognized by their key."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from db import api_key_queries as keys
from db.api_key_queries import ApiKeyRecord
from domain.access import ANONYMOUS, Caller, Role, bearer_key, key_hash, new_key
from domain.errors import Forbidden, NotFoundProblem, ValidationProblem, checked_text
from resolvers.context import AppContext, parse_id
from resolvers.lookups import provider_or_404


class InvalidKey(Exception):
    """An Authorization header whose key is unknown or revoked."""


@dataclass(frozen=True)
class NewKey:
    record: ApiKeyRecord
    key: str  # shown once, never stored


async def caller_for(app: AppContext, authorization: str | None) -> Caller:
    """The caller an `Authorization: Bearer <key>` value names; anonymous without one."""
    key = bearer_key(authorization)
    if key is None:
        return ANONYMOUS
    async with app.engine.connect() as conn:
        found = await keys.active_key(conn, key_hash(key))
    if found is None:
        raise InvalidKey("unknown or revoked API key")
    return Caller(Role(found.role), frozenset(str(p) for p in found.provider_ids), str(found.id), found.name)


async def create_api_key(
    app: AppContext, caller: Caller | None, name: str, role: Role, provider_ids: Sequence[str]
) -> NewKey:
    """A new key; only an admin may make one (caller None: the operator at the command line)."""
    if caller is not None and not caller.is_admin:
        raise Forbidden("only an admin key may create API keys")
    label = checked_text(name, "name")
    if role is Role.ADMIN and provider_ids:
        raise ValidationProblem("providerIds", "an admin key is not bound to providers")
    if role is Role.PROVIDER and len(provider_ids) != 1:
        raise ValidationProblem("providerIds", "a provider key is bound to exactly one provider")
    if role is Role.PARTNER and not provider_ids:
        raise ValidationProblem("providerIds", "a partner key needs the providers that granted it")
    key = new_key()
    async with app.engine.begin() as conn:
        bound = [(await provider_or_404(conn, p)).id for p in provider_ids]
        record = await keys.insert_key(conn, label, role.value, bound, key_hash(key), key[:10])
    return NewKey(record, key)


async def revoke_api_key(app: AppContext, caller: Caller | None, key_id: str) -> ApiKeyRecord:
    if caller is not None and not caller.is_admin:
        raise Forbidden("only an admin key may revoke API keys")
    async with app.engine.begin() as conn:
        revoked = await keys.revoke_key(conn, parse_id(key_id, "id", "API key"))
    if revoked is None:
        raise NotFoundProblem("id", "active API key", key_id)
    return revoked


# The caller of the request being served. Requests always set it (anonymous at least);
# None means trusted code of our own: the command line, demo data, background workers.
_current: ContextVar[Caller | None] = ContextVar("slotwise_caller", default=None)


def act_as(caller: Caller) -> None:
    _current.set(caller)


@contextmanager
def serving_request() -> Iterator[None]:
    """Around one request (or websocket connection): it starts anonymous, and whatever caller it
    names is forgotten when it ends, even when it runs in someone else's task."""
    token = _current.set(ANONYMOUS)
    try:
        yield
    finally:
        _current.reset(token)


def current_caller() -> Caller | None:
    return _current.get()


def require_provider(provider_id: object) -> None:
    """Only the provider's own keys, partners it granted, and admins may manage a provider."""
    caller = _current.get()
    if caller is not None and not caller.acts_for(str(provider_id)):
        raise Forbidden("this needs an API key of this provider (or an admin key)")


def require_admin() -> None:
    caller = _current.get()
    if caller is not None and not caller.is_admin:
        raise Forbidden("this needs an admin API key")
