"""GraphQL operations over a graphql-transport-ws socket, one answer each."""

from __future__ import annotations

import json
from typing import Any


async def socket_operation(ws: Any, operation: str, query: str, /, **variables: Any) -> dict[str, Any]:
    """Sends a query or mutation as `subscribe`; returns its `next` payload once `complete` follows,
    or {"errors": ...} when the server answers with an `error` message."""
    await ws.send(
        json.dumps(
            {"id": operation, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
    )
    answer: dict[str, Any] = {}
    while True:
        message = json.loads(await ws.recv())
        if message.get("id") != operation:
            continue
        if message["type"] == "error":
            return {"errors": message["payload"]}
        if message["type"] == "next":
            answer = message["payload"]
        if message["type"] == "complete":
            return answer
