"""The view cache: in this process, or in Redis shared by every instance.

An entry is stored with the provider's version as it stood before the view was computed and
with the moment the clock would change it (`until`); a read uses it only while both hold.
Writers bump the version after commit and before answering. While a bump to Redis is owed
(Redis unreachable when it was due), reads skip the cache rather than risk a stale entry.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from datetime import datetime
from typing import Any

from redis import asyncio as redis
from redis.exceptions import RedisError

from resolvers.context import CacheLookup

log = logging.getLogger("slotwise.cache")
_BUMP = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('EXPIRE', KEYS[1], 86400)  -- outlives every entry (ttl_seconds), so none outlives it
return 1
"""


class LocalViewCache:
    """For a single instance (no Redis): versions and entries in memory, least recently used out."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._versions: dict[str, int] = {}
        self._providers: dict[str, str] = {}
        self._entries: OrderedDict[str, tuple[int, datetime, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def saw(self, provider_id: str, sequence: int) -> None:
        self._versions[provider_id] = max(self._versions.get(provider_id, 0), sequence)

    async def get(self, key: str, service_id: str, now: datetime) -> CacheLookup:
        provider = self._providers.get(service_id)
        if provider is None:
            self.misses += 1
            return CacheLookup()
        version = self._versions.get(provider, 0)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == version and now < entry[1]:
            self._entries.move_to_end(key)
            self.hits += 1
            return CacheLookup(entry[2], provider, version)
        self.misses += 1
        return CacheLookup(None, provider, version)

    async def put(
        self, key: str, service_id: str, provider_id: str, seen: CacheLookup, value: Any, until: datetime
    ) -> None:
        self._providers[service_id] = provider_id
        if seen.version is None or seen.provider_id != provider_id:
            return
        self._entries[key] = (seen.version, until, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


class RedisViewCache:
    """Shared by every instance: one MGET (version, entry) per read."""

    def __init__(self, url: str, ttl_seconds: int = 300) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._ttl = ttl_seconds
        self._providers: dict[str, str] = {}
        self._owed: dict[str, int] = {}
        self.hits = 0
        self.misses = 0

    async def close(self) -> None:
        await self._redis.aclose()

    async def saw(self, provider_id: str, sequence: int) -> None:
        self._owed[provider_id] = max(self._owed.get(provider_id, 0), sequence)
        await self._pay()

    async def get(self, key: str, service_id: str, now: datetime) -> CacheLookup:
        provider = self._providers.get(service_id)
        if provider is None or not await self._pay():
            self.misses += 1
            return CacheLookup()
        try:
            version_text, entry_text = await self._redis.mget(_version_key(provider), _entry_key(key))
        except RedisError:
            self.misses += 1
            return CacheLookup()
        version = int(version_text or 0)
        if entry_text:
            entry = json.loads(entry_text)
            if entry["v"] == version and now < datetime.fromisoformat(entry["until"]):
                self.hits += 1
                return CacheLookup(entry["data"], provider, version)
        self.misses += 1
        return CacheLookup(None, provider, version)

    async def put(
        self, key: str, service_id: str, provider_id: str, seen: CacheLookup, value: Any, until: datetime
    ) -> None:
        self._providers[service_id] = provider_id
        if seen.version is None or seen.provider_id != provider_id:
            return
        entry = json.dumps({"v": seen.version, "until": until.isoformat(), "data": value})
        try:
            await self._redis.set(_entry_key(key), entry, ex=self._ttl)
        except RedisError:
            log.warning("could not cache %s", key)

    async def _pay(self) -> bool:
        """Bump every owed version; False while Redis cannot be told."""
        for provider, sequence in list(self._owed.items()):
            try:
                await self._redis.eval(_BUMP, 1, _version_key(provider), sequence)  # type: ignore[misc]
            except RedisError as error:
                log.warning("could not bump the cache version of %s: %s", provider, error)
                return False
            if self._owed.get(provider) == sequence:
                del self._owed[provider]
        return True


def _version_key(provider_id: str) -> str:
    return f"slotwise:version:{provider_id}"


def _entry_key(key: str) -> str:
    return f"slotwise:view:{key}"
