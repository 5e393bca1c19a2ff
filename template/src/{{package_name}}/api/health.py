"""Liveness and readiness probes."""

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from ..resources import DEGRADABLE, ReadinessCheck
from .dependencies import ResourcesDep
from .problems import Problem, problem_response

CHECK_TIMEOUT_SECONDS = 2.0

router = APIRouter(prefix="/health", tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "degraded"]
    """"degraded": a service it works without (the cache) failed; reads are slower."""
    checks: dict[str, str]
    """Per backing service: "ok", or for one it works without, why it is degraded."""


@router.get("/live")
async def live() -> Liveness:
    """The process is up and serving; restart it if this fails."""
    return Liveness(status="ok")


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Problem, "description": "A backing service does not answer"}},
)
async def ready(request: Request, resources: ResourcesDep) -> Readiness | Response:
    """Every backing service it needs answers; send traffic only while this is 200.

    Otherwise 503 problem+json naming each one that failed, with ``checks`` giving
    every service's result ("ok", or why it failed). A failed service the service
    works without (the cache) leaves it ready, with ``status`` "degraded".
    """
    probes = resources.readiness_checks()
    results = await asyncio.gather(*(_check(probe) for probe in probes.values()))
    checks = dict(zip(probes, results, strict=True))
    failed = [name for name, result in checks.items() if result != "ok"]
    if all(name in DEGRADABLE for name in failed):
        return Readiness(status="degraded" if failed else "ok", checks=checks)
    return problem_response(
        request.scope,
        503,
        f"Not ready: {', '.join(failed)} unavailable.",
        headers={"Retry-After": "1"},
        checks=checks,
    )


async def _check(check: ReadinessCheck) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await check()
    except TimeoutError:
        return f"timed out after {CHECK_TIMEOUT_SECONDS}s"
    except Exception as error:  # a failing dependency must not fail the probe itself
        return type(error).__name__
    return "ok"
