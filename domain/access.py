"""Who is calling, and what they may see and change."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass, field

KEY_PREFIX = "sw_"


class Role(enum.Enum):
    ADMIN = "ADMIN"  # operators: everything
    PROVIDER = "PROVIDER"  # bound to one provider
    PARTNER = "PARTNER"  # integrations, bound to the providers that granted them


@dataclass(frozen=True)
class Caller:
    """An API key's holder, or an anonymous customer (role None)."""

    role: Role | None = None
    provider_ids: frozenset[str] = field(default_factory=frozenset)
    key_id: str | None = None
    name: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def acts_for(self, provider_id: str) -> bool:
        """May manage this provider and see its private details (booking ids, event titles)."""
        return self.is_admin or (self.role is not None and provider_id in self.provider_ids)


ANONYMOUS = Caller()


def new_key() -> str:
    """A new API key: 256 random bits, recognizable by its prefix."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_key(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` value; None when there is none."""
    if not authorization:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None
