"""Live changes across instances: broadcaster with a Redis backend that survives restarts.

broadcaster 0.3.1's own Redis backend delivers nothing with redis-py 8, never reconnects and
queues without bound; `ResilientRedisBackend` replaces it (broadcaster accepts a backend).
Each process subscribes to the channel once (avoiding broadcaster's first-subscriber race),
and `ChangeHub` fans changes out to local subscribers through bounded mailboxes: a mailbox
that overflows is emptied and told to resync instead of growing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from broadcaster import Broadcast, BroadcastBackend, Event
from redis import asyncio as redis

from domain.changes import AvailabilityChange, ChangeCause

log = logging.getLogger("slotwise.events")
CHANNEL = "slotwise:availability-changes"
RESYNC = "RESYNC"


class ResilientRedisBackend(BroadcastBackend):
    """Redis pub/sub for broadcaster that reconnects with backoff and, once back, puts a RESYNC
    event on every channel: messages published while it was away are gone."""

    def __init__(self, url: str, buffer: int = 10_000) -> None:
        self._client = redis.Redis.from_url(url, health_check_interval=5, socket_connect_timeout=2)
        self._channels: set[str] = set()
        self._wanted = asyncio.Event()
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=buffer)
        self._listener: asyncio.Task[None] | None = None
        self._pubsub: Any = None
        self.connected = asyncio.Event()

    async def connect(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="redis-listener")

    async def disconnect(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._client.aclose()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        self._wanted.set()
        if self._pubsub is not None and self.connected.is_set():
            await self._pubsub.subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        if self._pubsub is not None and self.connected.is_set():
            await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        await self._client.publish(channel, message)

    async def next_published(self) -> Event:
        return await self._queue.get()

    @property
    def listening(self) -> bool:
        """The listener task runs and holds a live pub/sub subscription."""
        return self._listener is not None and not self._listener.done() and self.connected.is_set()

    async def ping(self, timeout: float) -> None:
        """Raises unless Redis answers PING within `timeout` seconds."""
        await asyncio.wait_for(self._client.ping(), timeout)  # type: ignore[misc]

    def _deliver(self, event: Event) -> None:
        if self._queue.full():  # the local fan-out is stuck: drop the backlog, ask for a resync
            while not self._queue.empty():
                self._queue.get_nowait()
            event = Event(event.channel, RESYNC)
        self._queue.put_nowait(event)

    async def _listen(self) -> None:
        await self._wanted.wait()
        backoff, lost = 0.05, False
        while True:
            self._pubsub = self._client.pubsub()
            try:
                await self._pubsub.subscribe(*self._channels)
                self.connected.set()
                if lost:
                    log.info("redis is back; asking subscribers to resync")
                    for channel in self._channels:
                        self._deliver(Event(channel, RESYNC))
                backoff, lost = 0.05, False
                async for message in self._pubsub.listen():
                    if message["type"] == "message":
                        self._deliver(Event(message["channel"].decode(), message["data"].decode()))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # connection refused, reset, timed out: try again
                if not lost:
                    log.warning("lost redis pub/sub: %s", error)
                lost = True
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await self._pubsub.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)


def encode(change: AvailabilityChange) -> str:
    return json.dumps(
        {
            "provider": change.provider_id,
            "service": change.service_id,
            "cause": change.cause.value,
            "sequence": change.sequence,
            "at": change.occurred_at.isoformat(),
            "spans": [[a.isoformat(), b.isoformat()] for a, b in change.spans],
        }
    )


def decode(message: str, now: datetime) -> AvailabilityChange:
    if message == RESYNC:
        return AvailabilityChange("", ChangeCause.RESYNC, 0, now, ())
    data = json.loads(message)
    return AvailabilityChange(
        data["provider"],
        ChangeCause(data["cause"]),
        data["sequence"],
        datetime.fromisoformat(data["at"]),
        tuple((datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in data["spans"]),
        data["service"],
    )


class Mailbox:
    """One subscriber's pending changes; when full, it empties and holds a single RESYNC."""

    def __init__(self, size: int) -> None:
        self._items: deque[AvailabilityChange] = deque()
        self._size = size
        self._ready = asyncio.Event()

    def offer(self, change: AvailabilityChange) -> None:
        if len(self._items) >= self._size:
            self._items.clear()
            change = AvailabilityChange("", ChangeCause.RESYNC, 0, change.occurred_at, ())
        self._items.append(change)
        self._ready.set()

    async def changes(self) -> AsyncIterator[AvailabilityChange]:
        while True:
            await self._ready.wait()
            while self._items:
                yield self._items.popleft()
            self._ready.clear()


class ChangeHub:
    """The process's one subscription to the change channel, fanned out to live subscribers."""

    def __init__(
        self, broadcast: Broadcast, mailbox_size: int = 256, redis: ResilientRedisBackend | None = None
    ) -> None:
        self._broadcast = broadcast
        self.redis = redis  # the Redis backend, when there is one (for readiness checks)
        self.published = 0  # changes this process published
        self.delivered = 0  # changes handed to local subscribers' mailboxes
        self._mailboxes: set[Mailbox] = set()
        self._mailbox_size = mailbox_size
        self._pump: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    @property
    def subscribers(self) -> int:
        return len(self._mailboxes)

    @property
    def listening(self) -> bool:
        """The fan-out task runs and, with Redis, its pub/sub subscription is live."""
        pumping = self._pump is not None and not self._pump.done() and self._listening.is_set()
        return pumping and (self.redis is None or self.redis.listening)

    async def start(self) -> None:
        await self._broadcast.connect()
        self._pump = asyncio.create_task(self._run(), name="change-hub")
        await asyncio.wait_for(self._listening.wait(), 10)

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        with contextlib.suppress(Exception):
            await self._broadcast.disconnect()

    async def publish(self, change: AvailabilityChange) -> None:
        await self._broadcast.publish(CHANNEL, encode(change))
        self.published += 1

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[AvailabilityChange]]:
        mailbox = Mailbox(self._mailbox_size)
        self._mailboxes.add(mailbox)
        try:
            yield mailbox.changes()
        finally:
            self._mailboxes.discard(mailbox)

    async def _run(self) -> None:
        while True:
            try:
                async with self._broadcast.subscribe(CHANNEL) as subscriber:
                    self._listening.set()
                    async for event in subscriber:  # type: ignore[union-attr]
                        if event is None:
                            break
                        change = decode(event.message, datetime.now(UTC))
                        mailboxes = list(self._mailboxes)
                        for mailbox in mailboxes:
                            mailbox.offer(change)
                        self.delivered += len(mailboxes)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("change hub failed; resubscribing")
                await asyncio.sleep(0.5)


def change_hub(redis_url: str | None) -> ChangeHub:
    if redis_url:
        backend = ResilientRedisBackend(redis_url)
        return ChangeHub(Broadcast(backend=backend), redis=backend)
    return ChangeHub(Broadcast("memory://"))
