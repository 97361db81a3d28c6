"""Sending one signed webhook delivery over HTTP (httpx)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from domain.webhooks import signature

USER_AGENT = "Slotwise-Webhooks/1"


@dataclass(frozen=True)
class DeliveryAttempt:
    accepted: bool  # the receiver answered 2xx
    status: int | None  # its HTTP status; None when no answer came
    error: str | None  # why it failed, for the outbox row


async def post_signed(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    delivery_id: str,
    event: str,
    body: bytes,
    timestamp: int,
) -> DeliveryAttempt:
    """POST the JSON body with its signature; any 2xx accepts it, anything else (a redirect too,
    or no answer) is a failure to retry. The answer's body is not read."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Slotwise-Event": event,
        "X-Slotwise-Delivery": delivery_id,
        "X-Slotwise-Timestamp": str(timestamp),
        "X-Slotwise-Signature": signature(secret, timestamp, body),
    }
    try:
        async with client.stream(
            "POST", url, content=body, headers=headers, follow_redirects=False
        ) as answer:
            status = answer.status_code
    except httpx.HTTPError as error:
        return DeliveryAttempt(False, None, f"{type(error).__name__}: {error}"[:500] or type(error).__name__)
    if 200 <= status < 300:
        return DeliveryAttempt(True, status, None)
    return DeliveryAttempt(False, status, f"HTTP {status}")
