"""Wiring: which adapter stands behind each port, and the ``Annotated`` aliases handlers take.

Handlers declare what they need (``ItemServiceDep``, ``CacheDep``...) and never name
an adapter; a slice with adapters of its own wires them in its own dependencies module
(the database slice's ``storage_dependencies.py`` says where items are kept).
FastAPI resolves each dependency once per request, however many parameters ask for it.
"""

from typing import Annotated, cast

from fastapi import Depends, Request

from ..domain.items import ItemService
from ..domain.ports import Cache, JobQueue
from ..resources import Resources
from ..settings import Settings
from .storage_dependencies import item_repository


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_resources(request: Request) -> Resources:
    return cast(Resources, request.state.resources)


SettingsDep = Annotated[Settings, Depends(get_settings)]
ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_cache(resources: ResourcesDep) -> Cache:
    return resources.cache


async def get_jobs(resources: ResourcesDep) -> JobQueue:
    return resources.jobs


CacheDep = Annotated[Cache, Depends(get_cache)]
JobsDep = Annotated[JobQueue, Depends(get_jobs)]


async def get_item_service(resources: ResourcesDep) -> ItemService:
    """The item rules; a session opens only when the cache cannot answer.

    Taken straight from the resources, as each dependency costs a resolution per request.
    """
    return ItemService(item_repository(resources), resources.cache, resources.jobs)


ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]
