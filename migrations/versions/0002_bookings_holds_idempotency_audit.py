"""Idempotency keys and the append-only audit of bookings and holds.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE idempotency_keys (
            caller text NOT NULL,
            key text NOT NULL,
            operation text NOT NULL,
            request_hash text NOT NULL,
            outcome jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (caller, key)
        )
        """
    )
    op.execute("CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)")
    op.execute(
        """
        CREATE TABLE reservation_audit (
            id bigserial PRIMARY KEY,
            reservation_id uuid NOT NULL,
            provider_id uuid NOT NULL,
            actor text,
            action text NOT NULL,
            before jsonb,
            after jsonb,
            at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX reservation_audit_reservation ON reservation_audit (reservation_id, id)")
    op.execute(
        """
        CREATE FUNCTION reservation_audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'reservation_audit is append-only' USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER reservation_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON reservation_audit FOR EACH STATEMENT EXECUTE FUNCTION reservation_audit_is_append_only()"
    )
    op.execute("CREATE INDEX reservations_hold_expiry ON reservations (expires_at) WHERE status = 'HELD'")


def downgrade() -> None:
    op.execute("DROP INDEX reservations_hold_expiry")
    op.execute("DROP TABLE reservation_audit")
    op.execute("DROP FUNCTION reservation_audit_is_append_only")
    op.execute("DROP TABLE idempotency_keys")
