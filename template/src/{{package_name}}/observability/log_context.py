"""The log context a request binds, carried over to the jobs it enqueues.

A job runs later, maybe in another process, so the context variables bound during the
request (``request_id``, and whatever else was bound) travel with the job as plain JSON:
in the in-process queue's envelope, or in a broker message's headers. The worker binds
them again around the handler, so the job's log lines carry the request's id.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import structlog

JsonScalar = str | int | float | bool | None
LogContext = Mapping[str, JsonScalar]

_JSON_SCALARS = (str, int, float, bool, type(None))


def capture_log_context() -> dict[str, JsonScalar]:
    """The context variables bound here, those that survive a trip through JSON."""
    return {
        key: value
        for key, value in structlog.contextvars.get_contextvars().items()
        if isinstance(value, _JSON_SCALARS)
    }


@contextmanager
def bound_log_context(context: LogContext, **more: JsonScalar) -> Iterator[None]:
    """Bind a carried context, and ``more`` on top, for the duration of the block."""
    with structlog.contextvars.bound_contextvars(**{**context, **more}):
        yield
