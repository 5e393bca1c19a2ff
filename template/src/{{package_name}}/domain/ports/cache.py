"""The cache: cache-aside reads for the domain, over a key-value store with expiry."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

T = TypeVar("T")


class CacheUnavailableError(Exception):
    """The store's server cannot be reached or answered wrongly; the caller fails open."""


class CacheStore(Protocol):
    """Bytes by key, each with its own time to live: one adapter per cache server."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def ping(self) -> None: ...


class Cache(Protocol):
    """Cache-aside reads: a hit skips ``load``; concurrent misses of one key share it."""

    async def read(
        self,
        key: str,
        load: Callable[[], Awaitable[T | None]],
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
    ) -> T | None:
        """The cached value, else ``load()``'s, which is cached (``None`` briefly too)."""
        ...

    async def forget(self, key: str) -> None:
        """Drop the entry after a write, so the next read loads the new value."""
        ...

    async def ping(self) -> None: ...

    def counters(self) -> Mapping[str, int]:
        """Events since start (hits, misses, loads, errors...), for metrics."""
        ...
