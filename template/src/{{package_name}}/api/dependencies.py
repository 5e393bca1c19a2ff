"""Typed dependencies handlers declare with ``Annotated`` aliases."""

from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.jobs import JobQueue
from ..domain.ports import Cache
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
    async with resources.database.sessions() as session:
        yield session


async def get_cache(resources: ResourcesDep) -> Cache:
    return resources.cache


async def get_jobs(resources: ResourcesDep) -> JobQueue:
    return resources.jobs


SessionDep = Annotated[AsyncSession, Depends(get_session)]
CacheDep = Annotated[Cache, Depends(get_cache)]
JobsDep = Annotated[JobQueue, Depends(get_jobs)]
