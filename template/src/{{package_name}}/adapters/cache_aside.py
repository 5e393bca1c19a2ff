"""Cache-aside over any ``CacheStore``: the read policy every cache choice shares.

- Entries live ``ttl_seconds`` spread by up to ±``ttl_jitter_ratio``, so entries written
  together do not expire together; a missing record is remembered for
  ``negative_ttl_seconds`` so repeated lookups of it skip the repository too.
- Concurrent misses of one key in this process share one load (singleflight), including
  a miss whose store read was under way while another request's load finished.
- Fail-open: a store that is down, or slower than ``timeout_seconds``, costs a miss and
  a counted error, never a failed request; for ``pause_seconds`` after a failure the
  store is skipped (a stalled server would otherwise cost every request its timeout);
  the outage is logged at most once per ``warn_interval_seconds``.
- Keys are ``<namespace>:<key>``: the namespace names the service (and, under test, the
  run), the caller's key carries the shape's version (``item:v1:<id>``).
"""

import asyncio
import random
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from ..domain.ports import CacheStore, CacheUnavailableError

T = TypeVar("T")

logger = structlog.get_logger(__name__)

MISSING = b""
"""The entry that records "no such record" (a real value is never empty)."""

EVENTS = ("hit", "miss", "coalesced", "error", "skipped")
"""What ``counters()`` counts: answered from the store, loaded, served by another
request's load, store failures served as misses, and calls skipped after a failure."""


FINISHED_LOADS_KEPT_SECONDS = 1.0
"""How long a finished load still answers the reads that were under way meanwhile."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy:
    namespace: str = ""
    ttl_seconds: float = 60.0
    ttl_jitter_ratio: float = 0.1
    negative_ttl_seconds: float = 5.0
    timeout_seconds: float | None = None
    """How long one store call may take; ``None`` for a store in this process."""
    warn_interval_seconds: float = 60.0
    pause_seconds: float = 1.0
    """After a failure, how long the store is left alone before it is tried again."""


class OutageWarning:
    """Logs that a backing server failed, at most once per interval however often it does."""

    def __init__(
        self, event: str, interval_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._event = event
        self._interval = interval_seconds
        self._clock = clock
        self._last_logged: float | None = None
        self._unlogged = 0

    def __call__(self, error: BaseException) -> None:
        now = self._clock()
        if self._last_logged is not None and now - self._last_logged < self._interval:
            self._unlogged += 1
            return
        logger.warning(
            self._event,
            error=repr(error),
            failures_since_last_warning=self._unlogged,
            next_warning_after_seconds=self._interval,
        )
        self._last_logged, self._unlogged = now, 0


class CacheAside:
    """The ``Cache`` port over a ``CacheStore``, failing open."""

    def __init__(self, store: CacheStore, policy: CachePolicy) -> None:
        self._store = store
        self._policy = policy
        self._prefix = f"{policy.namespace}:" if policy.namespace else ""
        self._loading: dict[str, asyncio.Future[Any]] = {}
        self._finished: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        """Recent loads by key: when each finished, and its value."""
        self._counts: Counter[str] = Counter(dict.fromkeys(EVENTS, 0))
        self._warn = OutageWarning("cache.unavailable", policy.warn_interval_seconds)
        self._paused_until = 0.0

    async def read(
        self,
        key: str,
        load: Callable[[], Awaitable[T | None]],
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
    ) -> T | None:
        full_key = self._prefix + key
        started = time.monotonic()
        entry = await self._fail_open(self._store.get(full_key))
        if entry is not None:
            try:
                value = None if entry == MISSING else decode(entry)
            except (ValueError, KeyError, TypeError):
                pass  # written by another release, say: a miss, overwritten below
            else:
                self._counts["hit"] += 1
                return value
        pending = self._loading.get(full_key)
        if pending is not None:
            try:
                value = await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request was cancelled, not the load it waited on
            else:
                self._counts["coalesced"] += 1
                return value
        finished = self._finished.get(full_key)
        if finished is not None and finished[0] >= started:
            # Loaded while this read was under way: as fresh as what it could have read.
            self._counts["coalesced"] += 1
            return finished[1]  # type: ignore[no-any-return]
        return await self._load(full_key, load, encode)

    async def _load(
        self, full_key: str, load: Callable[[], Awaitable[T | None]], encode: Callable[[T], bytes]
    ) -> T | None:
        self._counts["miss"] += 1
        loading: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._loading[full_key] = loading
        try:
            value = await load()
        except BaseException as error:
            if isinstance(error, asyncio.CancelledError):
                loading.cancel()
            else:
                loading.set_exception(error)
                loading.exception()  # the waiters re-raise it; no "never retrieved"
            raise
        else:
            # A write that forgot the key meanwhile unregistered this load: its value
            # may predate the write, so it is returned but not cached.
            if self._loading.get(full_key) is loading:
                await self._store_value(full_key, value, encode)
                self._remember_finished(full_key, value)
            loading.set_result(value)
        finally:
            if self._loading.get(full_key) is loading:
                del self._loading[full_key]
        return value

    def _remember_finished(self, full_key: str, value: object) -> None:
        now = time.monotonic()
        self._finished[full_key] = (now, value)
        self._finished.move_to_end(full_key)
        while self._finished:
            oldest_key, (finished_at, _) = next(iter(self._finished.items()))
            if now - finished_at <= FINISHED_LOADS_KEPT_SECONDS:
                break
            del self._finished[oldest_key]

    async def _store_value(
        self, full_key: str, value: T | None, encode: Callable[[T], bytes]
    ) -> None:
        if value is None:
            entry, ttl = MISSING, self._policy.negative_ttl_seconds
        else:
            entry, ttl = encode(value), self._jittered_ttl()
        await self._fail_open(self._store.set(full_key, entry, ttl))

    def _jittered_ttl(self) -> float:
        jitter = self._policy.ttl_jitter_ratio
        return self._policy.ttl_seconds * (1 + random.uniform(-jitter, jitter))

    async def forget(self, key: str) -> None:
        full_key = self._prefix + key
        self._loading.pop(full_key, None)
        self._finished.pop(full_key, None)
        await self._fail_open(self._store.delete(full_key))

    async def ping(self) -> None:
        """Raises while the store is down: readiness reports the cache degraded."""
        async with self._deadline():
            await self._store.ping()

    def counters(self) -> Mapping[str, int]:
        return dict(self._counts)

    async def _fail_open(self, call: Coroutine[Any, Any, T]) -> T | None:
        """The call's result, or ``None`` (a miss) when the store fails or is too slow."""
        if self._paused_until and time.monotonic() < self._paused_until:
            call.close()
            self._counts["skipped"] += 1
            return None
        try:
            async with self._deadline():
                return await call
        except (CacheUnavailableError, TimeoutError) as error:
            self._counts["error"] += 1
            self._paused_until = time.monotonic() + self._policy.pause_seconds
            self._warn(error)
            return None

    def _deadline(self) -> AbstractAsyncContextManager[Any]:
        timeout = self._policy.timeout_seconds
        return nullcontext() if timeout is None else asyncio.timeout(timeout)
