"""Each operation takes its body in one media type; anything else is a 415.

Without this check a ``text/plain`` body would reach validation and fail there with a
puzzling 422. A route with a body declares what it takes as a route dependency,
``dependencies=[JSON_BODY]``, and the OpenAPI document lists the 415.
"""

from typing import Any

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def is_json(media_type: str) -> bool:
    """``application/json`` or a structured ``+json`` type: what FastAPI decodes as JSON."""
    return media_type == JSON or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def accepts(media_type: str, *, expected: str | None = None) -> Any:
    """A route dependency answering 415 when the body is not ``media_type``.

    ``expected`` describes the body the caller should send instead, for the detail.
    A request with no body at all passes, so validation can say what is missing.
    """
    explanation = expected or f"an {media_type} body"

    def matches(received: str) -> bool:
        return is_json(received) if media_type == JSON else received == media_type

    async def require_media_type(request: Request) -> None:
        received = _media_type(request.headers.get("content-type"))
        if received is not None and matches(received):
            return
        if received is None and not await request.body():
            return
        sent = f"not {received}" if received else "but the request has no Content-Type"
        raise HTTPException(415, f"This endpoint takes {explanation}, {sent}.")

    return Depends(require_media_type)


def _media_type(content_type: str | None) -> str | None:
    """The media type of a ``Content-Type`` value, without parameters, lowercased."""
    if content_type is None:
        return None
    return content_type.partition(";")[0].strip().lower() or None


JSON_BODY = accepts(JSON)
"""For ``dependencies=`` on routes whose body is JSON."""
