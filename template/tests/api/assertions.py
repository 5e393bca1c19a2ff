"""Assertions shared by the API tests."""

from typing import Any

from httpx import Response

PROBLEM_JSON = "application/problem+json"


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem with the status, carrying the response's request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem
