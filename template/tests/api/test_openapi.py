"""The OpenAPI document describes what the service serves, errors included."""

import re
import uuid
from collections.abc import Iterator
from typing import Any

from httpx import AsyncClient

from .assertions import PROBLEM_JSON, assert_problem

Json = dict[str, Any]

NOT_PROBLEMS = {("get", "/health/ready", "503")}
"""Error responses with a body of their own: readiness reports each check."""


def operations(schema: Json) -> Iterator[tuple[str, str, Json]]:
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def with_made_up_ids(path: str) -> str:
    """The path with a fresh UUID for each parameter: every path parameter is an id."""
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


async def openapi(client: AsyncClient) -> Json:
    schema: Json = (await client.get("/openapi.json")).json()
    return schema


async def test_error_responses_are_documented_as_problem_json(client: AsyncClient) -> None:
    schema = await openapi(client)
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    documented = 0
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if int(status) < 400 or (method, path, status) in NOT_PROBLEMS:
                continue
            documented += 1
            content = response.get("content", {})
            assert list(content) == [PROBLEM_JSON], (method, path, status)
            assert content[PROBLEM_JSON]["schema"]["$ref"].endswith("/Problem")
    assert documented > 0


async def test_every_operation_documents_what_the_edge_may_answer(client: AsyncClient) -> None:
    for method, path, operation in operations(await openapi(client)):
        expected = {"500"}
        if not path.startswith("/health/"):
            expected.add("429")
        if operation.get("parameters") or "requestBody" in operation:
            expected.add("422")
        if "requestBody" in operation:
            expected |= {"400", "413", "415"}
        assert expected <= set(operation["responses"]), (method, path)


async def test_every_body_in_another_media_type_is_a_documented_415(
    client: AsyncClient, caller: dict[str, str]
) -> None:
    checked = 0
    for method, path, operation in operations(await openapi(client)):
        if "requestBody" not in operation:
            continue
        headers = {**caller, "content-type": "text/plain"}
        response = await client.request(
            method, with_made_up_ids(path), content=b"name=Anchor", headers=headers
        )

        problem = assert_problem(response, 415)
        assert "415" in operation["responses"], (method, path)
        assert "text/plain" in problem["detail"]
        checked += 1
    assert checked > 0


async def test_every_malformed_json_body_is_a_documented_400(
    client: AsyncClient, caller: dict[str, str]
) -> None:
    checked = 0
    for method, path, operation in operations(await openapi(client)):
        if "application/json" not in operation.get("requestBody", {}).get("content", {}):
            continue
        headers = {**caller, "content-type": "application/json"}
        response = await client.request(
            method, with_made_up_ids(path), content=b'{"name": "Anchor",', headers=headers
        )

        problem = assert_problem(response, 400)
        assert "400" in operation["responses"], (method, path)
        assert problem["detail"].startswith("The body is not valid JSON")
        checked += 1
    assert checked > 0


async def test_every_route_is_documented(client: AsyncClient) -> None:
    paths = (await openapi(client))["paths"]
    assert {"/health/live", "/health/ready", "/items", "/items/{item_id}"} <= set(paths)
