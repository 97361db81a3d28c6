"""Configuration from the environment (see the README for the list)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL URL; unset: an embedded PostgreSQL in ./.slotwise/pgdata.",
    )
    env: Literal["development", "production"] = Field(
        default="development",
        validation_alias="SLOTWISE_ENV",
        description="production turns GraphiQL off.",
    )
    data_dir: str = Field(
        default=".slotwise",
        validation_alias="SLOTWISE_DATA_DIR",
        description="Where the embedded PostgreSQL keeps its data.",
    )
    db_pool_size: int = Field(default=10, validation_alias="SLOTWISE_DB_POOL_SIZE")
    redis_url: str | None = Field(
        default=None,
        validation_alias="REDIS_URL",
        description="Redis for cross-instance live events and the view cache; unset: this process only.",
    )
    hold_sweep_seconds: float = Field(
        default=2.0,
        validation_alias="SLOTWISE_HOLD_SWEEP_SECONDS",
        description="How often expired holds are swept.",
    )
    max_subscriptions_per_connection: int = Field(default=20, validation_alias="SLOTWISE_MAX_SUBSCRIPTIONS")
    keep_alive_seconds: float = Field(default=15.0, validation_alias="SLOTWISE_KEEP_ALIVE_SECONDS")
