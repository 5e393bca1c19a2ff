"""RFC 9457 problem details: the body of every error response."""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Scope

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    """One invalid input: where it is (a JSON pointer), what is wrong, and why."""

    pointer: str
    detail: str
    type: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None
    checks: dict[str, str] | None = None
    """On a 503 from ``/health/ready``: each backing service's result."""


def request_id_of(scope: Scope) -> str | None:
    request_id = scope.get("state", {}).get("request_id")
    return request_id if isinstance(request_id, str) else None


def problem_body(scope: Scope, status: int, detail: str | None = None, **members: Any) -> bytes:
    problem = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": scope.get("path"),
        "request_id": request_id_of(scope),
        **members,
    }
    return orjson.dumps({key: value for key, value in problem.items() if value is not None})


def problem_response(
    scope: Scope,
    status: int,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **members: Any,
) -> Response:
    return Response(
        problem_body(scope, status, detail, **members),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting problem bodies for these statuses."""
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase} for status in statuses
    }
