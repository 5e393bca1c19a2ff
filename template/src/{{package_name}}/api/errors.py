"""One table maps domain errors to HTTP; every error leaves as problem+json."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..domain.errors import (
    AuthenticationError,
    ConflictError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
)
from .problems import document_problems_as_problem_json, problem_response

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    PreconditionFailedError: 412,
}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    _document_problem_json(app)


def _document_problem_json(app: FastAPI) -> None:
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems_as_problem_json(build_schema())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


async def _domain_error(request: Request, error: DomainError) -> Response:
    status = next(
        (STATUS_BY_ERROR[kind] for kind in type(error).__mro__ if kind in STATUS_BY_ERROR),
        400,
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem_response(request.scope, status, error.detail, headers=headers)


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    errors = [
        {
            "pointer": "/" + "/".join(str(part) for part in problem["loc"]),
            "detail": problem["msg"],
            "type": problem["type"],
        }
        for problem in error.errors()
    ]
    return problem_response(
        request.scope, 422, "The request is not valid; see errors.", errors=errors
    )


async def _http_error(request: Request, error: HTTPException) -> Response:
    detail = error.detail if isinstance(error.detail, str) else None
    return problem_response(request.scope, error.status_code, detail, headers=error.headers)
