"""Who is making a request, as far as the domain cares."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: owner of what it creates, and the only one who sees it."""

    id: str
