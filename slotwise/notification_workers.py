"""Background work of availability notifications, on every instance:

- fulfilment: every change that can open time is checked against the provider's waiting
  requests (the database lets one instance fulfil each request, and the others skip what a
  check since the change has seen);
- a sweep of requests not checked for a while (changes lost to a crash or a broken link to
  Redis, the horizon moving on, dates running out), at once after a RESYNC;
- webhook delivery from the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import httpx

from domain.changes import ChangeCause
from resolvers import notifications
from resolvers.context import AppContext
from slotwise.config import Settings

log = logging.getLogger("slotwise.notifications")


class NotificationWorkers:
    """The workers of one app. Health counts live subscriptions: those of the change feed less
    fulfilment's own (`feed_subscriptions`), plus `availabilityOpened`'s."""

    def __init__(self, context: AppContext, settings: Settings) -> None:
        self._context = context
        self._settings = settings
        self._subscribed = False

    @property
    def feed_subscriptions(self) -> int:
        return 1 if self._subscribed else 0

    @property
    def opened_subscriptions(self) -> int:
        """Live `availabilityOpened` subscribers of this process."""
        hub = notifications.opened_hub(self._context)
        return hub.subscribers if hub is not None else 0

    async def start(self) -> list[asyncio.Task[None]]:
        """Start the workers; returns once fulfilment listens to the change feed."""
        context, settings = self._context, self._settings
        listening = asyncio.Event()
        resync = asyncio.Event()
        delivery = notifications.DeliverySettings(
            retry_base_seconds=settings.webhook_retry_base_seconds,
            max_attempts=settings.webhook_max_attempts,
            timeout_seconds=settings.webhook_timeout_seconds,
        )
        tasks = [
            asyncio.create_task(self._fulfil(listening, resync), name="notification-fulfilment"),
            asyncio.create_task(
                _sweep(context, settings.notification_sweep_seconds, resync), name="notification-sweep"
            ),
            asyncio.create_task(
                _deliver(context, delivery, settings.webhook_poll_seconds), name="webhook-delivery"
            ),
        ]
        try:
            await asyncio.wait_for(listening.wait(), 10)
        except TimeoutError:
            log.error("notification fulfilment is not listening to changes yet")
        return tasks

    async def _fulfil(self, listening: asyncio.Event, resync: asyncio.Event) -> None:
        context = self._context
        while True:
            try:
                async with context.feed.subscribe() as changes:
                    self._subscribed = True
                    listening.set()
                    async for change in changes:
                        if change.cause is ChangeCause.RESYNC:
                            resync.set()  # some changes may be lost: the sweep looks at every request
                            continue
                        try:
                            await notifications.fulfil(context, change)
                        except Exception:
                            log.exception("fulfilment failed for %s #%s", change.provider_id, change.sequence)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notification fulfilment lost the change feed; subscribing again")
                listening.set()
                resync.set()
                await asyncio.sleep(1)
            finally:
                self._subscribed = False


async def _sweep(context: AppContext, every: float, resync: asyncio.Event) -> None:
    while True:
        everything = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(resync.wait(), every)
            everything = True
        resync.clear()
        now = context.clock()
        cutoff = now + timedelta(microseconds=1) if everything else now - timedelta(seconds=every)
        try:
            await notifications.sweep_requests(context, cutoff)
        except Exception:
            log.exception("notification request sweep failed")


async def _deliver(context: AppContext, settings: notifications.DeliverySettings, every: float) -> None:
    async with httpx.AsyncClient(timeout=settings.timeout_seconds) as http:
        while True:
            await asyncio.sleep(every)
            try:
                while await notifications.deliver_due_webhooks(context, http, settings) >= settings.batch:
                    pass
            except Exception:
                log.exception("webhook delivery failed")
