"""Rate limiting: how many requests a client may still make."""

from typing import Protocol


class RateLimiter(Protocol):
    """A token bucket per client: ``burst`` at once, ``rate_per_second`` sustained."""

    async def acquire(self, client: str) -> float:
        """Spend one token: 0.0 when the request may go ahead, else the seconds to wait."""
        ...
