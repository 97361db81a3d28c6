"""Providers, services, schedules, exceptions, reservations and calendar busy time.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BLOCKING = "status IN ('PENDING', 'CONFIRMED', 'PAID', 'IN_PROGRESS', 'HELD')"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        """
        CREATE TABLE providers (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            timezone text NOT NULL,
            schedule_timezone text,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE services (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
            slot_interval_minutes integer NOT NULL CHECK (slot_interval_minutes BETWEEN 1 AND 1440),
            buffer_before_minutes integer NOT NULL CHECK (buffer_before_minutes BETWEEN 0 AND 1440),
            buffer_after_minutes integer NOT NULL CHECK (buffer_after_minutes BETWEEN 0 AND 1440),
            min_notice_minutes integer NOT NULL CHECK (min_notice_minutes >= 0),
            horizon_days integer NOT NULL CHECK (horizon_days BETWEEN 1 AND 730),
            hold_minutes integer NOT NULL CHECK (hold_minutes BETWEEN 1 AND 1440),
            price numeric(12, 2) CHECK (price >= 0),
            availability_schedule jsonb,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX services_provider ON services (provider_id)")
    op.execute(
        """
        CREATE TABLE weekly_windows (
            id serial PRIMARY KEY,
            provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
            weekday smallint NOT NULL CONSTRAINT weekly_windows_weekday CHECK (weekday BETWEEN 0 AND 6),
            start_minute smallint NOT NULL,
            end_minute smallint NOT NULL,
            CONSTRAINT weekly_windows_span
                CHECK (0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440)
        )
        """
    )
    op.execute("CREATE INDEX weekly_windows_provider ON weekly_windows (provider_id, weekday)")
    op.execute(
        """
        CREATE TABLE date_exceptions (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
            service_id uuid REFERENCES services (id) ON DELETE CASCADE,
            day date NOT NULL,
            closed boolean NOT NULL,
            windows jsonb NOT NULL DEFAULT '[]'::jsonb,
            reason text,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT date_exceptions_one_per_day UNIQUE NULLS NOT DISTINCT (provider_id, service_id, day)
        )
        """
    )
    op.execute("CREATE INDEX date_exceptions_provider_day ON date_exceptions (provider_id, day)")
    op.execute(
        f"""
        CREATE TABLE reservations (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            kind text NOT NULL CHECK (kind IN ('BOOKING', 'HOLD')),
            provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
            service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
            customer_id text,
            start_at timestamptz NOT NULL,
            end_at timestamptz NOT NULL,
            occupied tstzrange NOT NULL,
            status text NOT NULL CHECK (status IN (
                'PENDING', 'CONFIRMED', 'PAID', 'IN_PROGRESS', 'CANCELLED', 'COMPLETED', 'NO_SHOW',
                'HELD', 'RELEASED', 'EXPIRED', 'CONVERTED')),
            expires_at timestamptz,
            cancel_reason text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT reservations_ends_after_start CHECK (end_at > start_at),
            CONSTRAINT reservations_bounded_range CHECK (
                NOT isempty(occupied) AND NOT lower_inf(occupied) AND NOT upper_inf(occupied)),
            CONSTRAINT reservations_occupied_covers_own_time
                CHECK (occupied @> tstzrange(start_at, end_at, '[)')),
            CONSTRAINT reservations_hold_expires CHECK ((kind = 'HOLD') = (expires_at IS NOT NULL)),
            CONSTRAINT reservations_no_overlap
                EXCLUDE USING gist (provider_id WITH =, occupied WITH &&) WHERE ({BLOCKING})
        )
        """
    )
    op.execute("CREATE INDEX reservations_provider_start ON reservations (provider_id, start_at)")
    op.execute(
        """
        CREATE TABLE calendar_busy_intervals (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
            start_at timestamptz NOT NULL,
            end_at timestamptz NOT NULL,
            title text,
            calendar_id text,
            external_id text,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT calendar_busy_ends_after_start CHECK (end_at > start_at)
        )
        """
    )
    op.execute(
        "CREATE INDEX calendar_busy_provider_span ON calendar_busy_intervals "
        "USING gist (provider_id, tstzrange(start_at, end_at, '[)'))"
    )


def downgrade() -> None:
    for table in (
        "calendar_busy_intervals",
        "reservations",
        "date_exceptions",
        "weekly_windows",
        "services",
        "providers",
    ):
        op.execute(f"DROP TABLE {table}")
