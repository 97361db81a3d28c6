"""What a resolver gets in `info.context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry

from domain.access import ANONYMOUS, Caller
from resolvers.context import AppContext


@dataclass
class RequestContext:
    app: AppContext
    request: Any = None
    response: Any = None
    caller: Caller = ANONYMOUS
    connection_params: dict[str, Any] | None = None  # a websocket's connection_init payload

    @property
    def actor(self) -> str:
        """Who is asking, for the change logs: the API key's name, else the client's address."""
        if self.caller.key_id is not None:
            return f"key:{self.caller.name} ({self.caller.key_id})"
        client = getattr(self.request, "client", None)
        return f"ip:{client.host}" if client is not None else "unknown"

    def may_see_private(self, provider_id: str) -> bool:
        """Booking ids and calendar titles are for the provider's own keys and admins."""
        return self.caller.acts_for(provider_id)


Info = strawberry.Info[RequestContext, None]
