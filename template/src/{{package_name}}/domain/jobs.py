"""Background jobs: named, with a JSON payload, handled at least once.

Every queue slice serves this API, so code that enqueues does not know which
broker runs the job. Every slice also carries the enqueuer's log context (its
``request_id``...) with the job, in the message's headers, and binds it while the
handler runs: a job's log lines join those of the request that asked for it.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

JobPayload = Mapping[str, Any]
"""A JSON object: what the handler needs, by value (ids, not live objects)."""

JobHandler = Callable[[JobPayload], Awaitable[None]]
"""Handles one job; raising schedules a retry. Handlers must be idempotent."""


class UnknownJobError(LookupError):
    """A job was enqueued under a name no handler is registered for."""


class JobQueue(Protocol):
    async def enqueue(self, name: str, payload: JobPayload) -> None:
        """Accept a job for later, with the caller's log context; returns once it is
        queued, not when it ran."""
        ...

    async def ping(self) -> None: ...
