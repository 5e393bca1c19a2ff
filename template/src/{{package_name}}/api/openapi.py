"""The OpenAPI document lists every status an operation can answer, errors as problems.

Routes declare the statuses their own logic produces (401, 404, 409...). The ones the
edge produces for any route, from middleware, body parsing and validation, are added
here, so no route can forget them.
"""

from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI

from .middleware import RateLimitMiddleware
from .problems import PROBLEM_JSON, Problem

PROBLEM_SCHEMA = "#/components/schemas/Problem"
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}

Operation = dict[str, Any]


def install_openapi(app: FastAPI) -> None:
    """Complete the generated document once, when it is first asked for."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the edge's problems to every operation and file problems as problem+json."""
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status, response in _edge_problems(path, operation).items():
                if _is_fastapi_validation_error(responses.get(status)):
                    del responses[status]
                responses.setdefault(status, response)
            _file_problems_as_problem_json(responses)
            operation["responses"] = dict(sorted(responses.items()))
    _tidy_components(schema)
    return schema


def _edge_problems(path: str, operation: Operation) -> dict[str, dict[str, Any]]:
    """What the edge may answer for this operation, whatever its handler does."""
    problems = {"500": _problem(500, "a bug; the log has the details")}
    if not path.startswith(RateLimitMiddleware.EXEMPT_PREFIXES):
        problems["429"] = _problem(429, "retry after `Retry-After` seconds", _RETRY_AFTER)
    body = operation.get("requestBody")
    if body is not None or operation.get("parameters"):
        problems["422"] = _problem(422, "an input is invalid; `errors` names each one")
    if body is not None:
        media_types = " or ".join(body.get("content", {}))
        problems["400"] = _problem(400, f"the body cannot be parsed as {media_types}")
        problems["413"] = _problem(413, "the body is larger than the limit")
        problems["415"] = _problem(415, f"the body is not {media_types}")
    return problems


def _problem(status: int, why: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response = {
        "description": f"{HTTPStatus(status).phrase}: {why}",
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_SCHEMA}}},
    }
    return response if headers is None else {**response, "headers": headers}


def _is_fastapi_validation_error(response: dict[str, Any] | None) -> bool:
    """FastAPI's own 422, which describes its default body, not this service's problem."""
    schema = (response or {}).get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _file_problems_as_problem_json(responses: dict[str, Any]) -> None:
    """FastAPI files every response model under ``application/json``; move problems."""
    for response in responses.values():
        content = response.get("content", {})
        body = content.get("application/json", {})
        if body.get("schema", {}).get("$ref") == PROBLEM_SCHEMA:
            content[PROBLEM_JSON] = content.pop("application/json")


def _tidy_components(schema: dict[str, Any]) -> None:
    """Define ``Problem`` and drop FastAPI's validation schemas once nothing uses them."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" not in schemas:
        problem = Problem.model_json_schema(
            mode="serialization", ref_template="#/components/schemas/{model}"
        )
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
    if b'/HTTPValidationError"' not in orjson.dumps(schema.get("paths", {})):
        for name in _FASTAPI_VALIDATION_SCHEMAS:
            schemas.pop(name, None)
