"""The example resource: pagination, validation, conditional requests and idempotent POST."""

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from ..domain.items import (
    DESCRIPTION_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    NAME_MAX_LENGTH,
    UNSET,
    InvalidCursorError,
    Item,
    ItemChanges,
    ItemCursor,
    NewItem,
)
from .dependencies import ItemServiceDep
from .media_types import JSON_BODY
from .problems import problem_responses
from .security import AUTH_RESPONSES, CurrentPrincipal
from .validation import Reworded

PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
CURSOR_MAX_LENGTH = 200
_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')


router = APIRouter(prefix="/items", tags=["items"], responses=AUTH_RESPONSES)

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_LENGTH)
]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX_LENGTH)]


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description | None = None

    def to_domain(self) -> NewItem:
        return NewItem(name=self.name, description=self.description)


class ItemPatch(BaseModel):
    """A JSON merge patch: a member left out stays as it is, ``null`` clears it."""

    model_config = ConfigDict(extra="forbid")

    name: Name | SkipJsonSchema[None] = None
    description: Description | None = None

    @field_validator("name")
    @classmethod
    def _name_cannot_be_cleared(cls, name: str | None) -> str:
        if name is None:
            raise PydanticCustomError(
                "value_error", "Name cannot be null; leave it out to keep the current one"
            )
        return name

    def to_domain(self) -> ItemChanges:
        return ItemChanges(
            name=UNSET if self.name is None else self.name,
            description=self.description if "description" in self.model_fields_set else UNSET,
        )


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, use_attribute_docstrings=True)

    id: uuid.UUID
    name: str
    description: str | None
    version: int
    """Grows with every change; the ``ETag`` header carries it for conditional requests."""
    created_at: datetime
    updated_at: datetime


class ItemPageRead(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    items: list[ItemRead]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; ``null`` on the last page."""


async def get_owned_item(
    item_id: uuid.UUID, caller: CurrentPrincipal, items: ItemServiceDep
) -> Item:
    """The caller's item named in the path; anyone else's is as missing as a deleted one."""
    return await items.get(caller.id, item_id)


OwnedItem = Annotated[Item, Depends(get_owned_item)]


async def get_page_cursor(
    cursor: Annotated[
        str | None,
        Query(max_length=CURSOR_MAX_LENGTH, description="`next_cursor` of the previous page."),
    ] = None,
) -> ItemCursor | None:
    if cursor is None:
        return None
    try:
        return ItemCursor.decode(cursor)
    except InvalidCursorError as error:
        location = ("query", "cursor")
        problem = {"type": "value_error", "loc": location, "msg": error.detail, "input": cursor}
        raise RequestValidationError([problem]) from error


PageCursor = Annotated[ItemCursor | None, Depends(get_page_cursor)]


async def get_precondition(
    if_match: Annotated[
        str | None, Header(description="Update only if the item still has one of these ETags.")
    ] = None,
) -> Callable[[Item], bool] | None:
    """``If-Match`` as a test of the current item, by strong comparison (RFC 9110 13.1.1)."""
    if if_match is None:
        return None
    return lambda item: names_entity_tag(if_match, entity_tag(item), weak_comparison=False)


Precondition = Annotated[Callable[[Item], bool] | None, Depends(get_precondition)]

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        pattern=r"^[!-~]+$",
        description="Makes retries safe: a repeat with the same key and body creates nothing "
        "new and gets the first response back.",
    ),
    Reworded(string_pattern_mismatch="Key should have only visible ASCII characters, no spaces"),
]


def entity_tag(item: Item) -> str:
    """A strong ETag: the representation changes exactly when the version does."""
    return f'"{item.id.hex}-{item.version}"'


def names_entity_tag(header: str, etag: str, *, weak_comparison: bool) -> bool:
    """Whether an ``If-Match``/``If-None-Match`` value (``*`` or a list) names ``etag``."""
    if header.strip() == "*":
        return True
    return any(
        f'"{opaque}"' == etag and (weak_comparison or not weak)
        for weak, opaque in _ENTITY_TAG.findall(header)
    )


@router.post(
    "",
    status_code=201,
    response_model=ItemRead,
    dependencies=[JSON_BODY],
    responses=problem_responses(409),
)
async def create_item(
    body: ItemCreate,
    caller: CurrentPrincipal,
    items: ItemServiceDep,
    *,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Item:
    """Create an item; with ``Idempotency-Key``, a retry replays the first response."""
    created = await items.create(caller.id, body.to_domain(), idempotency_key)
    response.headers["Location"] = str(request.url_for("get_item", item_id=created.item.id))
    response.headers["ETag"] = entity_tag(created.item)
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return created.item


@router.get("", response_model=ItemPageRead)
async def list_items(
    caller: CurrentPrincipal,
    items: ItemServiceDep,
    cursor: PageCursor,
    limit: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
) -> dict[str, Any]:
    """The caller's items, oldest first, a page at a time."""
    page = await items.list(caller.id, limit, cursor)
    next_cursor = None if page.next_cursor is None else page.next_cursor.encode()
    return {"items": page.items, "next_cursor": next_cursor}


@router.get(
    "/{item_id}",
    response_model=ItemRead,
    responses={
        304: {"description": "Not Modified: your copy is current"},
        **problem_responses(404),
    },
)
async def get_item(
    item: OwnedItem,
    response: Response,
    if_none_match: Annotated[
        str | None, Header(description="ETags you hold; a match answers 304 with no body.")
    ] = None,
) -> Item | Response:
    """The item and its ``ETag``; 304 and no body when ``If-None-Match`` names it."""
    etag = entity_tag(item)
    if if_none_match is not None and names_entity_tag(if_none_match, etag, weak_comparison=True):
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return item


@router.patch(
    "/{item_id}",
    response_model=ItemRead,
    dependencies=[JSON_BODY],
    responses=problem_responses(404, 409, 412),
)
async def update_item(
    item_id: uuid.UUID,
    body: ItemPatch,
    caller: CurrentPrincipal,
    items: ItemServiceDep,
    *,
    precondition: Precondition,
    response: Response,
) -> Item:
    """Change some fields; with ``If-Match``, only if nobody changed the item meanwhile."""
    item = await items.update(caller.id, item_id, body.to_domain(), precondition)
    response.headers["ETag"] = entity_tag(item)
    return item


@router.delete(
    "/{item_id}",
    status_code=204,
    response_class=Response,  # no body, so no Content-Type either
    responses=problem_responses(404),
)
async def delete_item(item_id: uuid.UUID, caller: CurrentPrincipal, items: ItemServiceDep) -> None:
    """Delete the item; an idempotency key that created it can then be used again."""
    await items.delete(caller.id, item_id)
