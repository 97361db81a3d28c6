"""Google Calendar connections, the calendars that count, and busy time keyed by event.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE calendar_connections (
            provider_id uuid PRIMARY KEY REFERENCES providers (id) ON DELETE CASCADE,
            status text NOT NULL CHECK (status IN ('OK', 'ERROR', 'NEEDS_REAUTH')),
            access_token_encrypted text,
            access_token_expires_at timestamptz,
            refresh_token_encrypted text NOT NULL,
            last_synced_at timestamptz,
            last_error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE calendar_selections (
            provider_id uuid NOT NULL REFERENCES calendar_connections (provider_id) ON DELETE CASCADE,
            calendar_id text NOT NULL,
            summary text,
            time_zone text NOT NULL DEFAULT 'UTC',
            access_role text NOT NULL DEFAULT 'owner',
            selected boolean NOT NULL DEFAULT false,
            sync_token text,
            channel_id text UNIQUE,
            channel_resource_id text,
            channel_token text,
            channel_expires_at timestamptz,
            last_synced_at timestamptz,
            PRIMARY KEY (provider_id, calendar_id)
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX calendar_busy_event ON calendar_busy_intervals (provider_id, calendar_id, external_id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX calendar_busy_event")
    op.execute("DROP TABLE calendar_selections")
    op.execute("DROP TABLE calendar_connections")
