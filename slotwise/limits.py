"""Request limits in front of the GraphQL view: body size, and a rate limit per caller.

The rate limit counts in fixed windows of a minute per caller: in Redis with `REDIS_URL` (one count
shared by every instance), else in this process. If Redis cannot be reached the process counts on
its own for a while (never refusing everyone, never failing the request).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from redis import asyncio as redis
from redis.exceptions import RedisError

from domain.access import bearer_key

log = logging.getLogger("slotwise.limits")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WINDOW_SECONDS = 60
REDIS_RETRY_SECONDS = 5.0  # after a Redis failure, count in-process this long before trying again


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    content = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuses an HTTP request whose body is over `max_bytes` with 413: by its Content-Length at
    once, and by counting what arrives for a streamed (chunked) body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        message = f"request body over {self.max_bytes} bytes"
        await _send_json(
            send, 413, {"errors": [{"message": message, "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}, []
        )


class Counter(Protocol):
    async def hit(self, caller: str, window: int) -> int:
        """Counts one request of `caller` in `window`; returns the count so far."""
        ...


class LocalCounter:
    """Counts in this process; only the current window is kept."""

    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[str, int] = {}

    async def hit(self, caller: str, window: int) -> int:
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(caller, 0) + 1
        self._counts[caller] = count
        return count


class RedisCounter:
    """One count per (caller, window) in Redis, shared by every instance: INCR and EXPIRE together."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def hit(self, caller: str, window: int) -> int:
        key = f"slotwise:rate:{caller}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS * 2)
            count, _ = await pipe.execute()
        return int(count)

    async def close(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    """At most `per_minute` requests per caller in each minute (fixed windows on the wall clock)."""

    def __init__(self, per_minute: int, redis_url: str | None, now: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self._now = now
        self._local = LocalCounter()
        self._shared = RedisCounter(redis_url) if redis_url else None
        self._shared_down_until = 0.0

    async def retry_after(self, caller: str) -> int | None:
        """Counts one request; None if it may go on, else the seconds until the caller may retry."""
        now = self._now()
        window = int(now // WINDOW_SECONDS)
        count = await self._count(caller, window)
        if count <= self.per_minute:
            return None
        return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))

    async def _count(self, caller: str, window: int) -> int:
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return await self._shared.hit(caller, window)
            except (RedisError, OSError, TimeoutError):
                log.warning("rate limit: Redis unreachable; counting in this process for a while")
                self._shared_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        return await self._local.hit(caller, window)

    async def close(self) -> None:
        if self._shared is not None:
            await self._shared.close()


def caller_of(scope: Scope, key: str | None) -> str:
    """Who is counted: an API key (a hash of the key itself, however its header was spaced) when
    one is used, else the client's address. A key the app then refuses costs the caller a 401."""
    if key:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:32]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


def rate_limited(retry: int) -> dict[str, Any]:
    """The GraphQL error of a refused request: retry after `retry` seconds."""
    return {
        "message": f"rate limit exceeded; retry in {retry} s",
        "extensions": {"code": "RATE_LIMITED", "retryAfter": retry},
    }


class RateLimit:
    """Counts GraphQL requests on `path` (POSTs and websocket connection attempts) per caller;
    over the limit answers 429 with Retry-After and a GraphQL-shaped error. Each operation sent
    over an open websocket is counted too (slotwise.app)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, path: str = "/graphql") -> None:
        self.app = app
        self.limiter = limiter
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        counted = scope["type"] == "websocket" or (scope["type"] == "http" and scope["method"] == "POST")
        if not counted or scope["path"] != self.path or self.limiter.per_minute <= 0:
            await self.app(scope, receive, send)
            return
        # A websocket handshake's headers name no one (its key comes in connection_init): by address.
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        key = bearer_key(header) if scope["type"] == "http" else None
        retry = await self.limiter.retry_after(caller_of(scope, key))
        if retry is None:
            await self.app(scope, receive, send)
            return
        body = {"errors": [rate_limited(retry)]}
        headers = [(b"retry-after", str(retry).encode())]
        if scope["type"] == "http":
            await _send_json(send, 429, body, headers)
        elif "websocket.http.response" in scope.get("extensions", {}):
            # Refuse the handshake with a real 429 where the server can (uvicorn can).
            await _send_json(_denial(send), 429, body, headers)
        else:
            await send({"type": "websocket.close", "code": 1013, "reason": "rate limit exceeded"})


def _denial(send: Send) -> Send:
    async def denial_send(message: Message) -> None:
        await send({**message, "type": "websocket." + message["type"]})

    return denial_send
