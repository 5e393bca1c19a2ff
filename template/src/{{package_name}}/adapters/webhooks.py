"""Outbound webhooks: events POSTed to the configured URL, signed as Standard Webhooks.

Job handlers send them, so a slow or failing receiver never holds up a request, and a
delivery that fails raises: the queue retries it under the same ``webhook-id``.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import structlog

from ..settings import Settings, WebhooksSettings
from ..webhook_signatures import signature_headers

logger = structlog.get_logger(__name__)

_EVENT_IDS = uuid.UUID("0f1c3c8e-5a4b-5c1e-9d7a-3b2e6f8a9c10")
"""Namespace of the event ids: any fixed UUID, so that one event always gets one id."""


class WebhookDeliveryError(Exception):
    """The receiver could not be reached, did not answer in time, or answered other
    than 2xx: the job raising it is retried."""


def event_id(event_type: str, subject: str) -> str:
    """The id of ``event_type`` happening to ``subject``: the same on every delivery."""
    return str(uuid.uuid5(_EVENT_IDS, f"{event_type}:{subject}"))


class WebhookSender:
    """Sends events to ``WEBHOOKS__URL`` over one HTTP client; without a URL it has no
    client, and sends nothing."""

    def __init__(self, settings: WebhooksSettings, client: httpx.AsyncClient | None) -> None:
        self._url = None if settings.url is None else str(settings.url)
        self._secret = settings.secret.get_secret_value().encode()
        self._timeout_seconds = settings.timeout_seconds
        self._client = client

    @property
    def enabled(self) -> bool:
        """Whether a URL is configured to send events to."""
        return self._url is not None and self._client is not None

    async def send(self, event_type: str, webhook_id: str, data: Mapping[str, Any]) -> None:
        """POST ``{"type", "timestamp", "data"}``, signed, with the request id of the log
        context; ``WebhookDeliveryError`` unless the receiver answers 2xx in time."""
        if self._url is None or self._client is None:
            raise RuntimeError("no webhook URL is configured; check `enabled` first")
        body, headers = self._signed(event_type, webhook_id, data)
        failed = f"webhook {event_type} {webhook_id} failed"
        try:
            status = await self._post(self._client, self._url, body, headers)
        except TimeoutError:
            raise WebhookDeliveryError(
                f"{failed}: no answer within {self._timeout_seconds} s"
            ) from None
        except httpx.TransportError as error:
            raise WebhookDeliveryError(f"{failed}: {type(error).__name__}: {error}") from error
        if not 200 <= status < 300:
            raise WebhookDeliveryError(f"{failed}: the receiver answered {status}")
        logger.info(
            "webhook.delivered", event_type=event_type, webhook_id=webhook_id, status=status
        )

    def _signed(
        self, event_type: str, webhook_id: str, data: Mapping[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        """The event as JSON, and the headers that sign it and carry the request id."""
        sent_at = datetime.now(UTC)
        body = orjson.dumps({"type": event_type, "timestamp": sent_at.isoformat(), "data": data})
        headers = {
            "content-type": "application/json",
            **signature_headers(self._secret, webhook_id, body, now=sent_at.timestamp()),
            **_request_id_header(),
        }
        return body, headers

    async def _post(
        self, client: httpx.AsyncClient, url: str, body: bytes, headers: Mapping[str, str]
    ) -> int:
        """The answer's status. One deadline bounds the whole exchange, connecting
        included, so a receiver trickling its answer cannot hold a worker."""
        async with asyncio.timeout(self._timeout_seconds):
            # Streamed and never read: the status is all a delivery needs.
            async with client.stream("POST", url, content=body, headers=headers) as answer:
                return answer.status_code


def _request_id_header() -> dict[str, str]:
    """``X-Request-ID`` of the request the running job came from, when there is one."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return {} if request_id is None else {"X-Request-ID": str(request_id)}


@asynccontextmanager
async def open_webhooks(settings: Settings) -> AsyncIterator[WebhookSender]:
    """One client, and its connections, for every delivery. A redirect is not followed
    (a 3xx fails), and the deadline is the sender's, over the whole exchange. Without a
    URL no client is made (its TLS set-up alone costs a start-up some milliseconds)."""
    if settings.webhooks.url is None:
        yield WebhookSender(settings.webhooks, client=None)
        return
    async with httpx.AsyncClient(timeout=None, follow_redirects=False) as client:
        yield WebhookSender(settings.webhooks, client)
