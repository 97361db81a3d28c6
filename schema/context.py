"""What a resolver gets in `info.context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry

from resolvers.context import AppContext


@dataclass
class RequestContext:
    app: AppContext
    request: Any = None
    response: Any = None

    @property
    def actor(self) -> str:
        """Who is asking, for the change logs: the client's address until API keys identify callers."""
        client = getattr(self.request, "client", None)
        return f"ip:{client.host}" if client is not None else "unknown"

    def may_see_private(self, provider_id: str) -> bool:
        """Booking ids and calendar titles are for the provider and admins.

        No caller can prove to be either yet (API keys come with access control),
        so every caller is treated as a member of the public.
        """
        return False


Info = strawberry.Info[RequestContext, None]
