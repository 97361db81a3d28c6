"""Availability notifications: requests, the notifications that fulfil them, webhooks and their outbox.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE availability_notification_requests (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
            provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
            customer_id text NOT NULL,
            first_day date NOT NULL,
            last_day date NOT NULL,
            timezone text NOT NULL,
            status text NOT NULL DEFAULT 'ACTIVE',
            created_at timestamptz NOT NULL,
            checked_at timestamptz NOT NULL,
            -- the provider's change sequence the last check saw: every change up to it was judged
            checked_sequence bigint NOT NULL DEFAULT 0,
            fulfilled_at timestamptz,
            closed_at timestamptz,
            opened_start timestamptz,
            opened_end timestamptz,
            CONSTRAINT availability_notification_requests_status
                CHECK (status IN ('ACTIVE', 'FULFILLED', 'CANCELLED', 'EXPIRED')),
            CONSTRAINT availability_notification_requests_range CHECK (first_day <= last_day),
            CONSTRAINT availability_notification_requests_opened
                CHECK ((status = 'FULFILLED') = (opened_start IS NOT NULL AND fulfilled_at IS NOT NULL))
        )
        """
    )
    # What a change of a provider looks up; and one active request per customer, service and range.
    op.execute(
        "CREATE INDEX availability_notification_requests_active ON availability_notification_requests "
        "(provider_id, checked_at) WHERE status = 'ACTIVE'"
    )
    op.execute(
        "CREATE UNIQUE INDEX availability_notification_requests_one_active "
        "ON availability_notification_requests (service_id, customer_id, first_day, last_day, timezone) "
        "WHERE status = 'ACTIVE'"
    )
    op.execute(
        """
        CREATE TABLE availability_notifications (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            request_id uuid NOT NULL UNIQUE
                REFERENCES availability_notification_requests (id) ON DELETE CASCADE,
            service_id uuid NOT NULL,
            provider_id uuid NOT NULL,
            customer_id text NOT NULL,
            slot_start timestamptz NOT NULL,
            slot_end timestamptz NOT NULL,
            cause text,
            change_sequence bigint,
            created_at timestamptz NOT NULL,
            -- the database's clock, for a live listener catching up after losing its connection
            recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    op.execute("CREATE INDEX availability_notifications_recorded ON availability_notifications (recorded_at)")
    op.execute(
        "CREATE INDEX availability_notifications_service ON availability_notifications (service_id, created_at)"
    )
    op.execute(
        "CREATE INDEX availability_notifications_customer ON availability_notifications (customer_id, created_at)"
    )
    op.execute(
        """
        CREATE TABLE webhooks (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            url text NOT NULL,
            secret text NOT NULL,
            provider_id uuid REFERENCES providers (id) ON DELETE CASCADE,
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL,
            removed_at timestamptz
        )
        """
    )
    op.execute(
        """
        CREATE TABLE webhook_outbox (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
            notification_id uuid NOT NULL REFERENCES availability_notifications (id) ON DELETE CASCADE,
            payload jsonb NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL,
            delivered_at timestamptz,
            failed_at timestamptz,
            last_status integer,
            last_error text,
            created_at timestamptz NOT NULL,
            CONSTRAINT webhook_outbox_once UNIQUE (webhook_id, notification_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) "
        "WHERE delivered_at IS NULL AND failed_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP TABLE webhook_outbox")
    op.execute("DROP TABLE webhooks")
    op.execute("DROP TABLE availability_notifications")
    op.execute("DROP TABLE availability_notification_requests")
