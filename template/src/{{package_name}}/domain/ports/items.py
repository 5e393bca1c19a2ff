"""Where items are stored."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    # The item service imports this port, so the entities come in for type checking only.
    from ..items import IdempotencyKey, Item, ItemCursor


class ItemRepository(Protocol):
    """Stores items; every write is one transaction of its own."""

    async def get(self, item_id: uuid.UUID) -> Item | None: ...

    async def list_page(self, owner_id: str, after: ItemCursor | None, limit: int) -> list[Item]:
        """Up to ``limit`` of the owner's items past ``after``, in (created_at, id) order."""
        ...

    async def find_by_idempotency_key(
        self, owner_id: str, key: str
    ) -> tuple[IdempotencyKey, Item] | None: ...

    async def add(self, item: Item, idempotency_key: IdempotencyKey | None) -> None:
        """Store the item and its key together; ``IdempotencyKeyTakenError`` if the key is."""
        ...

    async def update(self, item: Item, expected_version: int) -> bool:
        """Store the item if the stored one is still at ``expected_version``."""
        ...

    async def delete(self, owner_id: str, item_id: uuid.UUID) -> bool:
        """Delete the owner's item; False if there is none."""
        ...
