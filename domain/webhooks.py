"""Webhooks: the signature partners verify, the retry schedule, what a webhook may be."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from domain.errors import ValidationProblem, checked_text

SIGNATURE_PREFIX = "sha256="
MAX_URL_LENGTH = 2000
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 200
# A receiver should refuse a signature older than this (a replayed request).
SIGNATURE_TOLERANCE = timedelta(minutes=5)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256, keyed by the secret, of "<timestamp>.<body>"."""
    signed = str(timestamp).encode() + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    given: str,
    now: datetime,
    tolerance: timedelta = SIGNATURE_TOLERANCE,
) -> bool:
    """What a receiver checks: the signature matches (compared in constant time) and is fresh."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now.timestamp() - sent) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(signature(secret, sent, body), given)


def retry_delay(attempts: int, base: float, cap: float, jitter: float) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: base * 2**(attempts - 1), at most
    `cap` seconds, scaled into [1/2, 1] by `jitter` in [0, 1) so that receivers coming back are
    not hit by every sender at once."""
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=ceiling * (0.5 + jitter / 2))


def checked_url(url: str) -> str:
    trimmed = checked_text(url, "url", MAX_URL_LENGTH)
    try:
        parts = urlsplit(trimmed)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise ValidationProblem("url", "is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ValidationProblem("url", "give an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise ValidationProblem("url", "must not carry credentials; the signature authenticates us")
    if parts.fragment:
        raise ValidationProblem("url", "must not have a #fragment")
    return trimmed


def checked_secret(secret: str) -> str:
    checked_text(secret, "secret", MAX_SECRET_LENGTH)
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        raise ValidationProblem(
            "secret", f"must be {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters; omit it to get one"
        )
    return secret
