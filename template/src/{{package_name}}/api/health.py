"""Liveness and readiness probes."""

import asyncio
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from ..resources import ReadinessCheck
from .dependencies import ResourcesDep

CHECK_TIMEOUT_SECONDS = 2.0

router = APIRouter(prefix="/health", tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
    """Per backing service: "ok", or why it failed."""


@router.get("/live")
async def live() -> Liveness:
    """The process is up and serving; restart it if this fails."""
    return Liveness(status="ok")


@router.get("/ready", responses={503: {"model": Readiness}})
async def ready(resources: ResourcesDep, response: Response) -> Readiness:
    """Every backing service answers; send traffic only while this is 200."""
    probes = resources.readiness_checks()
    results = await asyncio.gather(*(_check(probe) for probe in probes.values()))
    checks = dict(zip(probes, results, strict=True))
    healthy = all(result == "ok" for result in results)
    response.status_code = 200 if healthy else 503
    return Readiness(status="ok" if healthy else "unavailable", checks=checks)


async def _check(check: ReadinessCheck) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await check()
    except TimeoutError:
        return f"timed out after {CHECK_TIMEOUT_SECONDS}s"
    except Exception as error:  # a failing dependency must not fail the probe itself
        return type(error).__name__
    return "ok"
