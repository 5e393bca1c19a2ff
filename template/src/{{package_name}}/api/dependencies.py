"""Wiring: which adapter stands behind each port, and the ``Annotated`` aliases handlers take.

Handlers declare what they need (``SessionDep``, ``ItemServiceDep``...) and never name
an adapter; a slice with adapters of its own wires them in its own dependencies module.
FastAPI resolves each dependency once per request, however many parameters ask for it.
"""

from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from ..adapters.database import unavailable_as_domain_error
from ..adapters.item_repository import SqlItemRepository
from ..domain.items import ItemService
from ..domain.ports import Cache, JobQueue
from ..resources import Resources
from ..settings import Settings


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_resources(request: Request) -> Resources:
    return cast(Resources, request.state.resources)


SettingsDep = Annotated[Settings, Depends(get_settings)]
ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """A session for this request only; it borrows a connection when first used."""
    async with unavailable_as_domain_error(), resources.database.sessions() as session:
        yield session


async def get_cache(resources: ResourcesDep) -> Cache:
    return resources.cache


async def get_jobs(resources: ResourcesDep) -> JobQueue:
    return resources.jobs


SessionDep = Annotated[AsyncSession, Depends(get_session)]
CacheDep = Annotated[Cache, Depends(get_cache)]
JobsDep = Annotated[JobQueue, Depends(get_jobs)]


async def get_item_service(resources: ResourcesDep) -> ItemService:
    """The item rules; a session opens only when the cache cannot answer.

    Taken straight from the resources, as each dependency costs a resolution per request.
    """
    return ItemService(
        SqlItemRepository(resources.database.sessions), resources.cache, resources.jobs
    )


ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]
