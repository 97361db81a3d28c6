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
        description="production turns GraphiQL and introspection off.",
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
    view_cache: bool = Field(
        default=True,
        validation_alias="SLOTWISE_VIEW_CACHE",
        description="Cache month and day views (false: compute every time).",
    )
    hold_sweep_seconds: float = Field(
        default=2.0,
        validation_alias="SLOTWISE_HOLD_SWEEP_SECONDS",
        description="How often expired holds are swept.",
    )
    max_subscriptions_per_connection: int = Field(default=20, validation_alias="SLOTWISE_MAX_SUBSCRIPTIONS")
    keep_alive_seconds: float = Field(default=15.0, validation_alias="SLOTWISE_KEEP_ALIVE_SECONDS")
    shutdown_seconds: float = Field(
        default=10.0,
        validation_alias="SLOTWISE_SHUTDOWN_SECONDS",
        ge=0,
        description="On SIGTERM, how long `slotwise serve` lets in-flight requests finish.",
    )
    log_level: str = Field(
        default="INFO", validation_alias="SLOTWISE_LOG_LEVEL", description="Level of the JSON log lines."
    )
    google_client_id: str | None = Field(
        default=None,
        validation_alias="GOOGLE_CLIENT_ID",
        description="OAuth client; unset: no calendar sync.",
    )
    google_client_secret: str = Field(default="", validation_alias="GOOGLE_CLIENT_SECRET")
    google_token_uri: str = Field(
        default="https://oauth2.googleapis.com/token", validation_alias="GOOGLE_TOKEN_URI"
    )
    google_api_endpoint: str | None = Field(
        default=None,
        validation_alias="GOOGLE_API_ENDPOINT",
        description="Calendar API base; unset: Google's.",
    )
    google_retry_base_seconds: float = Field(default=0.5, validation_alias="GOOGLE_RETRY_BASE_SECONDS")
    public_url: str | None = Field(
        default=None,
        validation_alias="SLOTWISE_PUBLIC_URL",
        description="This service's public base URL, for Google's push notifications; unset: polling only.",
    )
    token_key: str | None = Field(
        default=None,
        validation_alias="SLOTWISE_TOKEN_KEY",
        description="Fernet key encrypting stored Google tokens; in development a key file in the data folder.",
    )
    calendar_sync_seconds: float = Field(default=300.0, validation_alias="SLOTWISE_CALENDAR_SYNC_SECONDS")
    calendar_stale_seconds: float = Field(default=900.0, validation_alias="SLOTWISE_CALENDAR_STALE_SECONDS")
    notification_sweep_seconds: float = Field(
        default=300.0,
        validation_alias="SLOTWISE_NOTIFICATION_SWEEP_SECONDS",
        gt=0,
        description="Waiting availability notification requests not checked for this long are checked "
        "again (changes lost to a crash, the horizon moving on) and expired once their dates are over.",
    )
    webhook_poll_seconds: float = Field(
        default=0.5,
        validation_alias="SLOTWISE_WEBHOOK_POLL_SECONDS",
        gt=0,
        description="How often the webhook outbox is checked for due deliveries.",
    )
    webhook_retry_base_seconds: float = Field(
        default=2.0,
        validation_alias="SLOTWISE_WEBHOOK_RETRY_BASE_SECONDS",
        gt=0,
        description="First retry delay of a failed webhook delivery; doubles per attempt (with jitter).",
    )
    webhook_max_attempts: int = Field(
        default=12,
        validation_alias="SLOTWISE_WEBHOOK_MAX_ATTEMPTS",
        ge=1,
        description="Attempts of a webhook delivery before it is given up.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, validation_alias="SLOTWISE_WEBHOOK_TIMEOUT_SECONDS", gt=0
    )
    max_body_bytes: int = Field(
        default=256 * 1024,
        validation_alias="SLOTWISE_MAX_BODY_BYTES",
        ge=0,
        description="Largest HTTP request body; larger ones get 413 (0: no limit).",
    )
    rate_limit_per_minute: int = Field(
        default=600,
        validation_alias="SLOTWISE_RATE_LIMIT_PER_MINUTE",
        ge=0,
        description="GraphQL requests (POSTs, websocket connections and operations sent over them) "
        "per caller per minute; "
        "over it, 429 with Retry-After (0: no limit). Counted in Redis with REDIS_URL.",
    )
    allowed_origins: str = Field(
        default="",
        validation_alias="SLOTWISE_ALLOWED_ORIGINS",
        description="Comma-separated origins whose pages may open websockets (`*`: any); "
        "same-origin pages and non-browser clients always may.",
    )
