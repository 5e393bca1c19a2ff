"""Items: the example resource, each owned by the principal who created it."""

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Final

from .errors import ConflictError, DomainError, NotFoundError, PreconditionFailedError
from .ports import Cache, ItemRepository, JobQueue

ITEM_CREATED_JOB = "item.created"
NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
IDEMPOTENCY_KEY_MAX_LENGTH = 255
ITEM_CACHE_VERSION = 1
"""Bump it whenever the cached shape (``_to_cache``) changes."""


class Unset(Enum):
    """The type of ``UNSET``: a field a change leaves alone, unlike one set to ``None``."""

    UNSET = "UNSET"


UNSET: Final = Unset.UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    id: uuid.UUID
    owner_id: str
    name: str
    description: str | None
    version: int
    """Starts at 1 and grows with every change; the API derives the ETag from it."""
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NewItem:
    name: str
    description: str | None = None

    def fingerprint(self) -> str:
        """Identifies the request's content, to tell a retry from a reused key."""
        content = json.dumps([self.name, self.description], ensure_ascii=False)
        return hashlib.sha256(content.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemChanges:
    """A partial update: ``UNSET`` leaves a field as it is, ``None`` clears it."""

    name: str | Unset = UNSET
    description: str | Unset | None = UNSET

    def apply_to(self, item: Item, now: datetime) -> Item:
        return replace(
            item,
            name=item.name if self.name is UNSET else self.name,
            description=item.description if self.description is UNSET else self.description,
            version=item.version + 1,
            updated_at=now,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotencyKey:
    """A client's key for one creation, with the fingerprint of the request it came with."""

    owner_id: str
    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Created:
    item: Item
    replayed: bool
    """True when an earlier request with the same idempotency key created the item."""


class InvalidCursorError(DomainError):
    """A page cursor that this service did not hand out, or that was altered."""


_BAD_CURSOR = "The cursor is not one this service handed out; start again without it."


@dataclass(frozen=True, slots=True)
class ItemCursor:
    """A position in the (created_at, id) order: the last item of the previous page."""

    created_at: datetime
    id: uuid.UUID

    @classmethod
    def after(cls, item: Item) -> "ItemCursor":
        return cls(item.created_at, item.id)

    def encode(self) -> str:
        """An opaque token: clients hand it back, and need not read it."""
        position = json.dumps([self.created_at.isoformat(), self.id.hex])
        return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "ItemCursor":
        try:
            padded = token + "=" * (-len(token) % 4)
            created_at, item_id = json.loads(base64.urlsafe_b64decode(padded))
            cursor = cls(datetime.fromisoformat(created_at), uuid.UUID(hex=item_id))
        except (ValueError, TypeError, AttributeError) as error:
            raise InvalidCursorError(_BAD_CURSOR) from error
        if cursor.created_at.tzinfo is None:
            raise InvalidCursorError(_BAD_CURSOR)
        return cursor


@dataclass(frozen=True, slots=True)
class ItemPage:
    items: Sequence[Item]
    next_cursor: ItemCursor | None
    """Where the next page starts; ``None`` on the last page."""


class IdempotencyKeyTakenError(Exception):
    """Raised by ``ItemRepository.add`` when a concurrent request stored the key first."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ItemService:
    """The rules for items: ownership, idempotent creation, cache-aside reads, versions."""

    def __init__(
        self,
        items: ItemRepository,
        cache: Cache,
        jobs: JobQueue,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._items = items
        self._cache = cache
        self._jobs = jobs
        self._clock = clock

    async def create(
        self, owner_id: str, new: NewItem, idempotency_key: str | None = None
    ) -> Created:
        """Create an item; a retry with the same key gets the first result back."""
        if idempotency_key is None:
            return await self._insert(owner_id, new, key=None)
        key = IdempotencyKey(owner_id=owner_id, key=idempotency_key, fingerprint=new.fingerprint())
        earlier = await self._replay(key)
        if earlier is not None:
            return earlier
        try:
            return await self._insert(owner_id, new, key)
        except IdempotencyKeyTakenError:
            # A concurrent request with the same key committed first: answer as it did.
            winner = await self._replay(key)
            if winner is None:
                raise ConflictError(
                    f"Idempotency key {key.key!r} is in use by a concurrent request; retry."
                ) from None
            return winner

    async def _insert(self, owner_id: str, new: NewItem, key: IdempotencyKey | None) -> Created:
        now = self._clock()
        item = Item(
            id=uuid.uuid4(),
            owner_id=owner_id,
            name=new.name,
            description=new.description,
            version=1,
            created_at=now,
            updated_at=now,
        )
        await self._items.add(item, key)
        # Enqueued once committed, so the job never sees an item that is not stored.
        # A crash in between loses the job; an outbox table would close that gap.
        await self._jobs.enqueue(ITEM_CREATED_JOB, {"item_id": str(item.id), "owner_id": owner_id})
        return Created(item, replayed=False)

    async def _replay(self, key: IdempotencyKey) -> Created | None:
        found = await self._items.find_by_idempotency_key(key.owner_id, key.key)
        if found is None:
            return None
        stored, item = found
        if stored.fingerprint != key.fingerprint:
            raise ConflictError(
                f"Idempotency key {key.key!r} was already used with a different request; "
                "use a new key for a new request."
            )
        return Created(item, replayed=True)

    async def list(self, owner_id: str, limit: int, after: ItemCursor | None = None) -> ItemPage:
        """One page of the owner's items, oldest first."""
        # One extra row tells whether another page follows, without a count query.
        items = await self._items.list_page(owner_id, after, limit + 1)
        if len(items) <= limit:
            return ItemPage(items, next_cursor=None)
        page = items[:limit]
        return ItemPage(page, next_cursor=ItemCursor.after(page[-1]))

    async def get(self, owner_id: str, item_id: uuid.UUID) -> Item:
        """The owner's item, from the cache when it is there."""
        item = await self._cache.read(
            _cache_key(item_id),
            load=lambda: self._items.get(item_id),
            encode=_to_cache,
            decode=_from_cache,
        )
        # After the cache read: a cached item is as private as a stored one.
        if item is None or item.owner_id != owner_id:
            raise _not_found(item_id)
        return item

    async def update(
        self,
        owner_id: str,
        item_id: uuid.UUID,
        changes: ItemChanges,
        precondition: Callable[[Item], bool] | None = None,
    ) -> Item:
        """Apply a partial update; ``precondition`` (``If-Match``) sees the current item."""
        current = await self._items.get(item_id)
        if current is None or current.owner_id != owner_id:
            raise _not_found(item_id)
        if precondition is not None and not precondition(current):
            raise PreconditionFailedError("The item has changed since you read it.")
        updated = changes.apply_to(current, self._clock())
        if not await self._items.update(updated, expected_version=current.version):
            # Another change landed between our read and our write.
            raise ConflictError("The item changed while it was being updated; try again.")
        await self._cache.forget(_cache_key(item_id))
        return updated

    async def delete(self, owner_id: str, item_id: uuid.UUID) -> None:
        if not await self._items.delete(owner_id, item_id):
            raise _not_found(item_id)
        await self._cache.forget(_cache_key(item_id))


def _not_found(item_id: uuid.UUID) -> NotFoundError:
    return NotFoundError(f"Item {item_id} does not exist.")


def _cache_key(item_id: uuid.UUID) -> str:
    """Versioned with the shape below, so a release that changes it never reads old entries."""
    return f"item:v{ITEM_CACHE_VERSION}:{item_id}"


def _to_cache(item: Item) -> bytes:
    return json.dumps(
        {
            "id": str(item.id),
            "owner_id": item.owner_id,
            "name": item.name,
            "description": item.description,
            "version": item.version,
            "created_at": item.created_at.isoformat(),
            "updated_at": item.updated_at.isoformat(),
        }
    ).encode()


def _from_cache(entry: bytes) -> Item:
    fields = json.loads(entry)
    return Item(
        id=uuid.UUID(fields["id"]),
        owner_id=fields["owner_id"],
        name=fields["name"],
        description=fields["description"],
        version=fields["version"],
        created_at=datetime.fromisoformat(fields["created_at"]),
        updated_at=datetime.fromisoformat(fields["updated_at"]),
    )
