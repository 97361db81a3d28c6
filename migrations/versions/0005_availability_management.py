"""The availability change log, and extra windows on specific dates.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE availability_change_log (
            id bigserial PRIMARY KEY,
            provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
            service_id uuid,
            actor text,
            entity text NOT NULL,
            action text NOT NULL,
            before jsonb,
            after jsonb,
            at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        "CREATE INDEX availability_change_log_provider_at ON availability_change_log (provider_id, at)"
    )
    op.execute(
        """
        CREATE TABLE date_windows (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
            day date NOT NULL,
            start_minute smallint NOT NULL,
            end_minute smallint NOT NULL,
            reason text,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT date_windows_span
                CHECK (0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440)
        )
        """
    )
    op.execute("CREATE INDEX date_windows_provider_day ON date_windows (provider_id, day)")


def downgrade() -> None:
    op.execute("DROP TABLE date_windows")
    op.execute("DROP TABLE availability_change_log")
