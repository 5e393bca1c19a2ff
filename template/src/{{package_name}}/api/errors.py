"""One table maps domain errors to HTTP; every error leaves as problem+json."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from ..domain.errors import (
    AuthenticationError,
    ConflictError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    UnavailableError,
)
from .openapi import install_openapi
from .problems import problem_response

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    PreconditionFailedError: 412,
    UnavailableError: 503,
}
RETRY_AFTER_SECONDS = 1
"""What a 503 asks the client to wait before retrying."""

# Pydantic's messages that speak Python rather than JSON.
_MESSAGE_BY_ERROR_TYPE = {
    "dict_type": "Input should be a JSON object",
    "model_type": "Input should be a JSON object",
    "model_attributes_type": "Input should be a JSON object",
}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    install_openapi(app)


async def _domain_error(request: Request, error: DomainError) -> Response:
    status = next(
        (STATUS_BY_ERROR[kind] for kind in type(error).__mro__ if kind in STATUS_BY_ERROR),
        400,
    )
    return problem_response(request.scope, status, error.detail, headers=_headers_for(status))


def _headers_for(status: int) -> dict[str, str] | None:
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if status == 503:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return None


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    problems = error.errors()
    malformed = next((problem for problem in problems if problem["type"] == "json_invalid"), None)
    if malformed is not None:
        return problem_response(request.scope, 400, _malformed_json_detail(malformed))
    errors = [
        {
            "pointer": "/" + "/".join(str(part) for part in problem["loc"]),
            "detail": _MESSAGE_BY_ERROR_TYPE.get(problem["type"], problem["msg"]),
            "type": problem["type"],
        }
        for problem in problems
    ]
    return problem_response(
        request.scope, 422, "The request is not valid; see errors.", errors=errors
    )


def _malformed_json_detail(problem: dict[str, Any]) -> str:
    """Why the body is not JSON, and where: ``loc`` is ``("body", offset)``."""
    reason = problem.get("ctx", {}).get("error", "not valid JSON")
    offset = problem["loc"][-1]
    return f"The body is not valid JSON: {reason} (at character {offset})."


async def _http_error(request: Request, error: HTTPException) -> Response:
    detail = error.detail if isinstance(error.detail, str) else None
    headers = error.headers
    if error.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return problem_response(request.scope, error.status_code, detail, headers=headers)


HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first's)."""

    def served(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)

    return ", ".join(method for method in HTTP_METHODS if served(method))
