"""Availability notifications: requests, the live `availabilityOpened` subscription, webhooks."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime
from typing import Annotated

import strawberry

from db.notification_queries import NotificationRecord, RequestRecord, WebhookRecord
from domain.changes import ChangeCause
from domain.notifications import RequestStatus
from domain.webhooks import SIGNATURE_TOLERANCE
from resolvers import notifications
from schema.context import Info
from schema.errors import NotFound, ValidationError, or_error_result, or_graphql_error
from schema.scalars import TimeZone
from schema.subscriptions import ChangeCauseType

RequestStatusType = strawberry.enum(RequestStatus, name="AvailabilityNotificationStatus")

WEBHOOK_DESCRIPTION = (
    "Each notification is POSTed as JSON to the URL with the headers X-Slotwise-Event, "
    "X-Slotwise-Delivery (the same for every retry of one delivery: drop duplicates by it), "
    "X-Slotwise-Timestamp (unix seconds) and X-Slotwise-Signature: sha256=<hex HMAC-SHA256 of "
    '"<timestamp>.<body>" keyed by the secret>. Refuse a timestamp more than '
    f"{int(SIGNATURE_TOLERANCE.total_seconds() // 60)} minutes old. Any 2xx answer accepts it; "
    "anything else is retried with exponential backoff."
)


@strawberry.type(description="A slot that opened; date and time in the request's time zone.")
class OpenedSlot:
    start: datetime
    end: datetime
    date: date
    time: str

    @classmethod
    def of(cls, slot: tuple[datetime, datetime], timezone: str) -> OpenedSlot:
        day, clock = notifications.local_slot(slot[0], timezone)
        return cls(start=slot[0], end=slot[1], date=day, time=clock)


@strawberry.type(description="A customer's wish to hear when a slot of the service opens between two dates.")
class AvailabilityNotificationRequest:
    id: strawberry.ID
    service_id: strawberry.ID
    provider_id: strawberry.ID
    customer_id: str
    from_: date = strawberry.field(name="from")
    to: date
    timezone: TimeZone
    status: RequestStatusType  # type: ignore[valid-type]
    created_at: datetime
    fulfilled_at: datetime | None
    opened_slot: OpenedSlot | None = strawberry.field(description="The slot whose opening fulfilled it.")

    @classmethod
    def of(cls, r: RequestRecord) -> AvailabilityNotificationRequest:
        return cls(
            id=strawberry.ID(str(r.id)),
            service_id=strawberry.ID(str(r.service_id)),
            provider_id=strawberry.ID(str(r.provider_id)),
            customer_id=r.customer_id,
            from_=r.first_day,
            to=r.last_day,
            timezone=TimeZone(r.timezone),
            status=RequestStatus(r.status),
            created_at=r.created_at,
            fulfilled_at=r.fulfilled_at,
            opened_slot=OpenedSlot.of(r.opened, r.timezone) if r.opened else None,
        )


@strawberry.type(description="A slot opened for a waiting request; sent once per request.")
class AvailabilityNotification:
    id: strawberry.ID
    request_id: strawberry.ID
    service_id: strawberry.ID
    provider_id: strawberry.ID
    customer_id: str
    from_: date = strawberry.field(name="from")
    to: date
    timezone: TimeZone
    slot: OpenedSlot = strawberry.field(
        description="The first available slot of the range when it was found (others may be open too)."
    )
    cause: ChangeCauseType | None = strawberry.field(  # type: ignore[valid-type]
        description="The change that opened it; null when it was open at the request or found by a periodic check."
    )
    created_at: datetime

    @classmethod
    def of(cls, n: NotificationRecord) -> AvailabilityNotification:
        return cls(
            id=strawberry.ID(str(n.id)),
            request_id=strawberry.ID(str(n.request_id)),
            service_id=strawberry.ID(str(n.service_id)),
            provider_id=strawberry.ID(str(n.provider_id)),
            customer_id=n.customer_id,
            from_=n.first_day,
            to=n.last_day,
            timezone=TimeZone(n.timezone),
            slot=OpenedSlot.of(n.slot, n.timezone),
            cause=ChangeCause(n.cause) if n.cause else None,
            created_at=n.created_at,
        )


@strawberry.type(description=WEBHOOK_DESCRIPTION)
class Webhook:
    id: strawberry.ID
    url: str
    provider_id: strawberry.ID | None = strawberry.field(
        description="Only this provider's notifications; null: every provider's."
    )
    active: bool
    created_at: datetime
    secret: str | None = strawberry.field(
        description="The signing secret: only in the answer to registerWebhook, never again."
    )

    @classmethod
    def of(cls, w: WebhookRecord, secret: str | None = None) -> Webhook:
        return cls(
            id=strawberry.ID(str(w.id)),
            url=w.url,
            provider_id=strawberry.ID(str(w.provider_id)) if w.provider_id else None,
            active=w.active,
            created_at=w.created_at,
            secret=secret,
        )


@strawberry.input
class RequestAvailabilityNotificationInput:
    service_id: strawberry.ID
    customer_id: str
    from_: date = strawberry.field(name="from", description="The first date, not in the past.")
    to: date = strawberry.field(description="The last date; at most 90 days from `from`.")
    timezone: TimeZone | None = strawberry.field(
        default=None, description="The zone of the dates; default the provider's."
    )


@strawberry.input
class RegisterWebhookInput:
    url: str = strawberry.field(description="An absolute http:// or https:// URL.")
    secret: str | None = strawberry.field(
        default=None, description="16 to 200 characters; omit it to have one made (shown once)."
    )
    provider_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this provider's notifications; omit for every provider's."
    )


NotificationRequestResult = Annotated[
    AvailabilityNotificationRequest | ValidationError | NotFound,
    strawberry.union("AvailabilityNotificationRequestResult"),
]
RegisterWebhookResult = Annotated[
    Webhook | ValidationError | NotFound, strawberry.union("RegisterWebhookResult")
]
RemoveWebhookResult = Annotated[Webhook | NotFound, strawberry.union("RemoveWebhookResult")]


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(
        description="Asks to be told (availabilityOpened, webhooks) once when a slot of the service opens "
        "between the dates; a slot open already fulfils it at once. Asking again gives the same request."
    )
    async def request_availability_notification(
        self, info: Info, input: RequestAvailabilityNotificationInput
    ) -> NotificationRequestResult:
        made = await or_error_result(
            notifications.request_availability_notification(
                info.context.app, input.service_id, input.customer_id, input.from_, input.to, input.timezone
            )
        )
        return (
            made if isinstance(made, ValidationError | NotFound) else AvailabilityNotificationRequest.of(made)
        )

    @strawberry.mutation(description="Withdraws a waiting request; only its customer may.")
    async def cancel_availability_notification(
        self, info: Info, id: strawberry.ID, customer_id: str
    ) -> NotificationRequestResult:
        done = await or_error_result(
            notifications.cancel_availability_notification(info.context.app, id, customer_id)
        )
        return (
            done if isinstance(done, ValidationError | NotFound) else AvailabilityNotificationRequest.of(done)
        )

    @strawberry.mutation(description="Registers a URL to receive every availability notification, signed.")
    async def register_webhook(self, info: Info, input: RegisterWebhookInput) -> RegisterWebhookResult:
        made = await or_error_result(
            notifications.register_webhook(info.context.app, input.url, input.secret, input.provider_id)
        )
        if isinstance(made, ValidationError | NotFound):
            return made
        return Webhook.of(made.webhook, made.secret)

    @strawberry.mutation(description="Stops a webhook; deliveries not yet made are dropped.")
    async def remove_webhook(self, info: Info, id: strawberry.ID) -> RemoveWebhookResult:
        removed = await or_error_result(notifications.remove_webhook(info.context.app, id))
        return removed if isinstance(removed, ValidationError | NotFound) else Webhook.of(removed)  # type: ignore[return-value]


@strawberry.type
class NotificationsSubscription:
    @strawberry.subscription(
        description="Each availability notification of the service and/or customer from now on, once; "
        "with `since`, first those created after it (to catch up after a reconnect)."
    )
    async def availability_opened(
        self,
        info: Info,
        service_id: strawberry.ID | None = None,
        customer_id: str | None = None,
        since: datetime | None = None,
    ) -> AsyncGenerator[AvailabilityNotification, None]:
        app = info.context.app
        wanted = await or_graphql_error(notifications.opened_filter(app, service_id, customer_id, since))
        async with notifications.opened(app, wanted) as records:
            async for record in records:
                yield AvailabilityNotification.of(record)
