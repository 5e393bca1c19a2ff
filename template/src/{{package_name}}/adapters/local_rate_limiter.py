"""The ``RateLimiter`` port in this process's memory: one token bucket per client.

Each process counts on its own, so N replicas allow N times the rate. A shared cache
(redis, memcached) shares the limit instead, and falls back to this while it is down.
"""

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ..settings import HttpSettings, Settings


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class LocalRateLimiter:
    """``burst`` requests at once, ``rate_per_second`` sustained, per client."""

    MAX_CLIENTS = 10_000
    """Buckets kept; the least recently seen client's goes first."""

    def __init__(
        self,
        rate_per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate_per_second
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @classmethod
    def from_settings(cls, http: HttpSettings) -> "LocalRateLimiter":
        return cls(http.rate_limit_per_second, http.rate_limit_burst)

    async def acquire(self, client: str) -> float:
        return self.take(client)

    def take(self, client: str) -> float:
        """Spend one token: 0.0, or the seconds until one is available."""
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), updated=now)
            self._buckets[client] = bucket
            if len(self._buckets) > self.MAX_CLIENTS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(client)
            bucket.tokens = min(
                float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate
            )
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


@asynccontextmanager
async def open_local_rate_limiter(settings: Settings) -> AsyncIterator[LocalRateLimiter]:
    yield LocalRateLimiter.from_settings(settings.http)
