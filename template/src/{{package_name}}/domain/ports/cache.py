"""The cache behind cache-aside reads."""

from typing import Protocol


class Cache(Protocol):
    """A byte cache with expiry; adapters choose the TTL (with jitter) from settings."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def ping(self) -> None: ...
