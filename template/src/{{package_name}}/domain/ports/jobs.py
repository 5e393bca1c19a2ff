"""The job queue: jobs go in by name, with a JSON payload, and are handled at least once.

Every queue slice serves this port, so code that enqueues does not know which broker
runs the job. Every slice also carries the enqueuer's log context (its ``request_id``...)
with the job, in the message's headers, and binds it while the handler runs: a job's log
lines join those of the request that asked for it.
"""

from typing import Protocol

from ..jobs import JobPayload


class JobQueue(Protocol):
    async def enqueue(self, name: str, payload: JobPayload) -> None:
        """Accept a job for later, with the caller's log context; returns once it is
        queued, not when it ran."""
        ...

    async def ping(self) -> None: ...
