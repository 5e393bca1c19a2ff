"""The OpenAPI document describes what the service serves."""

from httpx import AsyncClient


async def test_error_responses_are_documented_as_problem_json(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "Problem" in schema["components"]["schemas"]
    documented = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("4"):
                    continue
                documented += 1
                content = response.get("content", {})
                assert "application/json" not in content, (method, path, status)
                assert content["application/problem+json"]["schema"]["$ref"].endswith("/Problem"), (
                    method,
                    path,
                    status,
                )
    assert documented > 0


async def test_every_route_is_documented(client: AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/health/live", "/health/ready", "/items", "/items/{item_id}"} <= set(paths)
