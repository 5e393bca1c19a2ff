"""Ports: what the domain needs from the outside world, one module per concern.

Each is a ``typing.Protocol`` that adapters satisfy structurally. Which adapter stands
behind a port is decided in the API's dependency modules, never here nor in a handler.
The core's ports are importable from this package; a slice's own ports from its module.
"""

from .cache import Cache, CacheStore, CacheUnavailableError
from .items import ItemRepository
from .jobs import JobQueue
from .rate_limiting import RateLimiter

__all__ = [
    "Cache",
    "CacheStore",
    "CacheUnavailableError",
    "ItemRepository",
    "JobQueue",
    "RateLimiter",
]
