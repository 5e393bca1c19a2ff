"""Background jobs: named, with a JSON payload, handled at least once.

Code enqueues through the ``JobQueue`` port (``ports/jobs.py``); ``job_handlers`` in
the package's ``jobs.py`` gives the queue a handler for each job name.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

JobPayload = Mapping[str, Any]
"""A JSON object: what the handler needs, by value (ids, not live objects)."""

JobHandler = Callable[[JobPayload], Awaitable[None]]
"""Handles one job; raising schedules a retry. Handlers must be idempotent."""


class UnknownJobError(LookupError):
    """A job was enqueued under a name no handler is registered for."""
