"""Per-provider change sequence, bumped in every transaction that changes availability.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE provider_change_sequences (
            provider_id uuid PRIMARY KEY REFERENCES providers (id) ON DELETE CASCADE,
            last_sequence bigint NOT NULL CHECK (last_sequence > 0)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE provider_change_sequences")
