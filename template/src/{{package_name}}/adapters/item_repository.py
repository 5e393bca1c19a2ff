"""Items and their idempotency keys in the SQL database."""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    ForeignKey,
    Index,
    Result,
    String,
    Uuid,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.items import (
    DESCRIPTION_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    NAME_MAX_LENGTH,
    IdempotencyKey,
    IdempotencyKeyTakenError,
    Item,
    ItemCursor,
)
from .database import transaction
from .orm import Base, as_utc

OWNER_ID_MAX_LENGTH = 64


class ItemRow(Base):
    __tablename__ = "item"
    __table_args__ = (
        # Serves each owner's pages in keyset order.
        Index("ix_item_owner_id_created_at_id", "owner_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(OWNER_ID_MAX_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX_LENGTH))
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IdempotencyKeyRow(Base):
    """A creation's idempotency key; it goes when the item it created is deleted."""

    __tablename__ = "idempotency_key"

    owner_id: Mapped[str] = mapped_column(String(OWNER_ID_MAX_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_MAX_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("item.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]


class SqlItemRepository:
    """The ``ItemRepository`` port on SQLAlchemy; each method is one session and transaction.

    Sessions open only when a method runs, so a read the cache answers borrows nothing.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, item_id: uuid.UUID) -> Item | None:
        async with transaction(self._sessions) as session:
            row = await session.get(ItemRow, item_id)
        return None if row is None else _to_item(row)

    async def list_page(self, owner_id: str, after: ItemCursor | None, limit: int) -> list[Item]:
        query = select(ItemRow).where(ItemRow.owner_id == owner_id)
        if after is not None:
            # `(created_at, id) > (cursor)`, spelled so every engine seeks the index to the
            # cursor: MySQL scans a row-value comparison from the owner's first row.
            query = query.where(
                ItemRow.created_at >= after.created_at,
                or_(ItemRow.created_at > after.created_at, ItemRow.id > after.id),
            )
        query = query.order_by(ItemRow.created_at, ItemRow.id).limit(limit)
        async with transaction(self._sessions) as session:
            rows = await session.scalars(query)
            return [_to_item(row) for row in rows]

    async def find_by_idempotency_key(
        self, owner_id: str, key: str
    ) -> tuple[IdempotencyKey, Item] | None:
        query = (
            select(IdempotencyKeyRow, ItemRow)
            .join(ItemRow, IdempotencyKeyRow.item_id == ItemRow.id)
            .where(IdempotencyKeyRow.owner_id == owner_id, IdempotencyKeyRow.key == key)
        )
        async with transaction(self._sessions) as session:
            found = (await session.execute(query)).first()
        if found is None:
            return None
        key_row, item_row = found
        stored = IdempotencyKey(
            owner_id=key_row.owner_id, key=key_row.key, fingerprint=key_row.fingerprint
        )
        return stored, _to_item(item_row)

    async def add(self, item: Item, idempotency_key: IdempotencyKey | None) -> None:
        async with transaction(self._sessions) as session:
            session.add(_to_row(item))
            if idempotency_key is None:
                return
            await session.flush()  # the key refers to the item: insert the item first
            session.add(
                IdempotencyKeyRow(
                    owner_id=idempotency_key.owner_id,
                    key=idempotency_key.key,
                    fingerprint=idempotency_key.fingerprint,
                    item_id=item.id,
                    created_at=item.created_at,
                )
            )
            try:
                await session.flush()
            except IntegrityError as error:
                raise IdempotencyKeyTakenError(idempotency_key.key) from error

    async def update(self, item: Item, expected_version: int) -> bool:
        statement = (
            update(ItemRow)
            .where(ItemRow.id == item.id, ItemRow.version == expected_version)
            .values(
                name=item.name,
                description=item.description,
                version=item.version,
                updated_at=item.updated_at,
            )
        )
        async with transaction(self._sessions) as session:
            result = await session.execute(statement)
        return _rowcount(result) == 1

    async def delete(self, owner_id: str, item_id: uuid.UUID) -> bool:
        statement = delete(ItemRow).where(ItemRow.id == item_id, ItemRow.owner_id == owner_id)
        async with transaction(self._sessions) as session:
            result = await session.execute(statement)
        return _rowcount(result) == 1


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (``Session.execute`` is typed for SELECTs)."""
    return cast(CursorResult[Any], result).rowcount


def _to_row(item: Item) -> ItemRow:
    return ItemRow(
        id=item.id,
        owner_id=item.owner_id,
        name=item.name,
        description=item.description,
        version=item.version,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _to_item(row: ItemRow) -> Item:
    return Item(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        description=row.description,
        version=row.version,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )
