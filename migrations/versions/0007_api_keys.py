"""API keys, stored only as hashes.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE api_keys (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            role text NOT NULL CHECK (role IN ('ADMIN', 'PROVIDER', 'PARTNER')),
            provider_ids uuid[] NOT NULL DEFAULT '{}',
            key_hash text NOT NULL UNIQUE,
            key_prefix text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            revoked_at timestamptz,
            CONSTRAINT api_keys_provider_bound CHECK (role <> 'PROVIDER' OR cardinality(provider_ids) = 1)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE api_keys")
