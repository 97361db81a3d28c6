"""Table definitions (SQLAlchemy Core). Migrations create them; queries use them."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSTZRANGE, UUID

metadata = MetaData()

# Statuses that take a provider's time. Holds block while HELD and unexpired.
ACTIVE_BOOKING_STATUSES = ("PENDING", "CONFIRMED", "PAID", "IN_PROGRESS")
BLOCKING_STATUSES = (*ACTIVE_BOOKING_STATUSES, "HELD")
BLOCKING_SQL = "status IN (" + ", ".join(f"'{s}'" for s in BLOCKING_STATUSES) + ")"


def _id() -> Column[object]:
    return Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))


def _created() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


providers = Table(
    "providers",
    metadata,
    _id(),
    Column("name", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    # The zone of the provider's weekly schedule when it differs from `timezone`.
    Column("schedule_timezone", Text),
    _created(),
)

services = Table(
    "services",
    metadata,
    _id(),
    Column(
        "provider_id",
        UUID(as_uuid=True),
        ForeignKey("providers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", Text, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("slot_interval_minutes", Integer, nullable=False),
    Column("buffer_before_minutes", Integer, nullable=False),
    Column("buffer_after_minutes", Integer, nullable=False),
    Column("min_notice_minutes", Integer, nullable=False),
    Column("horizon_days", Integer, nullable=False),
    Column("hold_minutes", Integer, nullable=False),
    Column("price", Numeric(12, 2)),
    # The service's own week {"timezone": ..., "days": {"0": [[540, 1020]]}}; NULL: the provider's.
    Column("availability_schedule", JSONB),
    _created(),
)

weekly_windows = Table(
    "weekly_windows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "provider_id",
        UUID(as_uuid=True),
        ForeignKey("providers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("weekday", SmallInteger, nullable=False),
    Column("start_minute", SmallInteger, nullable=False),
    Column("end_minute", SmallInteger, nullable=False),
    CheckConstraint("weekday BETWEEN 0 AND 6", name="weekly_windows_weekday"),
    CheckConstraint(
        "0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440",
        name="weekly_windows_span",
    ),
)

date_exceptions = Table(
    "date_exceptions",
    metadata,
    _id(),
    Column(
        "provider_id",
        UUID(as_uuid=True),
        ForeignKey("providers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # NULL: the provider's exception, for every service; else that service's own.
    Column("service_id", UUID(as_uuid=True), ForeignKey("services.id", ondelete="CASCADE")),
    Column("day", Date, nullable=False),
    Column("closed", Boolean, nullable=False),
    Column("windows", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("reason", Text),
    _created(),
)

# Bookings and holds share one table so that one exclusion constraint keeps
# their occupied ranges (own time plus the service's buffers) apart.
reservations = Table(
    "reservations",
    metadata,
    _id(),
    Column("kind", Text, nullable=False),
    Column(
        "provider_id",
        UUID(as_uuid=True),
        ForeignKey("providers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "service_id",
        UUID(as_uuid=True),
        ForeignKey("services.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("customer_id", Text),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("occupied", TSTZRANGE, nullable=False),
    Column("status", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("cancel_reason", Text),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

calendar_busy_intervals = Table(
    "calendar_busy_intervals",
    metadata,
    _id(),
    Column(
        "provider_id",
        UUID(as_uuid=True),
        ForeignKey("providers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("title", Text),
    Column("calendar_id", Text),
    Column("external_id", Text),
    _created(),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("operation", Text, nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("outcome", JSONB),
    _created(),
)

# Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE.
reservation_audit = Table(
    "reservation_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reservation_id", UUID(as_uuid=True), nullable=False),
    Column("provider_id", UUID(as_uuid=True), nullable=False),
    Column("actor", Text),
    Column("action", Text, nullable=False),
    Column("before", JSONB),
    Column("after", JSONB),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

provider_change_sequences = Table(
    "provider_change_sequences",
    metadata,
    Column(
        "provider_id", UUID(as_uuid=True), ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("last_sequence", Integer, nullable=False),
)

calendar_connections = Table(
    "calendar_connections",
    metadata,
    Column(
        "provider_id", UUID(as_uuid=True), ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("status", Text, nullable=False),
    Column("access_token_encrypted", Text),
    Column("access_token_expires_at", DateTime(timezone=True)),
    Column("refresh_token_encrypted", Text, nullable=False),
    Column("last_synced_at", DateTime(timezone=True)),
    Column("last_error", Text),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

calendar_selections = Table(
    "calendar_selections",
    metadata,
    Column("provider_id", UUID(as_uuid=True), primary_key=True),
    Column("calendar_id", Text, primary_key=True),
    Column("summary", Text),
    Column("time_zone", Text, nullable=False),
    Column("access_role", Text, nullable=False),
    Column("selected", Boolean, nullable=False),
    Column("sync_token", Text),
    Column("channel_id", Text),
    Column("channel_resource_id", Text),
    Column("channel_token", Text),
    Column("channel_expires_at", DateTime(timezone=True)),
    Column("last_synced_at", DateTime(timezone=True)),
)

availability_change_log = Table(
    "availability_change_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider_id", UUID(as_uuid=True), nullable=False),
    Column("service_id", UUID(as_uuid=True)),
    Column("actor", Text),
    Column("entity", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("before", JSONB),
    Column("after", JSONB),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Extra windows on a specific date, on top of that date's weekly (or overridden) windows.
date_windows = Table(
    "date_windows",
    metadata,
    _id(),
    Column("provider_id", UUID(as_uuid=True), ForeignKey("providers.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("start_minute", SmallInteger, nullable=False),
    Column("end_minute", SmallInteger, nullable=False),
    Column("reason", Text),
    _created(),
)

# A customer's wish to hear when a slot of a service opens between two dates (in `timezone`).
availability_notification_requests = Table(
    "availability_notification_requests",
    metadata,
    _id(),
    Column("service_id", UUID(as_uuid=True), ForeignKey("services.id", ondelete="CASCADE"), nullable=False),
    Column("provider_id", UUID(as_uuid=True), ForeignKey("providers.id", ondelete="CASCADE"), nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("timezone", Text, nullable=False),
    Column(
        "status", Text, nullable=False, server_default=text("'ACTIVE'")
    ),  # ACTIVE FULFILLED CANCELLED EXPIRED
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    # The provider's change sequence the last check saw: every change up to it was judged.
    Column("checked_sequence", Integer, nullable=False, server_default=text("0")),
    Column("fulfilled_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("opened_start", DateTime(timezone=True)),
    Column("opened_end", DateTime(timezone=True)),
)

# One per fulfilled request (UNIQUE request_id): however many instances race, one notification.
availability_notifications = Table(
    "availability_notifications",
    metadata,
    _id(),
    Column(
        "request_id",
        UUID(as_uuid=True),
        ForeignKey("availability_notification_requests.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("provider_id", UUID(as_uuid=True), nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("slot_start", DateTime(timezone=True), nullable=False),
    Column("slot_end", DateTime(timezone=True), nullable=False),
    Column("cause", Text),
    Column("change_sequence", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
)

webhooks = Table(
    "webhooks",
    metadata,
    _id(),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    # NULL: every provider's notifications; else only that provider's.
    Column("provider_id", UUID(as_uuid=True), ForeignKey("providers.id", ondelete="CASCADE")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True)),
)

# Deliveries still to make (or made): written with the notification, sent by a worker with retries.
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    _id(),
    Column("webhook_id", UUID(as_uuid=True), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column(
        "notification_id",
        UUID(as_uuid=True),
        ForeignKey("availability_notifications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("payload", JSONB, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# API keys: only a SHA-256 of each key is kept (keys are 256 random bits, so no slow hash is needed).
api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("provider_ids", ARRAY(UUID(as_uuid=True)), nullable=False),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("key_prefix", Text, nullable=False),
    _created(),
    Column("revoked_at", DateTime(timezone=True)),
)
