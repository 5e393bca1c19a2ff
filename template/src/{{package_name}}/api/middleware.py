"""Pure ASGI middleware, outermost first in ``create_app``.

Each wraps the ASGI callable directly (no ``BaseHTTPMiddleware``): no per-request task,
no buffered bodies, and context variables flow through to handlers.
"""

import math
import re
import secrets
import time
from collections.abc import Sequence

import structlog
from starlette.middleware import cors
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..domain.ports import RateLimiter
from .problems import PROBLEM_JSON, problem_body, request_id_of

logger = structlog.get_logger(__name__)
access_logger = structlog.get_logger("access")

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


async def send_problem(
    scope: Scope,
    send: Send,
    status: int,
    detail: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer with problem+json straight from middleware."""
    body = problem_body(scope, status, detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ResponseRecorder:
    """Wraps ``send``, remembering the status once the response has started."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status: int | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)


class ErrorCatcherMiddleware:
    """Turns any unhandled exception into a 500 problem; the trace goes to the log only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response = ResponseRecorder(send)
        try:
            await self.app(scope, receive, response)
        except Exception:
            logger.exception("request.unhandled_error", path=scope.get("path"))
            if response.status is None:
                # Outside RequestIdMiddleware, so the id header is added here.
                request_id = request_id_of(scope)
                headers = [(REQUEST_ID_HEADER, request_id.encode())] if request_id else []
                await send_problem(scope, send, 500, "An unexpected error occurred.", headers)


class RequestIdMiddleware:
    """Takes a safe ``X-Request-ID`` or makes one; echoes it and binds it to every log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id
        encoded = request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, encoded)]
            await send(message)

        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**bound)


def _incoming_request_id(scope: Scope) -> str | None:
    value: bytes
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _SAFE_REQUEST_ID.fullmatch(value):
            return value.decode("ascii")
    return None


class AccessLogMiddleware:
    """One log line per request: method, route template, status and duration.

    Health probes arrive every few seconds from every orchestrator; they are logged
    only when they fail.
    """

    PROBE_PREFIX = "/health/"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        probe = scope["path"].startswith(self.PROBE_PREFIX)
        started = time.perf_counter()
        response = ResponseRecorder(send)
        try:
            await self.app(scope, receive, response)
        finally:
            status = response.status or 500
            if not (probe and status < 400):
                access_logger.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    route=route_template(scope),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    client=scope["client"][0] if scope.get("client") else None,
                )


def route_template(scope: Scope) -> str | None:
    """The matched route's path template (``/items/{item_id}``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


class CORSMiddleware(cors.CORSMiddleware):
    """Starlette's CORS handling, out of the way entirely while no origin is allowed."""

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Sequence[str] = (),
        allow_methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        expose_headers: Sequence[str] = (),
    ) -> None:
        super().__init__(
            app,
            allow_origins=allow_origins,
            allow_methods=allow_methods,
            allow_headers=allow_headers,
            expose_headers=expose_headers,
        )
        self.enabled = bool(allow_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled:
            await super().__call__(scope, receive, send)
        else:
            await self.app(scope, receive, send)


# The OWASP REST security headers; each one is bytes on every response, so no more.
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]
_STRICT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class SecurityHeadersMiddleware:
    """Adds browser-hardening headers; the strict CSP spares HTML pages (``/docs``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*_SECURITY_HEADERS, _HSTS] if scope.get("scheme") == "https" else _SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(extra)
                if not any(
                    name == b"content-type" and value.startswith(b"text/html")
                    for name, value in headers
                ):
                    headers.append(_STRICT_CSP)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_body_bytes`` with 413, whether declared or streamed."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _body_framing(scope)
        if declared is None and not chunked:  # HTTP/1.1: no length, no chunks, no body
            await self.app(scope, receive, send)
            return
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        refused = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] != "http.request" or refused:
                return message
            received += len(message.get("body", b""))
            if received <= self.max_body_bytes:
                return message
            refused = True
            if not response_started:
                await self._refuse(scope, send)
            # The app sees the client go away and stops reading; its answer is dropped.
            return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, send: Send) -> None:
        detail = f"The request body is larger than {self.max_body_bytes} bytes."
        await send_problem(scope, send, 413, detail)


def _body_framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared ``Content-Length`` (None if absent or invalid) and whether chunked."""
    declared: int | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            declared = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked


class RateLimitMiddleware:
    """Answers 429 with ``Retry-After`` once a client has spent its tokens.

    The limiter is the ``rate_limiter`` resource the lifespan opened: per process, or
    shared between replicas through the cache server. Clients are told apart by
    address; behind a proxy, run uvicorn with ``--forwarded-allow-ips`` so the address
    is the caller's. Health probes are exempt.
    """

    EXEMPT_PREFIXES = ("/health/",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        limiter: RateLimiter = scope["state"]["resources"].rate_limiter
        client = scope["client"][0] if scope.get("client") else "unknown"
        wait = await limiter.acquire(client)
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait))).encode()
            await send_problem(
                scope, send, 429, "Too many requests; slow down.", [(b"retry-after", retry_after)]
            )
            return
        await self.app(scope, receive, send)
